"""A connector's table as a module source: the same staging and merge path as a database.

``ConnectorSource`` is a DuckDB driver on a spool file of its own. A module with
``source_table`` plans as if it read ``SELECT * FROM "<table>"`` on DuckDB, so the
watermark window (MAX, look-back, safety lag, ``>``/``>=``) becomes a WHERE the
plan renders as usual. Before that SQL runs, the connector's batches are
spooled into the table:

- the window's lower bound becomes ``ReadOptions.incremental_value`` /
  ``incremental_op`` (and both bounds ``ReadOptions.filter``), so an API asks
  only for newer records; the WHERE then filters the spooled rows again, so a
  source that filters only by date can neither duplicate nor skip rows;
- any other query (key_sync's keys) spools the table again without the window;
- a batch with a new column adds it; a column whose type changes is widened
  (integer to double, anything else to text);
- a cancel stops between batches (pages).

The whole table is spooled before a row is staged, so a source failing halfway
(a 500 on page 3) fails the run before the destination is touched. A dry run
probes the discovered schema (the connector needs DISCOVER) and reads nothing.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from pipekit.connectors.protocol import Cap, ReadOptions, TableInfo, capabilities_of, require
from pipekit.connectors.sources import connector_kind, open_connector
from pipekit.drivers.duckdb import (
    LOAD_STATEMENT_ROWS,
    DuckDBDriver,
    _conform,
    _source_field,
    _statements,
)
from pipekit.drivers.url import parse_url
from pipekit.errors import ConnectorError, PipekitError, RunCancelled
from pipekit.files import FilePolicy
from pipekit.redact import redact

if TYPE_CHECKING:
    from pipekit.engine.source_sql import Window
    from pipekit.store.connections import Connection

__all__ = ["ConnectorSource", "SourceRead", "probe_connector", "row_local", "source_sql"]

#: the spool's DuckDB memory cap: rows past it go to the spool file, not to RAM
SPOOL_MEMORY = "64MB"
#: rows the spool writes in one statement (pages of one schema gathered)
SPOOL_ROWS = 20_000
_BATCH = "pipekit_batch"


def source_sql(table: str) -> str:
    """The query a ``source_table`` module plans with (DuckDB SQL on the spool)."""
    return 'SELECT * FROM "' + table.replace('"', '""') + '"'


def probe_connector(
    connection: Connection, secret: str | None, files: FilePolicy | None = None
) -> str:
    """`connection test` for a connector: make it, list its tables (one request at most
    per table whose schema is not declared); returns what it found."""
    connector = open_connector(
        connection.url, connection.options, user=connection.user, secret=secret, files=files
    )
    try:
        caps = capabilities_of(connector)
        kind = connector_kind(connection.url)
        if Cap.DISCOVER not in caps:
            return f"{kind} connector (cannot list its tables)"
        require(connector, Cap.DISCOVER)
        tables = connector.discover()
        return f"{kind} connector: {len(tables)} table(s): " + ", ".join(t.name for t in tables)
    finally:
        close = getattr(connector, "close", None)
        if callable(close):
            close()


@dataclass
class SourceRead:
    """What the spool read from the connector, for the run record (no secret in it)."""

    connector: str
    url: str
    table: str
    options: dict[str, Any]
    read_options: dict[str, Any] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    request_count: int = 0
    rows: int = 0

    def comment(self) -> str:
        """The SQL comment the run record's source query starts with."""
        lines = [
            f"-- connector {self.connector} ({self.url}), table {self.table}",
            f"-- connection options: {json.dumps(self.options, sort_keys=True, default=str)}",
            f"-- read options: {json.dumps(self.read_options, sort_keys=True, default=str)}",
            f"-- {self.rows} row(s) in {self.request_count} request(s) or file(s):",
        ]
        lines += [f"--   {r}" for r in self.requests]
        if self.request_count > len(self.requests):
            lines.append(f"--   ... and {self.request_count - len(self.requests)} more")
        return "\n".join(lines)


class ConnectorSource(DuckDBDriver):
    """A connector connection opened as a module's source (see the module docstring)."""

    def __init__(
        self,
        connection: Connection,
        secret: str | None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="pipekit-spool-"))
        url = parse_url(f"duckdb:///{self._folder / 'spool.duckdb'}?create=true")
        super().__init__(url, None, None)
        self.connection = connection
        self.secret = secret  # masked in what the run records
        self._sleep = sleep
        self._connector: Any = None
        self._cancelled = threading.Event()
        self._check_cancel: Callable[[], None] = lambda: None
        self._spooled: tuple[str, str | None, str] | None = None  # table, value, op
        self._options: dict[str, ReadOptions] = {}
        self._discovered: dict[str, TableInfo] | None = None
        #: what stopped the connector's batches (DuckDB rewords it when it passes through)
        self._failure: PipekitError | None = None
        self.reads: list[SourceRead] = []

    @classmethod
    def open(
        cls,
        connection: Connection,
        secret: str | None,
        *,
        sleep: Callable[[float], None],
        files: FilePolicy | None = None,
    ) -> ConnectorSource:
        source = cls(connection, secret, sleep=sleep)
        try:
            with source.errors("connect"):
                source._open()
            # one producer (the connector) feeds it: a second thread only holds more rows
            source._conn.execute("SET threads = 1")
            source._conn.execute(f"SET memory_limit = '{SPOOL_MEMORY}'")
            source._connector = open_connector(
                connection.url,
                connection.options,
                user=connection.user,
                secret=secret,
                sleep=sleep,
                files=files,
            )
        except BaseException:
            source.close()
            raise
        return source

    @property
    def connector_kind(self) -> str:
        return connector_kind(self.connection.url)

    def _close(self) -> None:
        with suppress(Exception):
            close = getattr(self._connector, "close", None)
            if callable(close):
                close()
        with suppress(Exception):
            super()._close()
        shutil.rmtree(self._folder, ignore_errors=True)

    def cancel(self) -> None:
        self._cancelled.set()
        super().cancel()

    def server_version(self) -> str:
        return f"{self.connector_kind} connector"

    # -- what the engine says it will read -------------------------------------

    def plan_read(
        self,
        sql: str,
        window: Window | None,
        key: str | None,
        check_cancel: Callable[[], None] | None = None,
    ) -> None:
        """`sql` (the planned source query) reads its table within `window`: the lower
        bound is what the connector is asked for; other queries read the whole table.
        `check_cancel` is called between batches (it raises to stop)."""
        if check_cancel is not None:
            self._check_cancel = check_cancel
        options = ReadOptions()
        if window is not None:
            options.incremental_key = window.column
            bounds: dict[str, object] = {}
            if window.lower is not None:
                options.incremental_value = window.lower.text()
                options.incremental_op = ">=" if window.lower.op == ">=" else ">"
                bounds[window.lower.op] = window.lower.text()
            if window.upper is not None:
                bounds[window.upper.op] = window.upper.text()
            if bounds:
                options.filter = {window.column: bounds}
        elif key is not None:
            options.incremental_key = key
        self._options[sql] = options

    # -- the driver methods the run calls --------------------------------------

    def read(self, sql: str, batch_rows: int = 65_536) -> pa.RecordBatchReader:
        if self._fixed_schema(self._table_of(sql)):
            return self._stream(sql, batch_rows)
        self._spool(sql)
        return super().read(sql, batch_rows)

    def declared_types(self, sql: str, *, full: bool = True) -> list[str | None] | None:
        # A connector's columns have no database type of their own (the spool's are
        # Pipekit's choice), and its table exists only once the read has begun.
        return None

    def probe(self, sql: str) -> pa.Schema:
        """The planned query's schema: from the spool once read, else from DISCOVER (a dry
        run reads no record)."""
        table = self._table_of(sql)
        if self._spooled is None or self._spooled[0] != table:
            self._empty_table(table)
        inner = sql.strip().rstrip(";")
        # DuckDBDriver.read, not self.read: a probe must not spool (read) the records
        reader = DuckDBDriver.read(self, f"SELECT * FROM ({inner}\n) pipekit_probe WHERE 1=0")
        schema = reader.schema
        reader.close()
        return schema

    # -- spooling --------------------------------------------------------------

    def _table_of(self, sql: str) -> str:
        """The connector table `sql` reads (its first table)."""
        import sqlglot
        from sqlglot import exp

        try:
            found = next(sqlglot.parse_one(sql, read="duckdb").find_all(exp.Table), None)
        except sqlglot.errors.ParseError:
            found = None
        if found is None:
            raise ConnectorError(
                f"cannot tell which connector table this query reads: {sql[:200]}",
                path="key_sync_query",
            )
        return found.name

    def _discover(self) -> dict[str, TableInfo]:
        if self._discovered is None:
            caps = capabilities_of(self._connector)
            if Cap.DISCOVER not in caps:
                raise ConnectorError(
                    f"the {self.connector_kind} connector cannot discover its tables, so a dry "
                    "run or preview cannot tell the columns without reading records; run it"
                )
            require(self._connector, Cap.DISCOVER)
            self._discovered = {t.name: t for t in self._connector.discover()}
        return self._discovered

    def _empty_table(self, table: str) -> None:
        info = self._discover().get(table)
        if info is None:
            raise ConnectorError(
                f"connection '{self.connection.name}' has no table {table!r} (tables: "
                f"{', '.join(sorted(self._discover()))})",
                path="source_table",
            )
        self._drop(table)
        empty = pa.Table.from_batches([], info.schema)
        self._create_from(table, empty)
        self._spooled = None

    def _drop(self, table: str) -> None:
        self._conn.execute(f"DROP TABLE IF EXISTS {self.quote(table)}")

    def _create_from(self, table: str, data: pa.Table) -> None:
        keep = [f.name for f in data.schema if not pa.types.is_null(f.type)]
        self._conn.register(_BATCH, data.select(keep))
        try:
            self._conn.execute(f"CREATE TABLE {self.quote(table)} AS SELECT * FROM {_BATCH}")
        finally:
            self._conn.unregister(_BATCH)

    def _read_options(self, sql: str) -> ReadOptions:
        options = self._options.get(sql) or ReadOptions()
        if options.incremental_value is None:
            options = ReadOptions(incremental_key=options.incremental_key)
        return options

    def _start(self, table: str, options: ReadOptions) -> SourceRead:
        require(self._connector, Cap.READ)
        record = SourceRead(
            connector=self.connector_kind,
            url=self.connection.url,
            table=table,
            options=self.connection.options,
            read_options={k: v for k, v in asdict(options).items() if v is not None},
        )
        self.reads.append(record)
        return record

    def _checked(
        self, table: str, options: ReadOptions, record: SourceRead
    ) -> Iterator[pa.RecordBatch]:
        """The connector's batches, checked, counted, stopped by a cancel; a failure is a
        ConnectorError naming the table (secrets masked)."""
        try:
            batches: Iterator[pa.RecordBatch] = self._connector.read(table, options)
            for batch in batches:
                self._check_cancel()
                if self._cancelled.is_set():
                    raise RunCancelled("cancelled")
                if not isinstance(batch, pa.RecordBatch):
                    raise ConnectorError(
                        f"read() of {table} yielded a {type(batch).__name__}; it must yield "
                        "pyarrow.RecordBatch objects"
                    )
                record.rows += batch.num_rows
                yield batch
            if self._cancelled.is_set():
                raise RunCancelled("cancelled")
        except PipekitError as exc:
            self._failure = exc
            raise
        except Exception as exc:
            self._failure = ConnectorError(
                f"reading {table} from connection '{self.connection.name}' failed: "
                f"{type(exc).__name__}: {redact(str(exc), [self.secret])}"
            )
            raise self._failure from None
        finally:
            record.requests = list(getattr(self._connector, "requests", []))
            record.request_count = int(getattr(self._connector, "request_count", 0))

    def _fixed_schema(self, table: str) -> bool:
        """Whether every batch of `table` has one schema (the connector says so): then the
        rows stream through DuckDB instead of being spooled."""
        fixed = getattr(self._connector, "fixed_schema", None)
        return bool(callable(fixed) and fixed(table))

    def _stream(self, sql: str, batch_rows: int) -> pa.RecordBatchReader:
        """`sql` run by DuckDB over the connector's batches as they come (no spool)."""
        table = self._table_of(sql)
        options = self._read_options(sql)
        record = self._start(table, options)
        self._failure = None
        batches = self._checked(table, options, record)
        first = next(batches, None)
        if first is None:
            self._empty_table(table)
            return DuckDBDriver.read(self, sql, batch_rows)
        schema = first.schema

        def conformed() -> Iterator[pa.RecordBatch]:
            yield first
            for batch in batches:
                if batch.schema != schema:
                    if batch.schema.names != schema.names:
                        raise ConnectorError(
                            f"{table}: a batch has the columns {', '.join(batch.schema.names)}, "
                            f"the first had {', '.join(schema.names)}; declare the table's "
                            "columns so every file or page reads alike"
                        )
                    batch = batch.cast(schema)
                yield batch

        reader = pa.RecordBatchReader.from_batches(schema, conformed())
        if sql.strip() == source_sql(table):
            # nothing to filter: the batches go to staging as they are, DuckDB not between
            target = pa.schema([_source_field(f) for f in schema])
            return pa.RecordBatchReader.from_batches(target, (_conform(b, target) for b in reader))
        self._drop(table)
        self._spooled = None
        cur = self._conn.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        # DuckDB holds the Arrow string buffers a statement scanned until it ends, so
        # a query that looks at one row at a time runs once per LOAD_STATEMENT_ROWS
        # (memory flat however long the table); any other runs once over the stream.
        parts = _statements(reader, LOAD_STATEMENT_ROWS) if row_local(sql) else iter([reader])

        def run(part: pa.RecordBatchReader) -> pa.RecordBatchReader:
            cur.register(table, part)
            with self.errors("read"):
                return cur.execute(sql).to_arrow_reader(batch_rows)

        try:
            source = run(next(parts))
        except BaseException as exc:
            cur.close()
            if self._failure is not None:
                raise self._failure from None
            raise exc
        target = pa.schema([_source_field(f) for f in source.schema])

        def out() -> Iterator[pa.RecordBatch]:
            result: pa.RecordBatchReader | None = source
            try:
                while result is not None:
                    for batch in result:
                        yield _conform(batch, target)
                    part = next(parts, None)  # the last part is read: the next may start
                    result = None if part is None else run(part)
            except BaseException:
                # DuckDB rewords what the connector raised: the connector's own error wins
                if self._failure is not None:
                    raise self._failure from None
                raise
            finally:
                cur.close()

        return pa.RecordBatchReader.from_batches(target, out())

    def _spool(self, sql: str) -> None:
        table = self._table_of(sql)
        options = self._read_options(sql)
        want = (table, options.incremental_value, options.incremental_op)
        if self._spooled == want:
            return
        record = self._start(table, options)
        self._drop(table)
        self._spooled = None
        created = False
        # Pages are small (100 records): alike ones go in together, one statement per
        # SPOOL_ROWS rather than per page.
        pending: list[pa.RecordBatch] = []
        for batch in self._checked(table, options, record):
            if pending and (
                batch.schema != pending[0].schema or sum(b.num_rows for b in pending) >= SPOOL_ROWS
            ):
                created = self._spool_some(table, pending, created)
            pending.append(batch)
        created = self._spool_some(table, pending, created)
        if not created:
            self._empty_table(table)
        self._spooled = want

    def _spool_some(self, table: str, batches: list[pa.RecordBatch], created: bool) -> bool:
        """Write `batches` (one schema) into the spool table; whether it exists now."""
        data = pa.Table.from_batches(batches) if batches else None
        batches.clear()
        if data is None or (data.num_rows == 0 and created):
            return created
        if not created:
            self._create_from(table, data)
        else:
            self._append(table, data)
        return True

    def _columns(self, relation: str) -> dict[str, str]:
        rows = self._conn.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    def _append(self, table: str, batch: pa.Table) -> None:
        """Insert `batch` by column name: new columns added, conflicting ones widened."""
        q = self.quote
        self._conn.register(_BATCH, batch)
        try:
            have = self._columns(q(table))
            given = self._columns(_BATCH)
            nulls = {f.name for f in batch.schema if pa.types.is_null(f.type)}
            select = []
            for name, kind in given.items():
                if name in nulls:
                    # no value to type it by: the column waits for a batch that has one
                    if name in have:
                        select.append(f"CAST(NULL AS {have[name]}) AS {q(name)}")
                    continue
                if name not in have:
                    self._conn.execute(f"ALTER TABLE {q(table)} ADD COLUMN {q(name)} {kind}")
                    have[name] = kind
                    select.append(q(name))
                    continue
                old = have[name]
                if old == kind:
                    select.append(q(name))
                    continue
                wider = _wider(old, kind)
                if wider != old:
                    self._conn.execute(f"ALTER TABLE {q(table)} ALTER {q(name)} TYPE {wider}")
                    have[name] = wider
                select.append(f"CAST({q(name)} AS {wider}) AS {q(name)}")
            if select:
                self._conn.execute(
                    f"INSERT INTO {q(table)} BY NAME SELECT {', '.join(select)} FROM {_BATCH}"
                )
        finally:
            self._conn.unregister(_BATCH)


def row_local(sql: str) -> bool:
    """Whether `sql` (DuckDB's SQL) gives each row's answer from that row alone: one
    SELECT (over subqueries alike) of columns and a WHERE, with no grouping, DISTINCT,
    ordering, limit, window, join or set operation. Run over parts of a table and
    concatenated, it then answers what it answers over the whole table."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError:
        return False
    if not isinstance(tree, exp.Select):
        return False
    if any(
        tree.find(kind) is not None
        for kind in (exp.AggFunc, exp.Window, exp.Join, exp.SetOperation, exp.Lateral)
    ):
        return False
    for select in tree.find_all(exp.Select):
        # a query nested anywhere but as the FROM of the one above (WHERE id IN (...))
        # would see only a part of the table
        nested = select is not tree
        if nested and not (
            isinstance(select.parent, exp.Subquery) and isinstance(select.parent.parent, exp.From)
        ):
            return False
        if select.args.get("distinct") or any(
            select.args.get(k) for k in ("group", "having", "order", "limit", "offset", "qualify")
        ):
            return False
    return True


_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
_NUMBERS = _INTEGERS | {"FLOAT", "DOUBLE"}


def _wider(old: str, new: str) -> str:
    """The type both `old` and `new` values fit: integers into doubles, else text."""
    if old in _INTEGERS and new in _INTEGERS:
        return "BIGINT"
    if old in _NUMBERS and new in _NUMBERS:
        return "DOUBLE"
    return "VARCHAR"
