"""The client every database driver subclasses: connect, read, load, run SQL.

A driver is the connection side of a database kind; what the kind says in SQL
(quoting, literals, types, every statement the merge and swap run) is its
``dialect`` (``drivers/dialect.py``, one ``<kind>_dialect.py`` per kind), which it
owns as ``driver.dialect`` and which works without a connection. A subclass declares:

``kind``         registry name (``postgresql``, ``mysql``, ``sqlite``, ``duckdb``)
``dialect``      the kind's ``Dialect`` instance (the client may replace it with one
                 that knows the server's version once connected)
``error_types``  exception classes of the client library that mean "the database said no"

and implements a handful of small methods: ``_open``, ``_close``, ``server_version``,
``execute``, ``query``, ``read``, ``_load_reader``, ``list_columns``, plus
``_begin``/``_commit``/``_rollback`` when SQL ``BEGIN``/``COMMIT`` do not fit, and,
where the dialect swaps tables, ``swap_info``.

Data travels as ``pyarrow.RecordBatch``: ``read`` returns a
``pyarrow.RecordBatchReader`` whose schema is known before the first batch (also for
zero rows) and which streams, so memory is bounded by the batch size.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, ClassVar, Self

import pyarrow as pa

from pipekit.drivers import types as T
from pipekit.drivers.dialect import Dialect
from pipekit.drivers.tables import Column, SwapInfo, TableRef
from pipekit.drivers.url import ConnectionURL
from pipekit.errors import (
    DatabaseError,
    PipekitError,
    TerminalDatabaseError,
    TransientDatabaseError,
)
from pipekit.files import FilePolicy

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "Column",
    "Dialect",
    "Driver",
    "SwapInfo",
    "TableRef",
    "as_reader",
    "rechunk",
    "unknown_columns_error",
]

DEFAULT_BATCH_ROWS = 65_536


class Driver(ABC):
    """Base of all database drivers. See the module docstring for what a subclass declares."""

    kind: ClassVar[str]
    dialect: Dialect
    #: exception classes of the client library that mean "the database said no"
    error_types: ClassVar[tuple[type[BaseException], ...]] = ()

    def __init__(
        self,
        url: ConnectionURL,
        user: str | None,
        password: str | None,
        files: FilePolicy | None = None,
    ) -> None:
        self.url = url
        self.user = user or url.user
        self._password = password
        self._in_transaction = False
        #: which files this connection may open (file-based kinds check it in ``_open``)
        self.files = files or FilePolicy()

    # -- lifecycle ---------------------------------------------------------

    @classmethod
    def connect(
        cls,
        url: ConnectionURL,
        *,
        user: str | None = None,
        password: str | None = None,
        files: FilePolicy | None = None,
    ) -> Self:
        driver = cls(url, user, password, files)
        with driver.errors("connect"):
            driver._open()
        return driver

    @abstractmethod
    def _open(self) -> None:
        """Connect; raise the client library's error (``errors`` translates it)."""

    @abstractmethod
    def _close(self) -> None:
        """Release the connection."""

    def close(self) -> None:
        # Closing a broken connection must not mask the error that broke it.
        with suppress(Exception):
            self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def server_version(self) -> str:
        """The database's own version string."""

    # -- errors ------------------------------------------------------------

    def where(self) -> str:
        """Where this connection points, for messages (never with a password)."""
        if self.url.path is not None:
            return str(self.url.path)
        host = f"{self.url.host}:{self.url.port}" if self.url.port else str(self.url.host)
        return f"{host}/{self.url.database or ''}"

    def is_transient(self, exc: BaseException) -> bool:
        """Whether a client-library error is worth retrying. Drivers refine this."""
        text = str(exc).lower()
        return any(
            s in text
            for s in ("connection refused", "timeout", "timed out", "deadlock", "could not connect")
        )

    def scrub(self, text: str) -> str:
        if self._password:
            text = text.replace(self._password, "***")
        return text

    @contextmanager
    def errors(self, action: str) -> Iterator[None]:
        """Turn client-library errors into DatabaseError subclasses with a clear message."""
        try:
            yield
        except PipekitError:
            raise
        except self.error_types as exc:
            raise self.database_error(action, exc) from None

    def database_error(self, action: str, exc: BaseException) -> DatabaseError:
        """`exc` from the client library as a transient or terminal DatabaseError."""
        reason = self.scrub(" ".join(str(exc).split()))
        cls = TransientDatabaseError if self.is_transient(exc) else TerminalDatabaseError
        return cls(f"{self.kind} at {self.where()}: {action} failed: {reason}", reason=reason)

    # -- SQL and transactions ----------------------------------------------

    @abstractmethod
    def execute(self, sql: str) -> None:
        """Run one statement that returns no rows."""

    @abstractmethod
    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Run one statement and return all its rows (for small results only)."""

    @abstractmethod
    def execute_count(self, sql: str) -> int:
        """Run one INSERT/UPDATE/DELETE and return the number of rows it changed."""

    def cancel(self) -> None:
        """Stop the statement this connection is running; callable from another thread.

        Drivers whose client library can interrupt a statement override this; the
        default does nothing (the engine still stops between batches).
        """
        return None

    #: called with ``session()``'s form of each further session the driver opens for a
    #: while (a binary copy's side sessions), so a run can record those too
    on_session: Callable[[str], None] | None = None

    def session(self) -> str | None:
        """This connection's session on the server, as ``end_session`` takes it, or None
        where the kind has none to end (embedded databases). A run records it, so the
        session of a run whose process was killed can be ended when its lease is
        recovered."""
        return None

    def end_session(self, session: str) -> bool:
        """End another connection's server session (`session` from its ``session()``),
        its statement cancelled and its transaction rolled back; False when it is gone
        already or the kind cannot."""
        return False

    def _begin(self) -> None:
        self.execute("BEGIN")

    def _commit(self) -> None:
        self.execute("COMMIT")

    def _rollback(self) -> None:
        self.execute("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        return self._in_transaction

    @contextmanager
    def transaction(self) -> Iterator[Self]:
        """All statements inside commit together or not at all. Nested use joins the outer one."""
        if self._in_transaction:
            yield self
            return
        with self.errors("begin transaction"):
            self._begin()
        self._in_transaction = True
        try:
            yield self
        except BaseException:
            self._in_transaction = False
            # A rollback that fails (the connection died: the server drops the open
            # transaction with the session) must not hide the error that ended it.
            with suppress(Exception):
                self._rollback()
            raise
        self._in_transaction = False
        with self.errors("commit"):
            self._commit()

    @contextmanager
    def count_alongside(self, table: TableRef) -> Iterator[Callable[[], int | None] | None]:
        """Inside a transaction: count `table`'s rows as the transaction sees them
        now, on a second session while this one goes on with the statements inside.
        Yields a callable that waits for the count (None if it failed), or None
        where the database cannot (then count afterwards). Only around statements
        that take no lock stronger than writing rows does: the count waits for any."""
        yield None

    @contextmanager
    def capped_memory(self, tables: Sequence[TableRef]) -> Iterator[None]:
        """Hold the statements inside, which read `tables`, to a memory cap where the
        database has one and can spill to disk instead (DuckDB); by default nothing
        changes."""
        yield

    # -- data --------------------------------------------------------------

    @abstractmethod
    def read(self, sql: str, batch_rows: int = DEFAULT_BATCH_ROWS) -> pa.RecordBatchReader:
        """Stream the result of `sql` as canonical Arrow batches."""

    def load(
        self,
        table: str | TableRef,
        data: pa.RecordBatchReader | pa.Table | Iterable[pa.RecordBatch],
    ) -> int:
        """Bulk-load `data` into an existing table (columns matched by name); all or nothing.

        Returns the number of rows loaded. Runs in its own transaction unless
        called inside ``transaction()``.
        """
        reader = as_reader(data)
        counted = _Counter(reader)
        with self.transaction():
            self._load_reader(TableRef.parse(table), counted.reader())
        return counted.rows

    @abstractmethod
    def _load_reader(self, table: TableRef, reader: pa.RecordBatchReader) -> None:
        """Append every batch of `reader` to `table` through the bulk path."""

    def probe(self, sql: str) -> pa.Schema:
        """The Arrow schema `sql` returns, without fetching a row."""
        inner = sql.strip().rstrip(";")
        reader = self.read(f"SELECT * FROM ({inner}\n) pipekit_probe WHERE 1=0")
        schema = reader.schema
        reader.close()
        return schema

    def declared_types(self, sql: str, *, full: bool = True) -> list[str | None] | None:
        """The type each result column of `sql` has as this database declares it
        (``numeric``, ``varchar(20)``), in column order, for a destination of the same
        kind to create (``types.with_declared``); None where the driver cannot tell.
        `full`: a destination of this kind will create the columns, so every type
        modifier counts; else the names suffice (they decide another kind's closest
        type and the run-log warnings) and a driver may answer more cheaply."""
        return None

    # -- fast paths that bypass Arrow (drivers that have them override) ----

    def can_copy_from(self, source: Driver) -> bool:
        """Whether ``copy_from`` may move `source`'s rows here natively (no Arrow)."""
        return False

    def prepare_copy_from(self, source: Driver) -> None:
        """Start, in the background, whatever ``copy_from`` will need (imports)."""
        return None

    def copy_blocker(self, source: Driver, schema: pa.Schema, table: TableRef) -> str | None:
        """Why `source` rows of `schema` cannot be copied natively into `table` (None: they can).

        `schema` is ``source.probe(sql)``, whose field metadata carries native types.
        """
        return f"{source.kind} to {self.kind} has no native copy"

    def copy_from(
        self,
        source: Driver,
        sql: str,
        table: TableRef,
        columns: Sequence[str],
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Copy the rows of `sql` on `source` into `table`'s `columns`; returns the row count."""
        raise NotImplementedError(f"{self.kind} has no native copy from {source.kind}")

    def swap_info(self, table: TableRef) -> SwapInfo:
        """What replacing `table` by a renamed new table involves (DESIGN 2.1's atomic swap)."""
        return SwapInfo([f"{self.kind} destinations are refreshed through staging"])

    # -- DDL and queries the client runs, rendered by the dialect --------------

    def create_schema(self, schema: str) -> None:
        sql = self.dialect.create_schema_sql(schema)
        if sql:
            self.execute(sql)

    def create_table(
        self,
        table: str | TableRef,
        schema: pa.Schema,
        primary_key: Sequence[str] = (),
        *,
        if_not_exists: bool = False,
        staging: bool = False,
    ) -> None:
        """Create `table` with columns mapped from `schema`; key columns are NOT NULL.

        `staging` marks a table the run fills and drops (``staging_table_kind``)."""
        self.execute(
            self.dialect.create_table_sql(
                table, schema, primary_key, if_not_exists=if_not_exists, staging=staging
            )
        )

    def drop_table(self, table: str | TableRef, *, if_exists: bool = True) -> None:
        self.execute(self.dialect.drop_table_sql(table, if_exists=if_exists))

    def duplicate_keys(self, table: TableRef, keys: Sequence[str]) -> list[tuple[Any, ...]]:
        """Up to three keys that occur more than once in `table`, each followed by its
        count, most repeated first."""
        return self.query(self.dialect.duplicate_keys_sql(table, keys))

    # -- the dialect under its old names --------------------------------------
    # Thin delegations for callers outside drivers/ and engine/merge.py, which
    # predate ``driver.dialect``; new code calls the dialect itself.

    @property
    def default_schema(self) -> str | None:
        return self.dialect.default_schema

    @property
    def transactional_ddl(self) -> bool:
        return self.dialect.transactional_ddl

    @property
    def swap_full_refresh(self) -> bool:
        return self.dialect.swap_full_refresh

    @property
    def declares_primary_key(self) -> bool:
        return self.dialect.declares_primary_key

    @property
    def text_allows_nul(self) -> bool:
        return self.dialect.text_allows_nul

    def quote(self, name: str) -> str:
        return self.dialect.quote(name)

    def table_sql(self, table: str | TableRef) -> str:
        return self.dialect.table_sql(table)

    def literal(self, value: Any, arrow_type: pa.DataType | None = None) -> str:
        return self.dialect.literal(value, arrow_type)

    def same_name(self, a: str, b: str) -> bool:
        return self.dialect.same_name(a, b)

    def ddl_type(self, arrow_type: pa.DataType, *, key: bool = False) -> str:
        return self.dialect.ddl_type(arrow_type, key=key)

    def arrow_type(self, db_type: str) -> pa.DataType:
        return self.dialect.arrow_type(db_type)

    def staging_table(self, module: str, staging_schema: str, dest: TableRef) -> TableRef:
        return self.dialect.staging_table(module, staging_schema, dest)

    def swap_table(self, staged: TableRef, table: TableRef) -> TableRef:
        return self.dialect.swap_table(staged, table)

    def create_table_sql(
        self,
        table: str | TableRef,
        schema: pa.Schema,
        primary_key: Sequence[str] = (),
        *,
        if_not_exists: bool = False,
        staging: bool = False,
    ) -> str:
        return self.dialect.create_table_sql(
            table, schema, primary_key, if_not_exists=if_not_exists, staging=staging
        )

    # -- introspection -------------------------------------------------------

    def list_schemas(self) -> list[str]:
        rows = self.query(
            "SELECT schema_name FROM information_schema.schemata ORDER BY schema_name"
        )
        return [r[0] for r in rows if not self._is_system_schema(r[0])]

    def _is_system_schema(self, name: str) -> bool:
        return name in ("information_schema",)

    def list_tables(self, schema: str | None = None) -> list[str]:
        schema = schema or self.dialect.default_schema
        rows = self.query(
            "SELECT table_name FROM information_schema.tables "
            f"WHERE table_schema = {self.dialect.literal(schema)} ORDER BY table_name"
        )
        return [r[0] for r in rows]

    def table_estimates(self, schema: str | None = None) -> dict[str, int]:
        """Row counts the catalog estimates for `schema`'s tables, without counting:
        table -> rows. A table the catalog has no figure for is left out; the base
        knows none (SQLite keeps none)."""
        return {}

    def table_exists(self, table: str | TableRef) -> bool:
        ref = TableRef.parse(table)
        return ref.name in self.list_tables(ref.schema)

    @abstractmethod
    def list_columns(self, table: str | TableRef) -> list[Column]:
        """Columns of `table` in order, with type, nullability and primary-key flag."""

    def load_targets(self, table: TableRef, names: Sequence[str]) -> list[Column]:
        """The table's columns for `names`, in that order; an error before any write
        when the table is missing or lacks one of them."""
        columns = {c.name: c for c in self.list_columns(table)}
        if not columns:
            raise TerminalDatabaseError(f"cannot load into {table}: the table does not exist")
        unknown = [n for n in names if n not in columns]
        if unknown:
            raise unknown_columns_error(table, unknown, list(columns))
        return [columns[n] for n in names]

    def conformed(self, table: TableRef, reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
        """`reader` with every batch cast to the types of `table`'s matching columns."""
        targets = self.load_targets(table, reader.schema.names)
        schema = pa.schema([pa.field(c.name, c.arrow_type) for c in targets])
        return pa.RecordBatchReader.from_batches(
            schema, (T.conform_batch(b, schema) for b in reader)
        )

    def table_schema(self, table: str | TableRef) -> pa.Schema:
        """The Arrow schema of an existing table, from introspection."""
        return pa.schema(
            [pa.field(c.name, c.arrow_type, c.nullable) for c in self.list_columns(table)]
        )


def unknown_columns_error(
    table: TableRef, unknown: Sequence[str], known: Sequence[str]
) -> TerminalDatabaseError:
    return TerminalDatabaseError(
        f"cannot load into {table}: column(s) {', '.join(unknown)} are not in the table "
        f"(it has {', '.join(known)}); add them or leave them out of the data"
    )


def rechunk(batch: pa.RecordBatch, max_rows: int) -> Iterator[pa.RecordBatch]:
    """`batch` in zero-copy slices of at most `max_rows` rows."""
    if batch.num_rows <= max_rows:
        yield batch
        return
    for offset in range(0, batch.num_rows, max_rows):
        yield batch.slice(offset, max_rows)


def as_reader(
    data: pa.RecordBatchReader | pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch],
) -> pa.RecordBatchReader:
    """Any batch source as a RecordBatchReader."""
    if isinstance(data, pa.RecordBatchReader):
        return data
    if isinstance(data, pa.Table):
        return data.to_reader()
    if isinstance(data, pa.RecordBatch):
        return pa.RecordBatchReader.from_batches(data.schema, [data])
    it = iter(data)
    try:
        first = next(it)
    except StopIteration:
        raise DatabaseError(
            "nothing to load: the batch stream is empty and has no schema"
        ) from None

    def chain() -> Iterator[pa.RecordBatch]:
        yield first
        yield from it

    return pa.RecordBatchReader.from_batches(first.schema, chain())


class _Counter:
    """Counts rows as a reader is consumed (the loaders consume it lazily)."""

    def __init__(self, reader: pa.RecordBatchReader) -> None:
        self._reader = reader
        self.rows = 0

    def reader(self) -> pa.RecordBatchReader:
        def gen() -> Iterator[pa.RecordBatch]:
            for batch in self._reader:
                self.rows += batch.num_rows
                yield batch

        return pa.RecordBatchReader.from_batches(self._reader.schema, gen())
