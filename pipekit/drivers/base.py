"""The base every database driver subclasses; a driver's differences are class attributes.

A driver subclass declares, as class attributes:

``kind``               registry name (``postgresql``, ``mysql``, ``sqlite``, ``duckdb``)
``dialect``            the sqlglot dialect used to quote, render literals and parse types
``ddl_types``          Arrow type key (see ``types.type_key``) -> DDL type, with
                       ``{precision}``/``{scale}`` placeholders for decimals
``key_ddl_types``      overrides for primary-key columns (MariaDB cannot index TEXT)
``transactional_ddl``  CREATE/DROP/ALTER can be rolled back (false: swap tables instead)
``supports_delete``    DELETE works (false for append-only engines)
``text_allows_nul``    text values may contain U+0000
``has_schemas``        the database has schemas (SQLite and MariaDB-as-database do not)
``table_options``      appended to CREATE TABLE (MariaDB: engine and character set)
``staging_table_kind`` word between CREATE and TABLE for staging tables (PostgreSQL:
                       ``UNLOGGED``: staged rows are rebuilt by the next run, no WAL)
``default_schema``     schema an unqualified table lives in
``case_sensitive_names`` quoted names differ by case (PostgreSQL); elsewhere ``Id`` = ``id``
``swap_full_refresh``  a full refresh may load a new table and rename it into place
                       (the driver then has ``swap_info``, ``like_table_sql``, ``primary_key_sql``,
                       ``swap_sql``; ``swap_table`` where the new table is built)
``declares_primary_key`` a destination table Pipekit creates gets a PRIMARY KEY on the
                       merge key (DuckDB: no, its key index must fit in memory)
``upsert_needs_key``   the upsert statement needs a unique key on the merge key to
                       find the rows it updates (DuckDB's MERGE INTO does not)

and implements a handful of small methods: ``_open``, ``_close``, ``server_version``,
``execute``, ``query``, ``read``, ``_load_reader``, ``list_columns``, plus
``_begin``/``_commit``/``_rollback`` when SQL ``BEGIN``/``COMMIT`` do not fit.

Data travels as ``pyarrow.RecordBatch``: ``read`` returns a
``pyarrow.RecordBatchReader`` whose schema is known before the first batch (also for
zero rows) and which streams, so memory is bounded by the batch size.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import pyarrow as pa
from sqlglot import exp

from pipekit.drivers import types as T
from pipekit.drivers.url import ConnectionURL
from pipekit.errors import (
    ConnectionSpecError,
    DatabaseError,
    PipekitError,
    TerminalDatabaseError,
    TransientDatabaseError,
)

DEFAULT_BATCH_ROWS = 65_536


@dataclass(frozen=True)
class TableRef:
    """A table name, optionally schema-qualified, as the user wrote it (unquoted)."""

    name: str
    schema: str | None = None

    @classmethod
    def parse(cls, text: str | TableRef) -> TableRef:
        """``"sync.orders"`` -> TableRef("orders", "sync"); quoted parts are honoured."""
        if isinstance(text, TableRef):
            return text
        try:
            table = exp.to_table(text)
        except Exception as exc:
            raise ConnectionSpecError(f"not a valid table name: {text!r} ({exc})") from None
        if table.catalog:
            raise ConnectionSpecError(
                f"table name {text!r} has three parts; use schema.table or table"
            )
        return cls(name=table.name, schema=table.db or None)

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


@dataclass(frozen=True)
class SwapInfo:
    """Whether a full refresh may load a new table and rename it into `table`'s place.

    ``blockers`` says why not (a view depends on it, it has triggers, ...); empty
    means it may. The rest is what the new table must carry over from the old one.
    """

    blockers: list[str]
    primary_key: list[str] = field(default_factory=list)
    primary_key_name: str | None = None
    grants: list[str] = field(default_factory=list)
    comment: str | None = None


@dataclass(frozen=True)
class Column:
    """A column as introspection reports it."""

    name: str
    type: str
    nullable: bool
    primary_key: bool
    arrow_type: pa.DataType


class Driver(ABC):
    """Base of all database drivers. See the module docstring for what a subclass declares."""

    kind: ClassVar[str]
    dialect: ClassVar[str]
    ddl_types: ClassVar[dict[str, str]]
    key_ddl_types: ClassVar[dict[str, str]] = {}
    transactional_ddl: ClassVar[bool] = True
    supports_delete: ClassVar[bool] = True
    text_allows_nul: ClassVar[bool] = True
    has_schemas: ClassVar[bool] = True
    default_schema: ClassVar[str | None] = None
    #: appended to CREATE TABLE (storage engine, character set)
    table_options: ClassVar[str] = ""
    #: CREATE <kind> TABLE for staging tables, whose rows the next run rebuilds anyway
    staging_table_kind: ClassVar[str] = ""
    #: exception classes of the client library that mean "the database said no"
    error_types: ClassVar[tuple[type[BaseException], ...]] = ()
    case_sensitive_names: ClassVar[bool] = False
    swap_full_refresh: ClassVar[bool] = False
    declares_primary_key: ClassVar[bool] = True
    upsert_needs_key: ClassVar[bool] = True

    def __init__(self, url: ConnectionURL, user: str | None, password: str | None) -> None:
        self.url = url
        self.user = user or url.user
        self._password = password
        self._in_transaction = False

    # -- lifecycle ---------------------------------------------------------

    @classmethod
    def connect(
        cls, url: ConnectionURL, *, user: str | None = None, password: str | None = None
    ) -> Self:
        driver = cls(url, user, password)
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
            with self.errors("rollback"):
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

    def swap_table(self, staged: TableRef, table: TableRef) -> TableRef:
        """Where a swap's new table is built: the staging table, where the database
        can move it into `table`'s schema when it is renamed into place."""
        return staged

    def lock_sql(self, table: TableRef) -> str | None:
        """The statement that keeps other writers off `table` until the swap commits;
        None where the database has one writer at a time anyway."""
        return None

    def column_default_sql(self, table: TableRef, column: str, value: str | None) -> str:
        action = f"SET DEFAULT {value}" if value is not None else "DROP DEFAULT"
        return f"ALTER TABLE {self.table_sql(table)} ALTER COLUMN {self.quote(column)} {action}"

    # -- names and literals -------------------------------------------------

    def quote(self, name: str) -> str:
        return exp.to_identifier(name, quoted=True).sql(dialect=self.dialect)

    def table_sql(self, table: str | TableRef) -> str:
        ref = TableRef.parse(table)
        if ref.schema:
            return f"{self.quote(ref.schema)}.{self.quote(ref.name)}"
        return self.quote(ref.name)

    def literal(self, value: Any, arrow_type: pa.DataType | None = None) -> str:
        """`value` as a typed SQL literal of this dialect; strings are escaped by sqlglot."""
        node = self._literal_node(value, arrow_type)
        return node.sql(dialect=self.dialect)

    def _literal_node(self, value: Any, arrow_type: pa.DataType | None) -> exp.Expression:
        if value is None:
            return exp.Null()
        if isinstance(value, bool):
            return exp.Boolean(this=value)
        if isinstance(value, int | decimal.Decimal):
            if isinstance(value, decimal.Decimal) and not value.is_finite():
                raise ValueError(f"cannot render non-finite decimal {value}")
            return exp.Literal.number(str(value))
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(f"cannot render non-finite float {value}")
            return exp.Literal.number(repr(value))
        if isinstance(value, bytes | bytearray | memoryview):
            return exp.HexString(this=bytes(value).hex())
        if isinstance(value, uuid.UUID):
            return self._cast_literal(str(value), arrow_type or T.UUID)
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(dt.UTC)
                return self._cast_literal(
                    value.replace(tzinfo=None).isoformat(sep=" ") + "+00:00",
                    arrow_type or pa.timestamp("us", tz="UTC"),
                )
            return self._cast_literal(value.isoformat(sep=" "), arrow_type or pa.timestamp("us"))
        if isinstance(value, dt.date):
            return self._cast_literal(value.isoformat(), arrow_type or pa.date32())
        if isinstance(value, dt.time):
            return self._cast_literal(value.isoformat(), arrow_type or pa.time64("us"))
        if isinstance(value, str):
            if arrow_type is not None and T.type_key(arrow_type) not in ("string", "null"):
                return self._cast_literal(value, arrow_type)
            return exp.Literal.string(value)
        raise TypeError(f"cannot render a {type(value).__name__} as a SQL literal")

    def _cast_literal(self, text: str, arrow_type: pa.DataType) -> exp.Expression:
        return exp.cast(
            exp.Literal.string(text),
            exp.DataType.build(self.ddl_type(arrow_type), dialect=self.dialect, udt=True),
        )

    # -- types and DDL ------------------------------------------------------

    def ddl_type(self, arrow_type: pa.DataType, *, key: bool = False) -> str:
        """The column type this database stores `arrow_type` in."""
        k = T.type_key(arrow_type)
        template = (self.key_ddl_types.get(k) if key else None) or self.ddl_types.get(k)
        if template is None:
            template = self.ddl_types["string"]
        if pa.types.is_decimal(arrow_type):
            return template.format(precision=arrow_type.precision, scale=arrow_type.scale)
        return template

    def arrow_type(self, db_type: str) -> pa.DataType:
        """The Arrow type a column of database type `db_type` reads as."""
        return T.arrow_type_from_sql(db_type, self.dialect)

    def create_schema(self, schema: str) -> None:
        sql = self.create_schema_sql(schema)
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
            self.create_table_sql(
                table, schema, primary_key, if_not_exists=if_not_exists, staging=staging
            )
        )

    def create_table_sql(
        self,
        table: str | TableRef,
        schema: pa.Schema,
        primary_key: Sequence[str] = (),
        *,
        if_not_exists: bool = False,
        staging: bool = False,
    ) -> str:
        """The CREATE TABLE statement ``create_table`` runs."""
        missing = [k for k in primary_key if k not in schema.names]
        if missing:
            raise ConnectionSpecError(
                f"primary key column(s) {', '.join(missing)} not among the columns "
                f"({', '.join(schema.names)})"
            )
        cols = []
        for f in schema:
            is_key = f.name in primary_key
            null = " NOT NULL" if is_key or not f.nullable else ""
            cols.append(f"{self.quote(f.name)} {self.ddl_type(f.type, key=is_key)}{null}")
        if primary_key:
            cols.append(f"PRIMARY KEY ({', '.join(self.quote(k) for k in primary_key)})")
        exists = "IF NOT EXISTS " if if_not_exists else ""
        options = f" {self.table_options}" if self.table_options else ""
        kind = f"{self.staging_table_kind} " if staging and self.staging_table_kind else ""
        return f"CREATE {kind}TABLE {exists}{self.table_sql(table)} ({', '.join(cols)}){options}"

    def drop_table(self, table: str | TableRef, *, if_exists: bool = True) -> None:
        exists = "IF EXISTS " if if_exists else ""
        self.execute(f"DROP TABLE {exists}{self.table_sql(table)}")

    def add_column_sql(self, table: str | TableRef, name: str, arrow_type: pa.DataType) -> str:
        return (
            f"ALTER TABLE {self.table_sql(table)} ADD COLUMN {self.quote(name)} "
            f"{self.ddl_type(arrow_type)}"
        )

    def create_schema_sql(self, schema: str) -> str | None:
        """The statement that creates `schema` if missing; None where there are no schemas."""
        if self.has_schemas:
            return f"CREATE SCHEMA IF NOT EXISTS {self.quote(schema)}"
        return None

    def same_name(self, a: str, b: str) -> bool:
        return a == b if self.case_sensitive_names else a.lower() == b.lower()

    # -- merge SQL (the engine's statements; dialects override the odd ones) --

    def staging_table(self, module: str, staging_schema: str, dest: TableRef) -> TableRef:
        """Where a module's rows are staged: ``<staging_schema>.<module>``, or, without
        schemas, ``<staging_schema>__<module>`` next to the destination table."""
        if self.has_schemas:
            return TableRef(module, staging_schema)
        return TableRef(f"{staging_schema}__{module}", dest.schema)

    def duplicate_keys(self, table: TableRef, keys: Sequence[str]) -> list[tuple[Any, ...]]:
        """Up to three keys that occur more than once in `table`, each followed by its
        count, most repeated first."""
        cols = ", ".join(self.quote(k) for k in keys)
        return self.query(
            f"SELECT {cols}, COUNT(*) FROM {self.table_sql(table)} "
            f"GROUP BY {cols} HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC LIMIT 3"
        )

    def _key_match(self, left: str, right: str, keys: Sequence[str]) -> str:
        return " AND ".join(f"{left}.{self.quote(k)} = {right}.{self.quote(k)}" for k in keys)

    def clear_table_sql(self, table: TableRef) -> str:
        return f"DELETE FROM {self.table_sql(table)}"

    def delete_matching_sql(self, dest: TableRef, staged: TableRef, keys: Sequence[str]) -> str:
        """Delete the destination rows whose key is in `staged`."""
        return (
            f"DELETE FROM {self.table_sql(dest)} WHERE EXISTS (SELECT 1 FROM "
            f"{self.table_sql(staged)} s WHERE {self._key_match('s', self.table_sql(dest), keys)})"
        )

    def delete_missing_sql(self, dest: TableRef, key_table: TableRef, keys: Sequence[str]) -> str:
        """Delete the destination rows whose key is not in `key_table`."""
        match = self._key_match("k", self.table_sql(dest), keys)
        return (
            f"DELETE FROM {self.table_sql(dest)} WHERE NOT EXISTS (SELECT 1 FROM "
            f"{self.table_sql(key_table)} k WHERE {match})"
        )

    def _insert_head(
        self, dest: TableRef, columns: Sequence[str], extra: dict[str, str]
    ) -> tuple[str, str]:
        names = [self.quote(c) for c in columns] + [self.quote(c) for c in extra]
        values = [f"s.{self.quote(c)}" for c in columns] + list(extra.values())
        return (
            f"INSERT INTO {self.table_sql(dest)} ({', '.join(names)})",
            f"SELECT {', '.join(values)}",
        )

    def insert_sql(
        self, dest: TableRef, staged: TableRef, columns: Sequence[str], extra: dict[str, str]
    ) -> str:
        """Copy every staged row; `extra` maps audit columns to SQL values."""
        head, select = self._insert_head(dest, columns, extra)
        return f"{head} {select} FROM {self.table_sql(staged)} s"

    def insert_new_sql(
        self,
        dest: TableRef,
        staged: TableRef,
        columns: Sequence[str],
        keys: Sequence[str],
        extra: dict[str, str],
    ) -> str:
        """Copy the staged rows whose key is not in the destination yet (insert-only)."""
        head, select = self._insert_head(dest, columns, extra)
        return (
            f"{head} {select} FROM {self.table_sql(staged)} s WHERE NOT EXISTS (SELECT 1 FROM "
            f"{self.table_sql(dest)} d WHERE {self._key_match('d', 's', keys)})"
        )

    def replace_by_key_sql(
        self,
        dest: TableRef,
        staged: TableRef,
        columns: Sequence[str],
        keys: Sequence[str],
        extra: dict[str, str],
    ) -> str | None:
        """One statement that does an incremental merge's delete-and-insert, for a
        destination whose primary key is exactly `keys` and whose every column is
        staged: it writes every staged row, replacing the row of the same key, and
        returns one row with one value, the number of rows replaced. None (the
        default) where the dialect has no such statement: the merge then deletes the
        matching keys and inserts."""
        return None

    def upsert_sql(
        self,
        dest: TableRef,
        staged: TableRef,
        columns: Sequence[str],
        keys: Sequence[str],
        extra: dict[str, str],
    ) -> str:
        """Insert staged rows; a row whose key exists updates it instead."""
        head, select = self._insert_head(dest, columns, extra)
        updates = [c for c in [*columns, *extra] if c not in keys]
        action = (
            "DO UPDATE SET "
            + ", ".join(f"{self.quote(c)} = excluded.{self.quote(c)}" for c in updates)
            if updates
            else "DO NOTHING"
        )
        conflict = ", ".join(self.quote(k) for k in keys)
        # WHERE true: SQLite cannot otherwise tell ON CONFLICT from a join constraint
        return (
            f"{head} {select} FROM {self.table_sql(staged)} s WHERE true "
            f"ON CONFLICT ({conflict}) {action}"
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
        schema = schema or self.default_schema
        rows = self.query(
            "SELECT table_name FROM information_schema.tables "
            f"WHERE table_schema = {self.literal(schema)} ORDER BY table_name"
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
