"""SQLite's SQL: what differs from the base dialect, without a connection.

What Pipekit writes keeps every value exact: decimals go to ``DECIMAL_TEXT(p,s)``
columns (text affinity, so no digit is rounded away by SQLite's REAL), timestamps
are ISO-8601 text, so literals compared with them are text too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

import pyarrow as pa
from sqlglot import exp

from pipekit.drivers import types as T
from pipekit.drivers.dialect import Dialect
from pipekit.drivers.tables import TableRef

DECIMAL_TEXT = re.compile(r"^\s*DECIMAL_TEXT\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*$", re.I)
_PLAIN_TYPE_NAME = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*( [A-Za-z_][A-Za-z0-9_]*)*(\(\d+(, ?\d+)?\))?$"
)
JSON_TEXT = re.compile(r"^\s*JSON(_TEXT)?\s*$", re.I)


class SQLiteDialect(Dialect):
    """SQLite: one schema per file (``main``); tables of a kind are named apart."""

    kind = "sqlite"
    sqlglot = "sqlite"
    default_schema = "main"
    has_schemas = False
    ddl_types: ClassVar[dict[str, str]] = {
        "int8": "TINYINT",
        "int16": "SMALLINT",
        "int32": "INTEGER",
        "int64": "BIGINT",
        "uint8": "SMALLINT",
        "uint16": "INTEGER",
        "uint32": "BIGINT",
        "uint64": "DECIMAL_TEXT(20,0)",
        "halffloat": "REAL",
        "float": "REAL",
        "double": "DOUBLE",
        "decimal": "DECIMAL_TEXT({precision},{scale})",
        "string": "TEXT",
        "bool": "BOOLEAN",
        "date": "DATE",
        "time": "TIME",
        "timestamp": "TIMESTAMP",
        "timestamptz": "TIMESTAMPTZ",
        "binary": "BLOB",
        "uuid": "UUID",
        "json": "JSON_TEXT",
        "null": "TEXT",
        "nested": "TEXT",
    }

    def declared_ddl(self, field: pa.Field) -> str | None:
        # SQLite keeps any type name and takes its affinity from it: a SQLite source's
        # column keeps its declared name verbatim (so its affinity), when it is a plain
        # name with at most two numbers (nothing else reaches the DDL)
        declared = T.declared_of(field)
        if declared is None or declared[0] != self.kind:
            return None
        return declared[1] if _PLAIN_TYPE_NAME.match(declared[1]) else None

    def delete_matching_sql(self, dest: TableRef, staged: TableRef, keys: Sequence[str]) -> str:
        # IN (subquery): SQLite builds a temporary index on the staged keys and probes
        # the destination's primary key; a correlated EXISTS would scan the staging.
        cols = ", ".join(self.quote(k) for k in keys)
        target = f"({cols})" if len(keys) > 1 else cols
        return (
            f"DELETE FROM {self.table_sql(dest)} WHERE {target} IN "
            f"(SELECT {cols} FROM {self.table_sql(staged)})"
        )

    def arrow_type(self, db_type: str) -> pa.DataType:
        m = DECIMAL_TEXT.match(db_type)
        if m:
            return T.decimal_type(int(m.group(1)), int(m.group(2)))
        if JSON_TEXT.match(db_type):
            return T.JSON
        return super().arrow_type(db_type)

    def _cast_literal(self, text: str, arrow_type: pa.DataType) -> exp.Expression:
        # Dates, times and timestamps are stored as ISO text: compare with text. A CAST
        # to TIMESTAMP would apply NUMERIC affinity and turn '2024-01-01 …' into 2024.
        return exp.Literal.string(text)
