"""PostgreSQL through ADBC (libpq): binary COPY for reads and for bulk loads.

ADBC streams a query as ``COPY (query) TO STDOUT (FORMAT binary)`` straight into
Arrow batches, and ``adbc_ingest`` writes Arrow batches with binary
``COPY ... FROM STDIN``; both stay in C, which measured fastest while faithful
(docs/benchmarks.md). ADBC hands ``numeric`` over as text; the typmod in the
field metadata gives precision and scale, and the text is cast to decimal128
exactly. Transactions are explicit ``BEGIN``/``COMMIT`` on an autocommit session.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import adbc_driver_manager
import adbc_driver_postgresql.dbapi as adbc_pg
import pyarrow as pa

from pipekit.drivers import types as T
from pipekit.drivers.base import (
    DEFAULT_BATCH_ROWS,
    Column,
    Driver,
    TableRef,
    rechunk,
)
from pipekit.errors import TerminalDatabaseError, TransientDatabaseError


def _numeric_type(field: pa.Field) -> pa.DataType:
    """decimal128(p, s) from PostgreSQL's numeric typmod; text when unconstrained."""
    meta = field.metadata or {}
    typmod = int(meta.get(b"POSTGRESQL:typmod", b"-1"))
    if typmod < 4:
        return pa.string()
    typmod -= 4
    return T.decimal_type((typmod >> 16) & 0xFFFF, typmod & 0xFFFF)


def _target_field(field: pa.Field) -> pa.Field:
    meta = field.metadata or {}
    if meta.get(b"POSTGRESQL:type") == b"numeric":
        return pa.field(field.name, _numeric_type(field), True)
    return pa.field(field.name, T.normalize_type(field.type), True)


class PostgresDriver(Driver):
    kind = "postgresql"
    dialect = "postgres"
    default_schema = "public"
    case_sensitive_names = True
    text_allows_nul = False
    error_types: ClassVar[tuple[type[BaseException], ...]] = (adbc_driver_manager.Error,)
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

    def _open(self) -> None:
        u = self.url
        params = {"application_name": "pipekit", "connect_timeout": "10", **u.options}
        auth = ""
        if self.user:
            auth = quote(self.user, safe="")
            if self._password is not None:
                auth += ":" + quote(self._password, safe="")
            auth += "@"
        uri = (
            f"postgresql://{auth}{u.host or 'localhost'}:{u.port or 5432}/"
            f"{quote(u.database or 'postgres', safe='')}?{urlencode(params, quote_via=quote)}"
        )
        self._uri = uri
        self._conn = adbc_pg.connect(uri, autocommit=True)
        self._cur = self._conn.cursor()
        self._backend_pid = int(self.query("SELECT pg_backend_pid()")[0][0])

    def _close(self) -> None:
        self._cur.close()
        self._conn.close()

    def server_version(self) -> str:
        return str(self.query("SELECT current_setting('server_version')")[0][0])

    def is_transient(self, exc: BaseException) -> bool:
        sqlstate = getattr(exc, "sqlstate", None) or ""
        if sqlstate.startswith(("08", "40", "53", "57P")):
            return True
        return super().is_transient(exc)

    def execute(self, sql: str) -> None:
        with self.errors("execute"):
            self._cur.execute(sql)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with self.errors("query"):
            self._cur.execute(sql)
            return list(self._cur.fetchall())

    def execute_count(self, sql: str) -> int:
        with self.errors("execute"):
            self._cur.execute(sql)
            return int(self._cur.rowcount)

    def cancel(self) -> None:
        """Ask the server to cancel this session's statement, from a second connection."""
        with (
            self.errors("cancel"),
            adbc_pg.connect(self._uri, autocommit=True) as conn,
            conn.cursor() as cur,
        ):
            cur.execute(f"SELECT pg_cancel_backend({self._backend_pid})")
            cur.fetchall()

    def clear_table_sql(self, table: TableRef) -> str:
        # Transactional in PostgreSQL and far faster than DELETE on a large table;
        # readers of the table wait until the merge commits.
        return f"TRUNCATE {self.table_sql(table)}"

    def read(self, sql: str, batch_rows: int = DEFAULT_BATCH_ROWS) -> pa.RecordBatchReader:
        cur = self._conn.cursor()
        with self.errors("read"):
            # ADBC sizes batches by bytes; keep them near batch_rows of a typical row.
            hint = str(max(1 << 20, min(batch_rows * 256, 64 << 20)))
            cur.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": hint})
            # ADBC runs COPY (sql) TO STDOUT: a trailing -- comment would swallow the ")"
            cur.execute(sql.rstrip().rstrip(";").rstrip() + "\n")
            source = cur.fetch_record_batch()
        target = pa.schema([_target_field(f) for f in source.schema])

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                with self.errors("read"):
                    for batch in source:
                        for piece in rechunk(batch, batch_rows):
                            yield T.conform_batch(piece, target)
            except OSError as exc:
                # An error after the first batch (division by zero at row 150,000, a
                # cancel) comes through the Arrow C stream as a bare OSError.
                reason = self.scrub(" ".join(str(exc).split()))
                cls = TransientDatabaseError if self.is_transient(exc) else TerminalDatabaseError
                raise cls(
                    f"{self.kind} at {self.where()}: read failed: {reason}", reason=reason
                ) from None
            finally:
                cur.close()

        return pa.RecordBatchReader.from_batches(target, batches())

    def _load_reader(self, table: TableRef, reader: pa.RecordBatchReader) -> None:
        conformed = self.conformed(table, reader)
        with self.errors(f"load into {table}"):
            self._cur.adbc_ingest(table.name, conformed, mode="append", db_schema_name=table.schema)

    def list_schemas(self) -> list[str]:
        return [s for s in super().list_schemas() if not s.startswith("pg_")]

    def list_columns(self, table: str | TableRef) -> list[Column]:
        ref = TableRef.parse(table)
        schema = ref.schema or self.default_schema
        rows = self.query(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, "
            "COALESCE(a.attnum = ANY(i.indkey), false) "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary "
            f"WHERE n.nspname = {self.literal(schema)} AND c.relname = {self.literal(ref.name)} "
            "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
        )
        return [
            Column(name, typ, bool(nullable), bool(pk), self.arrow_type(typ))
            for name, typ, nullable, pk in rows
        ]
