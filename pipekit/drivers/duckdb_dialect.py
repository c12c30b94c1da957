"""DuckDB's SQL: what differs from the base dialect, without a connection.

A primary key is an ART index that DuckDB must hold wholly in memory while it is
built or changed, so the tables Pipekit creates here have none
(``declares_primary_key``), the upsert is a ``MERGE INTO`` that matches by a join,
and a full refresh builds a new table beside the old one and renames it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import pyarrow as pa
from sqlglot import exp

from pipekit.drivers.dialect import Dialect
from pipekit.drivers.tables import SwapInfo, TableRef


class DuckDBDialect(Dialect):
    """DuckDB."""

    kind = "duckdb"
    sqlglot = "duckdb"
    default_schema = "main"
    # "ART indexes must fit in memory" (DuckDB's documentation on indexes): a 6M-row
    # table peaked at 962 MB against 276 MB for 600k rows. The merge's duplicate
    # check keeps the merge key unique instead, and the merges match rows by joins.
    declares_primary_key = False
    # A full refresh builds a new table and renames it into place: clearing the old
    # table in the merge transaction instead holds every deleted row's id in memory
    # (about 50 MB per 6M rows), which ran out under the load's memory cap.
    swap_full_refresh = True
    upsert_needs_key = False
    # A DuckDB source's lists, structs, maps and intervals travel as DuckDB's own text
    # form (duckdb.py), which an INSERT into a column of the declared type casts back;
    # decimals and HUGEINT travel as Arrow decimals.
    same_kind_types: ClassVar[frozenset[exp.DType]] = frozenset(
        {
            exp.DataType.Type.TINYINT,
            exp.DataType.Type.SMALLINT,
            exp.DataType.Type.INT,
            exp.DataType.Type.BIGINT,
            exp.DataType.Type.UTINYINT,
            exp.DataType.Type.USMALLINT,
            exp.DataType.Type.UINT,
            exp.DataType.Type.UBIGINT,
            exp.DataType.Type.INT128,
            exp.DataType.Type.UINT128,
            exp.DataType.Type.FLOAT,
            exp.DataType.Type.DOUBLE,
            exp.DataType.Type.DECIMAL,
            exp.DataType.Type.BOOLEAN,
            exp.DataType.Type.TEXT,
            exp.DataType.Type.VARCHAR,
            exp.DataType.Type.DATE,
            exp.DataType.Type.TIME,
            exp.DataType.Type.TIMESTAMP,
            exp.DataType.Type.TIMESTAMPTZ,
            exp.DataType.Type.INTERVAL,
            exp.DataType.Type.UUID,
            exp.DataType.Type.JSON,
            exp.DataType.Type.VARBINARY,
            exp.DataType.Type.BLOB,
            exp.DataType.Type.ARRAY,
            exp.DataType.Type.LIST,
            exp.DataType.Type.STRUCT,
            exp.DataType.Type.MAP,
        }
    )
    # PostgreSQL's interval travels as "<m> months <d> days <s> seconds", which DuckDB
    # casts exactly (months, days and microseconds, as PostgreSQL keeps them)
    foreign_types: ClassVar[dict[exp.DType, str]] = {
        exp.DataType.Type.INTERVAL: "INTERVAL",
    }
    ddl_types: ClassVar[dict[str, str]] = {
        "int8": "TINYINT",
        "int16": "SMALLINT",
        "int32": "INTEGER",
        "int64": "BIGINT",
        "uint8": "UTINYINT",
        "uint16": "USMALLINT",
        "uint32": "UINTEGER",
        "uint64": "UBIGINT",
        "halffloat": "REAL",
        "float": "REAL",
        "double": "DOUBLE",
        "decimal": "DECIMAL({precision},{scale})",
        "string": "VARCHAR",
        "bool": "BOOLEAN",
        "date": "DATE",
        "time": "TIME",
        "timestamp": "TIMESTAMP",
        "timestamptz": "TIMESTAMPTZ",
        "binary": "BLOB",
        "uuid": "UUID",
        "json": "JSON",
        "null": "VARCHAR",
        "nested": "VARCHAR",
    }

    def ddl_type(self, arrow_type: pa.DataType, *, key: bool = False) -> str:
        if pa.types.is_timestamp(arrow_type) and arrow_type.unit == "ns" and not arrow_type.tz:
            return "TIMESTAMP_NS"
        if pa.types.is_decimal(arrow_type) and arrow_type.precision > 38:
            return "VARCHAR"  # DuckDB decimals stop at 38 digits; text stays exact
        return super().ddl_type(arrow_type, key=key)

    def upsert_sql(
        self,
        dest: TableRef,
        staged: TableRef,
        columns: Sequence[str],
        keys: Sequence[str],
        extra: dict[str, str],
    ) -> str:
        # MERGE INTO matches by the keys with a join, so it needs no primary key
        # (which the tables Pipekit creates here do not have), and a key the table
        # has too is kept intact.
        target = self.table_sql(dest)
        names = [*columns, *extra]
        values = [f"s.{self.quote(c)}" for c in columns] + list(extra.values())
        updates = [
            f"{self.quote(n)} = {v}" for n, v in zip(names, values, strict=True) if n not in keys
        ]
        matched = f"UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING"
        return (
            f"MERGE INTO {target} USING {self.table_sql(staged)} s "
            f"ON ({self._key_match('s', target, keys)}) "
            f"WHEN MATCHED THEN {matched} "
            f"WHEN NOT MATCHED THEN INSERT ({', '.join(self.quote(n) for n in names)}) "
            f"VALUES ({', '.join(values)})"
        )

    def duplicate_keys_sql(
        self, table: TableRef, keys: Sequence[str], *, passes: int = 1, part: int = 0
    ) -> str:
        """The base's answer for the keys whose hash modulo `passes` is `part`: the
        client runs one share at a time to hold the grouping's memory down."""
        # Grouped by a 64-bit hash of the key first, so the grouping's rows are as
        # narrow for a key of long strings as for an integer and fit the cap; only
        # keys whose hash repeats are grouped by their values.
        cols = ", ".join(self.quote(k) for k in keys)
        target = self.table_sql(table)
        share = f" WHERE hash({cols}) % {passes} = {part}" if passes > 1 else ""
        return (
            f"SELECT {cols}, COUNT(*) FROM {target} WHERE hash({cols}) IN "
            f"(SELECT hash({cols}) FROM {target}{share} GROUP BY 1 HAVING COUNT(*) > 1) "
            f"GROUP BY {cols} HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC LIMIT 3"
        )

    # -- full refresh by swap -------------------------------------------------

    def swap_table(self, staged: TableRef, table: TableRef) -> TableRef:
        # DuckDB cannot move a table to another schema (ALTER TABLE ... SET SCHEMA is
        # not implemented), so the new table is built beside the destination table,
        # named as staging tables are where there are no schemas.
        return TableRef(
            f"{staged.schema}__{staged.name}" if staged.schema else staged.name, table.schema
        )

    def like_table_sql(self, new: TableRef, model: TableRef, info: SwapInfo) -> list[str]:
        """An empty copy of `model`: its columns and types, and from ``info.columns``
        the NOT NULLs, defaults and column comments (the table's comment and key
        come from ``info`` too)."""
        target = self.table_sql(new)
        sql = [f"CREATE TABLE {target} AS SELECT * FROM {self.table_sql(model)} LIMIT 0"]
        for c in info.columns:
            column = f"ALTER TABLE {target} ALTER COLUMN {self.quote(c.name)}"
            if not c.nullable:
                sql.append(f"{column} SET NOT NULL")
            if c.default is not None:
                sql.append(f"{column} SET DEFAULT {c.default}")
            if c.comment:
                sql.append(
                    f"COMMENT ON COLUMN {target}.{self.quote(c.name)} IS {self.literal(c.comment)}"
                )
        return sql

    def primary_key_sql(self, table: TableRef, name: str, keys: Sequence[str]) -> str:
        # DuckDB names its constraints itself
        cols = ", ".join(self.quote(k) for k in keys)
        return f"ALTER TABLE {self.table_sql(table)} ADD PRIMARY KEY ({cols})"

    def swap_sql(
        self,
        new: TableRef,
        table: TableRef,
        *,
        exists: bool,
        pk: tuple[str, str] | None,
        tag: str,
    ) -> list[str]:
        # `new` was built in `table`'s schema (swap_table): a rename is enough
        sql = [f"DROP TABLE {self.table_sql(table)}"] if exists else []
        if new.name != table.name:
            sql.append(f"ALTER TABLE {self.table_sql(new)} RENAME TO {self.quote(table.name)}")
        return sql
