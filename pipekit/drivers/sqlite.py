"""SQLite files, typed by declared column types; reads decoded into Arrow in C.

SQLite stores values, not types, so the Arrow schema of a result comes from the
declared types of the columns it selects: the query is wrapped in a temporary
view whose ``PRAGMA table_info`` reports them, even for zero rows. Expression
columns without a declared type are typed from the first batch's values.

Reads of a file go through the ADBC SQLite driver (``sqlite_fast``), which
builds Arrow batches in C; everything else (statements, transactions, loads,
introspection) and the reads it cannot take go through the standard library's
``sqlite3``, as the two read paths give the same types and values.

What Pipekit writes keeps every value exact: decimals go to ``DECIMAL_TEXT(p,s)``
columns (text affinity, so no digit is rounded away by SQLite's REAL),
timestamps are ISO-8601 text with six fractional digits (and ``Z`` when zoned),
so they also sort and compare correctly as text.

The file is checked against the file policy (``pipekit.files``) before it is
opened, an authorizer denies an ``ATTACH`` (or ``VACUUM INTO``) of a file the
policy refuses, and extensions are never loaded.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from pipekit.drivers import sqlite_fast as fast
from pipekit.drivers import types as T
from pipekit.drivers.base import (
    DEFAULT_BATCH_ROWS,
    Column,
    Driver,
    TableRef,
)
from pipekit.drivers.sqlite_dialect import SQLiteDialect
from pipekit.errors import ConnectionSpecError, PipekitError, TransientDatabaseError
from pipekit.files import check_path, path_problem

try:  # the fast read path; without it every read takes the sqlite3 path
    import adbc_driver_sqlite.dbapi as adbc_sqlite

    _HAS_ADBC = True
except ImportError:  # pragma: no cover - a core dependency
    _HAS_ADBC = False

BUSY_TIMEOUT_MS = 10_000


def _infer(values: Sequence[Any]) -> pa.DataType:
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return pa.string()
    if kinds == {int}:
        return pa.int64()
    if kinds <= {int, float}:
        return pa.float64()
    if kinds == {bytes}:
        return pa.binary()
    return pa.string()


def _to_arrow(values: list[Any], target: pa.DataType) -> pa.Array:
    """Python values as SQLite returned them -> an Arrow array of `target`."""
    key = T.type_key(target)
    if key == "string":
        return pa.array([v if v is None or isinstance(v, str) else str(v) for v in values], target)
    if key in ("decimal", "timestamp", "timestamptz", "date"):
        text = pa.array([None if v is None else str(v) for v in values], pa.string())
        return pc.cast(text, target)
    if key == "time":
        return T.strings_to_time(pa.array(values, pa.string()))
    if key == "uuid":
        raw = [None if v is None else uuid.UUID(str(v)).bytes for v in values]
        return pa.ExtensionArray.from_storage(T.UUID, pa.array(raw, pa.binary(16)))
    if key == "json":
        return pa.ExtensionArray.from_storage(T.JSON, pa.array(values, pa.string()))
    if key == "bool":
        return pa.array([None if v is None else bool(v) for v in values], pa.bool_())
    return pa.array(values, target)


def _to_python(col: pa.Array) -> list[Any]:
    """An Arrow column as the Python values SQLite stores for it."""
    key = T.type_key(col.type)
    if isinstance(col, pa.ExtensionArray):
        if key == "uuid":
            return [None if b is None else str(uuid.UUID(bytes=b)) for b in col.storage.to_pylist()]
        col = col.storage
    if key in ("decimal", "timestamp", "timestamptz", "date", "time"):
        return pc.cast(col, pa.string()).to_pylist()
    if key == "bool":
        return [None if v is None else int(v) for v in col.to_pylist()]
    return col.to_pylist()


class SQLiteDriver(Driver):
    kind = SQLiteDialect.kind
    dialect: SQLiteDialect = SQLiteDialect()
    error_types: ClassVar[tuple[type[BaseException], ...]] = (sqlite3.Error,)

    def _open(self) -> None:
        path = self.url.path
        if path is not None:
            check_path(path, self.files)
        create = self.url.options.get("create", "").lower() in ("1", "true", "yes")
        if path is not None and not path.exists() and not create:
            raise ConnectionSpecError(
                f"SQLite file {path} does not exist; check the path, or add ?create=true "
                "to the URL to create a new database there"
            )
        # isolation_level=None: no implicit transactions; Pipekit issues BEGIN itself.
        self._conn = sqlite3.connect(
            str(path) if path else ":memory:", isolation_level=None, check_same_thread=False
        )
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # SQL reaches no file but this one: an ATTACH (or VACUUM INTO) is held to the
        # allowed folders, and no extension (native code) can be loaded
        if hasattr(self._conn, "enable_load_extension"):
            self._conn.enable_load_extension(False)
        self._conn.set_authorizer(self._authorize)
        self._file = str(path.resolve()) if path is not None else None
        self._adbc: Any = None  # the fast path's connection, opened by the first read
        self._fast_reads = 0
        self._stop_reads = threading.Event()
        if self._file:
            fast.FILES.opened(self._file)

    def _authorize(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None
    ) -> int:
        """sqlite3's authorizer: deny an ATTACH of a file the policy refuses."""
        if action == sqlite3.SQLITE_ATTACH and arg1 and arg1 != ":memory:":
            target = arg1.removeprefix("file:").split("?", 1)[0]
            if target and path_problem(target, self.files) is not None:
                return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    def _close(self) -> None:
        try:
            if self._adbc is not None:
                self._adbc.close()
        finally:
            if self._file:
                fast.FILES.closed(self._file)
                self._file = None
            self._conn.close()

    def server_version(self) -> str:
        return f"SQLite {sqlite3.sqlite_version}"

    def is_transient(self, exc: BaseException) -> bool:
        return "locked" in str(exc) or "busy" in str(exc)

    def _before_write(self) -> None:
        """Wait for fast reads of this file to end: their copy of SQLite does not see
        this connection's locks (see ``sqlite_fast``). Like a busy database, give up
        after the busy timeout."""
        if self._file is None or not fast.FILES.reading(self._file):
            return
        if self._fast_reads:
            raise TransientDatabaseError(
                f"sqlite at {self.where()}: cannot write while this connection is still "
                "reading the same file; read the result to its end or close it first"
            )
        if not fast.FILES.wait_idle(self._file, BUSY_TIMEOUT_MS / 1000):
            raise TransientDatabaseError(
                f"sqlite at {self.where()}: database is locked: another connection of this "
                "process is reading the file; retry when that read has finished",
                reason="database is locked",
            )

    def _begin(self) -> None:
        self._before_write()
        super()._begin()

    def execute(self, sql: str) -> None:
        self._before_write()
        with self.errors("execute"):
            self._conn.execute(sql)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with self.errors("query"):
            return self._conn.execute(sql).fetchall()

    def execute_count(self, sql: str) -> int:
        self._before_write()
        with self.errors("execute"):
            return int(self._conn.execute(sql).rowcount)

    def interrupt(self) -> None:
        # ADBC's SQLite cannot interrupt a running statement: a fast read stops at
        # its next batch instead.
        self._stop_reads.set()
        self._conn.interrupt()

    def cancel(self) -> None:
        self.interrupt()

    def _declared_columns(self, sql: str) -> list[tuple[str, str]] | None:
        """(name, declared type) of each result column (type empty for expressions),
        or None when `sql` is not a plain SELECT."""
        view = f"pipekit_probe_{uuid.uuid4().hex[:12]}"
        try:
            self._conn.execute(f"CREATE TEMP VIEW {view} AS {sql.strip().rstrip(';')}")
        except sqlite3.Error:
            return None  # not a plain SELECT (e.g. PRAGMA): type from values instead
        try:
            return [(r[1], r[2]) for r in self._conn.execute(f"PRAGMA temp.table_info({view})")]
        except sqlite3.Error:
            return None  # views bind late: a missing table fails here; the read says why
        finally:
            self._conn.execute(f"DROP VIEW temp.{view}")

    def declared_types(self, sql: str, *, full: bool = True) -> list[str | None] | None:
        """Each result column's declared type name (None for an expression)."""
        columns = self._declared_columns(sql)
        return None if columns is None else [d or None for _n, d in columns]

    def read(self, sql: str, batch_rows: int = DEFAULT_BATCH_ROWS) -> pa.RecordBatchReader:
        self._stop_reads.clear()
        columns = self._declared_columns(sql)
        if columns is not None and self._fast_path_open():
            reader = self._read_fast(sql, batch_rows, columns)
            if reader is not None:
                return reader
        declared = [d for _n, d in columns] if columns is not None else None
        return self._read_stdlib(sql, batch_rows, declared)

    def _fast_path_open(self) -> bool:
        # Inside a transaction (also one begun with a plain execute("BEGIN")) the
        # read must see this connection's own writes, which ADBC's cannot.
        return (
            _HAS_ADBC
            and self._file is not None
            and not (self.in_transaction or self._conn.in_transaction)
        )

    def _fast_error(self, exc: BaseException, plans: Sequence[fast.ColumnPlan]) -> PipekitError:
        if isinstance(exc, PipekitError):
            return exc
        reason = self.scrub(fast.describe_error(exc, plans))
        transient = "locked" in reason or "busy" in reason
        return fast.database_error(
            f"{self.kind} at {self.where()}: read failed: {reason}", reason, transient=transient
        )

    def _read_fast(
        self, sql: str, batch_rows: int, columns: list[tuple[str, str]]
    ) -> pa.RecordBatchReader | None:
        """The ADBC read (see ``sqlite_fast``); None when it cannot take this query."""
        plans = [
            fast.plan_column(name, decl, self.dialect.arrow_type(decl) if decl else None)
            for name, decl in columns
        ]
        stack = ExitStack()
        if not stack.enter_context(fast.FILES.fast_read(str(self._file))):
            stack.close()
            return None  # another connection of this process has the file open
        self._fast_reads += 1
        stack.callback(self._fast_read_done)
        failed = (adbc_sqlite.Error, OSError, pa.ArrowException)
        try:
            if self._adbc is None:
                uri = f"{self.url.path.resolve().as_uri()}?mode=ro"  # type: ignore[union-attr]
                self._adbc = adbc_sqlite.connect(uri, autocommit=True)
                with self._adbc.cursor() as c:
                    c.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cur = stack.enter_context(self._adbc.cursor())
            rows = min(batch_rows, fast.MAX_BATCH_ROWS)
            cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(rows)})
            cur.execute(fast.wrap_sql(sql, plans, self.quote))
            source = cur.fetch_record_batch()
            stack.callback(source.close)
            first = source.read_next_batch().slice(1)  # the sentinel row
        except failed:
            # Its own SQLite may refuse what the sqlite3 path takes (a TEMP table of
            # this connection, say): that path runs it, or says why it fails.
            stack.close()
            return None
        except BaseException:
            stack.close()
            raise
        try:
            targets = fast.targets(plans, source.schema, first)
        except BaseException as exc:
            stack.close()
            raise self._fast_error(exc, plans) from None
        schema = pa.schema([pa.field(p.name, t) for p, t in zip(plans, targets, strict=True)])
        batches = fast.Batches(
            stack,
            first,
            source,
            lambda b: fast.to_batch(plans, targets, schema, b),
            stop=self._stop_reads,
            failed=failed,
            error=lambda exc: self._fast_error(exc, plans),
        )
        return pa.RecordBatchReader.from_batches(schema, batches)

    def _fast_read_done(self) -> None:
        self._fast_reads -= 1

    def _read_stdlib(
        self, sql: str, batch_rows: int, declared: list[str] | None
    ) -> pa.RecordBatchReader:
        """The sqlite3 read: a Python object per value, converted per column."""
        # Its own cursor: a half-read result must not disturb other statements.
        cur = self._conn.cursor()
        with self.errors("read"):
            cur.execute(sql)
            names = [d[0] for d in cur.description or ()]
            first = cur.fetchmany(batch_rows)
        columns = list(zip(*first, strict=True)) if first else [() for _ in names]
        types = []
        for i, name in enumerate(names):
            decl = declared[i] if declared and i < len(declared) else ""
            types.append(self.dialect.arrow_type(decl) if decl else _infer(columns[i]))
            del name
        schema = pa.schema([pa.field(n, t) for n, t in zip(names, types, strict=True)])

        def to_batch(rows: list[tuple[Any, ...]]) -> pa.RecordBatch:
            cols = list(zip(*rows, strict=True))
            arrays = [_to_arrow(list(c), f.type) for c, f in zip(cols, schema, strict=True)]
            return pa.RecordBatch.from_arrays(arrays, schema=schema)

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                with self.errors("read"):
                    rows = first
                    while rows:
                        yield to_batch(rows)
                        rows = cur.fetchmany(batch_rows)
            finally:
                cur.close()

        return pa.RecordBatchReader.from_batches(schema, batches())

    def _load_reader(self, table: TableRef, reader: pa.RecordBatchReader) -> None:
        self._before_write()
        conformed = self.conformed(table, reader)
        schema = conformed.schema
        cols = ", ".join(self.dialect.quote(n) for n in schema.names)
        marks = ", ".join("?" for _ in schema.names)
        sql = f"INSERT INTO {self.dialect.table_sql(table)} ({cols}) VALUES ({marks})"
        with self.errors(f"load into {table}"):
            for batch in conformed:
                values = [_to_python(c) for c in batch.columns]
                self._conn.executemany(sql, zip(*values, strict=True))

    def list_schemas(self) -> list[str]:
        return [r[1] for r in self.query("PRAGMA database_list")]

    def list_tables(self, schema: str | None = None) -> list[str]:
        rows = self.query(
            f"SELECT name FROM {self.dialect.quote(schema or 'main')}.sqlite_master "
            "WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite%' ORDER BY name"
        )
        return [r[0] for r in rows]

    def list_columns(self, table: str | TableRef) -> list[Column]:
        ref = TableRef.parse(table)
        rows = self.query(
            f"PRAGMA {self.dialect.quote(ref.schema or 'main')}"
            f".table_info({self.dialect.quote(ref.name)})"
        )
        return [
            Column(
                name, typ, not notnull, pk > 0, self.dialect.arrow_type(typ) if typ else pa.string()
            )
            for _cid, name, typ, notnull, _default, pk in rows
        ]
