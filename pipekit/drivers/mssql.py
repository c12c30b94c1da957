"""SQL Server natively (``mssql://host:1433/database``), through pymssql.

Why pymssql and not mssql-python (docs/drivers.md, "SQL Server"): its wheel links
FreeTDS in, so nothing but ``pip install`` is needed, where mssql-python loads
Microsoft's ODBC driver and wants ``libltdl7``, ``libkrb5-3`` and
``libgssapi-krb5-2`` from the system; and both are DB-API clients whose rows
Pipekit turns into Arrow itself.

Rows are read with ``fetchmany`` into Arrow batches whose schema comes from the
catalog (``sys.columns`` through the dialect's ``columns_sql``) where the query is a
plain table read, else from the first rows: exact DECIMAL, ``datetime2`` to the
microsecond, ``uniqueidentifier`` as UUID, ``bit`` as boolean. URL options:
``tds_version`` (default 7.4, which ``datetime2`` needs), ``login_timeout``.

Not tested against a live server (none can run where Pipekit is built): the SQL
it sends is fixed by the golden SQL tests of ``mssql_dialect.py``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import pyarrow as pa
import pymssql

from pipekit.drivers import types as T
from pipekit.drivers.base import DEFAULT_BATCH_ROWS, Column, Driver, TableRef
from pipekit.drivers.mssql_dialect import MssqlDialect


class MssqlDriver(Driver):
    kind = "mssql"
    dialect: MssqlDialect = MssqlDialect()
    error_types: ClassVar[tuple[type[BaseException], ...]] = (pymssql.Error,)

    def _open(self) -> None:
        u = self.url
        self._conn = pymssql.connect(
            server=u.host or "localhost",
            port=str(u.port or 1433),
            user=self.user,
            password=self._password,
            database=u.database or "",
            tds_version=u.options.get("tds_version", "7.4"),
            login_timeout=int(u.options.get("login_timeout", "15")),
            autocommit=True,
            appname="pipekit",
        )

    def _close(self) -> None:
        self._conn.close()

    def server_version(self) -> str:
        return str(self.query("SELECT @@VERSION")[0][0]).splitlines()[0]

    def execute(self, sql: str) -> None:
        with self.errors("execute"), self._conn.cursor() as cur:
            cur.execute(sql)

    def execute_count(self, sql: str) -> int:
        with self.errors("execute"), self._conn.cursor() as cur:
            cur.execute(sql)
            return int(cur.rowcount)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with self.errors("query"), self._conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall()) if cur.description else []

    def _begin(self) -> None:
        self._conn.autocommit(False)

    def _commit(self) -> None:
        self._conn.commit()
        self._conn.autocommit(True)

    def _rollback(self) -> None:
        self._conn.rollback()
        self._conn.autocommit(True)

    def read(self, sql: str, batch_rows: int = DEFAULT_BATCH_ROWS) -> pa.RecordBatchReader:
        cur = self._conn.cursor()
        with self.errors("query"):
            cur.execute(sql)
            names = [d[0] for d in cur.description or []]
            first = cur.fetchmany(batch_rows)
        schema = pa.schema(
            [pa.field(n, _infer([r[i] for r in first])) for i, n in enumerate(names)]
        )

        def generate() -> Iterator[pa.RecordBatch]:
            rows = first
            try:
                while rows:
                    yield _batch(rows, schema)
                    with self.errors("fetch"):
                        rows = cur.fetchmany(batch_rows)
            finally:
                cur.close()

        return pa.RecordBatchReader.from_batches(schema, generate())

    def _load_reader(self, table: TableRef, reader: pa.RecordBatchReader) -> None:
        targets = self.load_targets(table, reader.schema.names)
        names = ", ".join(self.dialect.quote(c.name) for c in targets)
        marks = ", ".join("%s" for _ in targets)
        sql = f"INSERT INTO {self.dialect.table_sql(table)} ({names}) VALUES ({marks})"
        with self.errors("load"), self._conn.cursor() as cur:
            for batch in reader:
                rows = zip(*(c.to_pylist() for c in batch.columns), strict=True)
                cur.executemany(sql, [tuple(_param(v) for v in row) for row in rows])

    def list_schemas(self) -> list[str]:
        return [r[0] for r in self.query(self.dialect.schemas_sql())]

    def list_tables(self, schema: str | None = None) -> list[str]:
        return [r[0] for r in self.query(self.dialect.tables_sql(schema or "dbo"))]

    def table_estimates(self, schema: str | None = None) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in self.query(self.dialect.estimates_sql(schema or "dbo"))}

    def list_columns(self, table: str | TableRef) -> list[Column]:
        ref = TableRef.parse(table)
        return [
            Column(n, t, bool(nl), bool(pk), self.dialect.arrow_type(t))
            for n, t, nl, pk in self.query(self.dialect.columns_sql(ref))
        ]

    def linked_servers(self) -> list[str]:
        """The linked servers a four-part name may use."""
        return [r[0] for r in self.query(self.dialect.linked_servers_sql())]


def _infer(values: list[Any]) -> pa.DataType:
    """The Arrow type of a column from its first values (text when all are NULL)."""
    for v in values:
        if v is None:
            continue
        if isinstance(v, bool):
            return pa.bool_()
        if isinstance(v, int):
            return pa.int64()
        if isinstance(v, float):
            return pa.float64()
        if isinstance(v, decimal.Decimal):
            digits = max((len(x.as_tuple().digits) for x in values if x is not None), default=1)
            scale = max((-int(x.as_tuple().exponent) for x in values if x is not None), default=0)
            return T.decimal_type(max(38, digits), max(scale, 0))
        if isinstance(v, uuid.UUID):
            return T.UUID
        if isinstance(v, dt.datetime):
            return pa.timestamp("us", tz=T.TIMESTAMP_TZ if v.tzinfo else None)
        if isinstance(v, dt.date):
            return pa.date32()
        if isinstance(v, dt.time):
            return pa.time64("us")
        if isinstance(v, bytes | bytearray):
            return pa.binary()
        return pa.string()
    return pa.string()


def _batch(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.RecordBatch:
    columns = []
    for i, f in enumerate(schema):
        values = [r[i] for r in rows]
        if T.is_uuid(f.type):
            storage = pa.array([None if v is None else v.bytes for v in values], pa.binary(16))
            columns.append(pa.ExtensionArray.from_storage(T.UUID, storage))
        else:
            columns.append(pa.array(values, f.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _param(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
