"""PostgreSQL's SQL: what differs from the base dialect, without a connection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from sqlglot import exp

from pipekit.drivers.dialect import Dialect
from pipekit.drivers.tables import SwapInfo, TableRef

#: per-column compression settings (``LIKE … INCLUDING COMPRESSION``) exist from 14 on
_COMPRESSION_SINCE = 140000


class PostgresDialect(Dialect):
    """PostgreSQL. `server_version_num` (``current_setting('server_version_num')``)
    decides what ``CREATE TABLE … LIKE`` may include; unknown means a current server."""

    kind = "postgresql"
    sqlglot = "postgres"
    default_schema = "public"
    case_sensitive_names = True
    swap_full_refresh = True
    # a crash empties an unlogged table, which only a failed run's leftover staging
    # would notice; skipping WAL for every staged row is worth that
    staging_table_kind = "UNLOGGED"
    text_allows_nul = False
    # Types whose binary COPY bytes pass from one PostgreSQL to another unread
    # (postgresql.py's _PASSTHROUGH_TYPES), arrays of them too: a PostgreSQL source's
    # column keeps its declared type, typmod included (numeric without one stays so).
    same_kind_types: ClassVar[frozenset[exp.DType]] = frozenset(
        {
            exp.DataType.Type.SMALLINT,
            exp.DataType.Type.INT,
            exp.DataType.Type.BIGINT,
            exp.DataType.Type.FLOAT,
            exp.DataType.Type.DOUBLE,
            exp.DataType.Type.DECIMAL,
            exp.DataType.Type.BOOLEAN,
            exp.DataType.Type.TEXT,
            exp.DataType.Type.VARCHAR,
            exp.DataType.Type.CHAR,
            exp.DataType.Type.BPCHAR,
            exp.DataType.Type.DATE,
            exp.DataType.Type.TIME,
            exp.DataType.Type.TIMETZ,
            exp.DataType.Type.TIMESTAMP,
            exp.DataType.Type.TIMESTAMPTZ,
            exp.DataType.Type.INTERVAL,
            exp.DataType.Type.VARBINARY,
            exp.DataType.Type.UUID,
            exp.DataType.Type.JSON,
            exp.DataType.Type.JSONB,
            exp.DataType.Type.INET,
            exp.DataType.Type.ARRAY,
        }
    )
    ddl_types: ClassVar[dict[str, str]] = {
        "int8": "smallint",
        "int16": "smallint",
        "int32": "integer",
        "int64": "bigint",
        "uint8": "smallint",
        "uint16": "integer",
        "uint32": "bigint",
        "uint64": "numeric(20,0)",
        "halffloat": "real",
        "float": "real",
        "double": "double precision",
        "decimal": "numeric({precision},{scale})",
        "string": "text",
        "bool": "boolean",
        "date": "date",
        "time": "time(6)",
        "timestamp": "timestamp(6)",
        "timestamptz": "timestamptz(6)",
        "binary": "bytea",
        "uuid": "uuid",
        "json": "json",
        "null": "text",
        "nested": "text",
    }

    def __init__(
        self, *, default_schema: str | None = None, server_version_num: int | None = None
    ) -> None:
        super().__init__(default_schema=default_schema)
        self.server_version_num = server_version_num

    def __repr__(self) -> str:
        return f"PostgresDialect(server_version_num={self.server_version_num!r})"

    def clear_table_sql(self, table: TableRef) -> str:
        # Transactional in PostgreSQL and far faster than DELETE on a large table;
        # readers of the table wait until the merge commits.
        return f"TRUNCATE {self.table_sql(table)}"

    def replace_by_key_sql(
        self,
        dest: TableRef,
        staged: TableRef,
        columns: Sequence[str],
        keys: Sequence[str],
        extra: dict[str, str],
    ) -> str | None:
        # One pass instead of two: each staged row probes the key once and rewrites
        # its row in place of a DELETE joined on the keys followed by an INSERT that
        # probes the key again. The changed rows are spread over the table, so both
        # ways write the same pages; the one pass saved about a quarter of the merge
        # on 6M-row lineitem (docs/benchmarks.md). A new row version has xmax 0 when
        # it was inserted and the updating transaction's id when it replaced a row.
        upsert = self.upsert_sql(dest, staged, columns, keys, extra)
        if "DO UPDATE" not in upsert:
            return None  # every column is a key column: nothing to rewrite
        return (
            f"WITH pipekit_written AS ({upsert} RETURNING xmax = 0 AS inserted) "
            "SELECT COUNT(*) FILTER (WHERE NOT inserted) FROM pipekit_written"
        )

    # -- full refresh by swap -------------------------------------------------

    def lock_sql(self, table: TableRef) -> str:
        return f"LOCK TABLE {self.table_sql(table)} IN ACCESS EXCLUSIVE MODE"

    def like_table_sql(self, new: TableRef, model: TableRef, info: SwapInfo) -> list[str]:
        """An empty copy of `model`'s columns, NOT NULLs, CHECKs and comments; no indexes."""
        version = self.server_version_num
        compression = (
            " INCLUDING COMPRESSION" if version is None or version >= _COMPRESSION_SINCE else ""
        )
        return [
            f"CREATE TABLE {self.table_sql(new)} (LIKE {self.table_sql(model)} "
            f"INCLUDING CONSTRAINTS INCLUDING COMMENTS INCLUDING STORAGE{compression})"
        ]

    def swap_sql(
        self,
        new: TableRef,
        table: TableRef,
        *,
        exists: bool,
        pk: tuple[str, str] | None,
        tag: str,
    ) -> list[str]:
        # The new table moves under `tag` so that no table of the destination
        # schema named like the staging table is in the way.
        sql = [f"DROP TABLE {self.table_sql(table)}"] if exists else []
        schema = table.schema or self.default_schema or "public"
        if new.schema != schema:
            sql.append(f"ALTER TABLE {self.table_sql(new)} RENAME TO {self.quote(tag)}")
            sql.append(
                f"ALTER TABLE {self.table_sql(TableRef(tag, new.schema))} "
                f"SET SCHEMA {self.quote(schema)}"
            )
            new = TableRef(tag, schema)
        if new.name != table.name:
            sql.append(f"ALTER TABLE {self.table_sql(new)} RENAME TO {self.quote(table.name)}")
        if pk is not None and pk[0] != pk[1]:
            sql.append(
                f"ALTER TABLE {self.table_sql(table)} RENAME CONSTRAINT {self.quote(pk[0])} "
                f"TO {self.quote(pk[1])}"
            )
        return sql
