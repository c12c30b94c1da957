"""DuckDB files: Arrow in and out natively, no row conversion at all.

Reads use DuckDB's streaming Arrow reader; loads hand DuckDB a RecordBatchReader
to scan (``INSERT ... SELECT ... FROM reader``), which DuckDB consumes batch by
batch. The session runs with ``TimeZone='UTC'`` and
``arrow_lossless_conversion`` so UUID and JSON keep their Arrow extension types.

Memory: with DuckDB's default ``memory_limit`` (80 % of the machine) what it
holds while it scans an Arrow stream grows with the rows loaded, so a load runs
with ``LOAD_SETTINGS``: one thread and a small ``memory_limit`` past which
DuckDB writes the rows to the file instead. Not into a table with an index (a
primary key): its index must fit in memory when the load commits. For that
reason the tables Pipekit creates here have no primary key (see
``declares_primary_key``). The duplicate-key check's grouping is held to a cap of
its own, in passes over shares of the keys on a large table, and merges that only
insert and delete to a cap that grows with the rows they join
(``capped_memory``); an upsert runs with DuckDB's defaults. A
URL query option of a setting's name sets it for the connection, loads included
(``duckdb:///w.duckdb?memory_limit=2GB&threads=4``).

Containment (``_contain``): SQL on a DuckDB connection runs inside the Pipekit
process, so unless the URL says ``external_access=true`` the connection opens with
``enable_external_access = false``, ``allowed_directories`` from the file policy
(``pipekit.files``: the allowed folders, less any holding a file Pipekit keeps).
DuckDB refuses, while the database is open, to turn external access back on or to
change the allowed folders, so no ``SET`` in a query or hook can undo it. The
configuration is deliberately not locked (``lock_configuration``): the load caps
above are SETs, and bounded memory is worth more than refusing the settings that
remain (``memory_limit``, profiling), which give SQL no file or network access.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, ClassVar

import duckdb
import pyarrow as pa

from pipekit.drivers import types as T
from pipekit.drivers.base import (
    DEFAULT_BATCH_ROWS,
    Column,
    Driver,
    SwapInfo,
    TableRef,
)
from pipekit.drivers.duckdb_dialect import DuckDBDialect
from pipekit.drivers.tables import ColumnDetails
from pipekit.errors import ConnectionSpecError
from pipekit.files import check_path

#: Settings while a load scans an Arrow stream; measured in docs/drivers.md ("DuckDB").
LOAD_SETTINGS: dict[str, str] = {
    # The stream has one producer (the source reader): a second thread only holds
    # more rows in flight, for no speed.
    "threads": "1",
    # Past this the rows go to the database file rather than stay in memory. Not
    # applied to a table with a primary key (see the module docstring). 32 MB rather
    # than 64: a whole 6M-row run peaked at 256-261 MB instead of 291-294, in the
    # same time (docs/drivers.md).
    "memory_limit": "32MB",
}
#: Rows one INSERT of a load scans at most (whole batches; the statements share the
#: load's transaction). DuckDB holds on to the Arrow buffers of the string columns an
#: INSERT scanned until the statement ends, so one INSERT over a whole stream grew
#: with it: a 1M-row file held 55 MB of Arrow memory, 3M rows 123 MB; statements of
#: 64k rows hold ~24 MB at 3M rows, and DuckDB still fills whole row groups
#: (docs/drivers.md, "DuckDB").
LOAD_STATEMENT_ROWS = 65_536
#: Settings of the statements held to a cap: the duplicate-key check's grouping and
#: merges that only insert and delete (``capped_memory``). The grouping needs more
#: room than a load: at 32 MB it ran out on 6M distinct keys.
CAPPED_SETTINGS: dict[str, str] = {"threads": "1", "memory_limit": "64MB"}
#: What a capped merge gets on top of the cap per row of its largest table. DuckDB's
#: hash join does not shrink to any cap either: key_sync's anti-join of 36M keys ran
#: out at 64 MB and passed at 128 and 208 MB (64 + 4 per row), 100M keys at 464 MB.
CAP_BYTES_PER_ROW = 4
#: Distinct keys the duplicate check groups in one pass. DuckDB's aggregate does not
#: shrink to any cap: at 64 MB one grouping of 18M distinct hashes passed and one of
#: 36M ran out, so a larger table is checked in passes, each grouping the keys whose
#: hash falls in its share (8M passed with room to spare, at a lower peak).
DUPLICATE_CHECK_KEYS_PER_PASS = 8_000_000
#: URL query options that are not DuckDB settings
_URL_OPTIONS = {"create", "read_only", "external_access"}
#: settings the containment sets: a URL may not give them unless it lifts it
_CONTAINMENT_SETTINGS = {
    "enable_external_access",
    "allowed_directories",
    "allowed_paths",
    "lock_configuration",
    "autoload_known_extensions",
    "autoinstall_known_extensions",
    "allow_community_extensions",
    "allow_unsigned_extensions",
}
#: settings naming a file or folder DuckDB writes: held to the allowed folders
_PATH_SETTINGS = {
    "temp_directory",
    "log_query_path",
    "profiling_output",
    "extension_directory",
    "secret_directory",
    "home_directory",
}


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def _source_field(field: pa.Field) -> pa.Field:
    t = field.type
    opaque = isinstance(t, pa.BaseExtensionType) and t.extension_name == "arrow.opaque"
    if opaque and "hugeint" in str(t):
        return pa.field(field.name, pa.decimal128(38, 0))
    return pa.field(field.name, T.normalize_type(t))


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    columns = []
    for col, f in zip(batch.columns, schema, strict=True):
        t = col.type
        if isinstance(col, pa.ExtensionArray) and t.extension_name == "arrow.opaque":
            # HUGEINT travels as 16 little-endian bytes: the layout of decimal128(38, 0).
            storage = col.storage
            # (offset by name: the fourth positional argument is null_count)
            col = pa.Array.from_buffers(
                f.type, len(storage), storage.buffers(), offset=storage.offset
            )
        elif pa.types.is_nested(t) and pa.types.is_string(f.type):
            col = _duckdb_text(col)
        columns.append(T.cast_array(col, f.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _statements(reader: pa.RecordBatchReader, rows: int) -> Iterator[pa.RecordBatchReader]:
    """`reader` cut into readers of about `rows` rows each (whole batches), read lazily:
    each reader must be consumed before the next is taken."""
    batches = iter(reader)
    pending = next(batches, None)
    if pending is None:
        yield pa.RecordBatchReader.from_batches(reader.schema, iter(()))
        return
    while pending is not None:
        first = pending

        def part(first: pa.RecordBatch = first) -> Iterator[pa.RecordBatch]:
            nonlocal pending
            taken = first.num_rows
            pending = None
            yield first
            while taken < rows:
                batch = next(batches, None)
                if batch is None:
                    return
                taken += batch.num_rows
                yield batch
            pending = next(batches, None)

        yield pa.RecordBatchReader.from_batches(reader.schema, part())


def _duckdb_text(col: pa.Array) -> pa.Array:
    """A list, struct or map column as DuckDB's own text form of it (``[a, 'b c']``),
    which DuckDB casts back to the same value: a DuckDB destination of the declared
    type gets the values exactly."""
    with duckdb.connect() as con:
        con.register("pipekit_nested", pa.table({"v": col}))
        out = con.execute("SELECT CAST(v AS VARCHAR) FROM pipekit_nested").to_arrow_table()
    return out.column(0).combine_chunks()


class DuckDBDriver(Driver):
    kind = DuckDBDialect.kind
    dialect: DuckDBDialect = DuckDBDialect()
    error_types: ClassVar[tuple[type[BaseException], ...]] = (duckdb.Error,)
    #: cancel() came while a load ran (checked between its statements)
    _load_cancelled = False

    def _open(self) -> None:
        path = self.url.path
        if path is not None:
            check_path(path, self.files)
        create = self.url.options.get("create", "").lower() in ("1", "true", "yes")
        if path is not None and not path.exists() and not create:
            raise ConnectionSpecError(
                f"DuckDB file {path} does not exist; check the path, or add ?create=true "
                "to the URL to create a new database there"
            )
        read_only = self.url.options.get("read_only", "").lower() in ("1", "true", "yes")
        self._external = _flag(self.url.options.get("external_access"))
        given = {k: v for k, v in self.url.options.items() if k not in _URL_OPTIONS}
        for name, value in given.items():
            self._check_option(name, value)
        self._conn = duckdb.connect(str(path) if path else ":memory:", read_only=read_only)
        try:
            if self._contained_already():
                # another connection of this process has the file open and contained it
                # (settings are the database's): this one shares its settings and limits,
                # those its URL names included (the same URL opened twice, as source
                # and destination, say)
                self._refuse_external_when_locked()
            else:
                # GLOBAL: the cursors reads open start from it
                self._conn.execute("SET GLOBAL TimeZone = 'UTC'")
                self._conn.execute("SET GLOBAL arrow_lossless_conversion = true")
                for name, value in given.items():
                    self._set(name, value)
                if not self._external:
                    self._contain()
        except BaseException:
            self._conn.close()
            raise
        # a setting named in the URL is the user's: loads leave it alone
        self._load_settings = {k: v for k, v in LOAD_SETTINGS.items() if k not in given}
        self._capped_settings = {k: v for k, v in CAPPED_SETTINGS.items() if k not in given}

    def _contain(self) -> None:
        """No file, extension or network access from SQL beyond the allowed folders
        (those holding no file Pipekit keeps), and no setting changed afterwards: the
        source query, watermark resolvers, checks and hooks all run on this connection."""
        # not the database file's own folder when no folders are configured: the file
        # may be anywhere then (/root/x.duckdb), and its folder with it
        folders = self.files.sql_directories()
        self._conn.execute("SET allowed_directories = ?", [folders])
        self._conn.execute("SET enable_external_access = false")

    def _contained_already(self) -> bool:
        row = self._conn.execute("SELECT current_setting('enable_external_access')").fetchone()
        return row is not None and not row[0]

    def _refuse_external_when_locked(self) -> None:
        if self._external:
            raise ConnectionSpecError(
                f"DuckDB file {self.url.path} is already open in this process through a "
                "contained connection, so external_access=true cannot apply; use one URL "
                "for the file everywhere"
            )

    def _check_option(self, name: str, value: str) -> None:
        """Refuse URL options that would undo the containment, or point a file outside
        the allowed folders; ``external_access=true`` is the one way to lift it."""
        if not self._external and name.lower() in _CONTAINMENT_SETTINGS:
            raise ConnectionSpecError(
                f"DuckDB URL option {name!r} is set by Pipekit to keep SQL away from the "
                "server's files; add ?external_access=true to the URL to give this "
                "connection's SQL the server's files and network (an admin's decision)"
            )
        if not self._external and name.lower() in _PATH_SETTINGS and value:
            check_path(value, self.files)

    def _set(self, name: str, value: str) -> None:
        known = self._conn.execute(
            "SELECT count(*) FROM duckdb_settings() WHERE name = ?", [name]
        ).fetchone()
        if not known or not known[0]:
            raise ConnectionSpecError(
                f"DuckDB URL option {name!r} is not a DuckDB setting; use one of the names "
                "SELECT name FROM duckdb_settings() lists, or create / read_only"
            )
        try:
            self._conn.execute(f"SET {name} = ?", [value])
        except duckdb.Error as exc:
            raise ConnectionSpecError(
                f"DuckDB URL option {name}={value!r} was refused: {' '.join(str(exc).split())}"
            ) from None

    def _close(self) -> None:
        self._conn.close()

    def server_version(self) -> str:
        return f"DuckDB {duckdb.__version__}"

    def execute(self, sql: str) -> None:
        with self.errors("execute"):
            self._conn.execute(sql)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        # Through Arrow rather than fetchall(): Python rows of TIMESTAMPTZ need pytz.
        with self.errors("query"):
            table = self._conn.execute(sql).to_arrow_table()
        columns = [c.to_pylist() for c in table.columns]
        return list(zip(*columns, strict=True)) if columns else []

    def execute_count(self, sql: str) -> int:
        with self.errors("execute"):
            rows = self._conn.execute(sql).fetchall()
        return int(rows[0][0]) if rows else 0

    def interrupt(self) -> None:
        self._conn.interrupt()

    def cancel(self) -> None:
        self._load_cancelled = True
        self._conn.interrupt()

    def read(self, sql: str, batch_rows: int = DEFAULT_BATCH_ROWS) -> pa.RecordBatchReader:
        # A cursor is its own connection to the same database, so a half-read
        # result never blocks other statements on this driver.
        cur = self._conn.cursor()  # in UTC: the session's TimeZone is set GLOBAL
        with self.errors("read"):
            source = cur.execute(sql).to_arrow_reader(batch_rows)
        target = pa.schema([_source_field(f) for f in source.schema])

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                with self.errors("read"):
                    for batch in source:
                        yield _conform(batch, target)
            finally:
                cur.close()

        return pa.RecordBatchReader.from_batches(target, batches())

    def declared_types(self, sql: str, *, full: bool = True) -> list[str | None] | None:
        """Each result column's DuckDB type (``DECIMAL(18,3)``, ``INTEGER[]``,
        ``STRUCT(a INTEGER)``), from binding the query, which reads no row."""
        cur = self._conn.cursor()
        try:
            with self.errors("read"):
                return [str(t) for t in cur.sql(sql).types]
        finally:
            cur.close()

    def _load_reader(self, table: TableRef, reader: pa.RecordBatchReader) -> None:
        conformed = self.conformed(table, reader)
        schema = conformed.schema
        view = f"pipekit_load_{uuid.uuid4().hex[:12]}"
        cols = ", ".join(self.dialect.quote(n) for n in schema.names)
        settings = dict(self._load_settings)
        if self._indexed(table):
            settings.pop("memory_limit", None)
        target = self.dialect.table_sql(table)
        with self.errors(f"load into {table}"), self._settings(settings):
            # One INSERT per LOAD_STATEMENT_ROWS, inside the load's one transaction: an
            # INSERT keeps every Arrow string buffer it scanned until it ends.
            self._load_cancelled = False
            for part in _statements(conformed, LOAD_STATEMENT_ROWS):
                if self._load_cancelled:
                    # cancelled between two statements, where no interrupt reaches
                    raise duckdb.InterruptException("INTERRUPT Error: the load was cancelled")
                self._conn.register(view, part)
                try:
                    self._conn.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {view}")
                finally:
                    self._conn.unregister(view)

    def _indexed(self, table: TableRef) -> bool:
        """Whether `table` has an ART index (a primary key, a unique constraint or a
        CREATE INDEX): DuckDB must hold it in memory, so a memory cap would fail the
        statement rather than bound it."""
        where = self._where_table(table)
        rows = self.query(
            "SELECT (SELECT count(*) FROM duckdb_constraints() WHERE constraint_type IN "
            f"('PRIMARY KEY', 'UNIQUE') AND {where}) "
            f"+ (SELECT count(*) FROM duckdb_indexes() WHERE {where})"
        )
        return bool(rows[0][0])

    @contextmanager
    def capped_memory(self, tables: Sequence[TableRef]) -> Iterator[None]:
        # At DuckDB's default limit (80 % of the machine) the merge's INSERT of 6M
        # staged rows into the table took the process to 634 MB; capped, it spills
        # to the file. The engine does not cap an upsert: a MERGE INTO that updates
        # 6M rows holds its updates in memory and ran out at 64 MB. Nor is a table
        # with an index capped. With one thread too: each DuckDB thread takes buffers
        # of its own, so on a machine of many cores the cap alone would not hold.
        settings = dict(self._capped_settings)
        if "memory_limit" not in settings or any(self._indexed(t) for t in tables):
            yield
            return
        rows = max((self._estimated_rows(t) for t in tables), default=0)
        base = int(settings["memory_limit"].removesuffix("MB"))
        settings["memory_limit"] = f"{base + rows * CAP_BYTES_PER_ROW // 10**6}MB"
        with self._settings(settings):
            yield

    def _estimated_rows(self, table: TableRef) -> int:
        """The rows DuckDB's catalog counts in `table` (0 if there is no such table)."""
        rows = self.query(
            f"SELECT estimated_size FROM duckdb_tables() WHERE {self._where_table(table)}"
        )
        return int(rows[0][0] or 0) if rows else 0

    @contextmanager
    def _settings(self, settings: dict[str, str]) -> Iterator[None]:
        """`settings` for the statements inside, then the values they had (the
        load settings skip any the URL set). They are the database's, not the
        connection's, so they go through a cursor of their own: a failed statement
        aborts this connection's transaction, and they must be put back even then."""
        if not settings:
            yield
            return
        cur = self._conn.cursor()
        before: dict[str, str] = {}
        try:
            for name, value in settings.items():
                before[name] = cur.execute("SELECT current_setting(?)", [name]).fetchall()[0][0]
                cur.execute(f"SET {name} = ?", [value])
            yield
        finally:
            # Set back by value: a RESET of memory_limit leaves the buffer pool at the
            # lowered limit in DuckDB 1.5 (the setting reads back right, and the next
            # large statement runs out of memory).
            for name, value in before.items():
                with suppress(duckdb.Error):
                    cur.execute(f"SET {name} = ?", [value])
            cur.close()

    def duplicate_keys(self, table: TableRef, keys: Sequence[str]) -> list[tuple[Any, ...]]:
        # Held to the fixed cap (without an index to keep in memory): the passes keep
        # each grouping under it whatever the table's size.
        passes = max(1, -(-self._estimated_rows(table) // DUPLICATE_CHECK_KEYS_PER_PASS))
        found: list[tuple[Any, ...]] = []
        capped = {} if self._indexed(table) else self._capped_settings
        with self._settings(capped):
            for part in range(passes):
                found += self.query(
                    self.dialect.duplicate_keys_sql(table, keys, passes=passes, part=part)
                )
        return sorted(found, key=lambda r: r[-1], reverse=True)[:3]

    # -- full refresh by swap -------------------------------------------------

    def _where_table(self, table: TableRef) -> str:
        schema = self.dialect.literal(table.schema or self.dialect.default_schema)
        return (
            "database_name = current_database() AND schema_name = "
            f"{schema} AND table_name = {self.dialect.literal(table.name)}"
        )

    def swap_info(self, table: TableRef) -> SwapInfo:
        if not self.table_exists(table):
            return SwapInfo([])
        where = self._where_table(table)
        # no temporary-table check: a temporary table belongs to the connection that
        # made it, and Pipekit's own connection never sees another's
        found = self.query(f"SELECT comment FROM duckdb_tables() WHERE {where}")
        if not found:
            return SwapInfo(["it is not a table (a view?)"])
        comment = found[0][0]
        constraints = self.query(
            "SELECT constraint_type, constraint_text, constraint_column_names "
            f"FROM duckdb_constraints() WHERE {where} ORDER BY constraint_index"
        )
        pk = next((list(c[2]) for c in constraints if c[0] == "PRIMARY KEY"), [])
        other = [c[1] for c in constraints if c[0] not in ("PRIMARY KEY", "NOT NULL")]
        schema, name = (
            self.dialect.literal(table.schema or self.dialect.default_schema),
            self.dialect.literal(table.name),
        )
        referencing = self.query(
            "SELECT DISTINCT schema_name || '.' || table_name FROM duckdb_constraints() "
            "WHERE database_name = current_database() AND constraint_type = 'FOREIGN KEY' "
            f"AND referenced_table = {name} AND schema_name = {schema} "
            f"AND NOT ({where})"
        )
        indexes = self.query(f"SELECT index_name FROM duckdb_indexes() WHERE {where}")
        facts = [
            ("it has constraints besides its primary key and NOT NULLs: {}", ", ".join(other)),
            ("foreign keys of other tables refer to it: {}", ", ".join(r[0] for r in referencing)),
            ("it has indexes besides its primary key: {}", ", ".join(r[0] for r in indexes)),
        ]
        blockers = [text.format(value) for text, value in facts if value]
        # what the new table repeats of each column (the dialect has no CREATE … LIKE)
        columns = [
            ColumnDetails(name, bool(nullable), default, note or None)
            for name, nullable, default, note in self.query(
                "SELECT column_name, is_nullable, column_default, comment FROM duckdb_columns() "
                f"WHERE {where} ORDER BY column_index"
            )
        ]
        return SwapInfo(blockers, primary_key=pk, comment=comment, columns=columns)

    def list_schemas(self) -> list[str]:
        rows = self.query(
            "SELECT schema_name FROM information_schema.schemata "
            "WHERE catalog_name = current_database() ORDER BY schema_name"
        )
        return [r[0] for r in rows if r[0] not in ("information_schema", "pg_catalog")]

    def list_tables(self, schema: str | None = None) -> list[str]:
        rows = self.query(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() "
            f"AND table_schema = {self.dialect.literal(schema or self.dialect.default_schema)} "
            "ORDER BY table_name"
        )
        return [r[0] for r in rows]

    def table_estimates(self, schema: str | None = None) -> dict[str, int]:
        rows = self.query(
            "SELECT table_name, estimated_size FROM duckdb_tables() "
            "WHERE database_name = current_database() "
            f"AND schema_name = {self.dialect.literal(schema or self.dialect.default_schema)} "
            "AND estimated_size IS NOT NULL"
        )
        return {name: int(n) for name, n in rows}

    def list_columns(self, table: str | TableRef) -> list[Column]:
        ref = TableRef.parse(table)
        schema = self.dialect.literal(ref.schema or self.dialect.default_schema)
        name = self.dialect.literal(ref.name)
        keys = self.query(
            "SELECT constraint_column_names FROM duckdb_constraints() "
            f"WHERE database_name = current_database() AND schema_name = {schema} "
            f"AND table_name = {name} AND constraint_type = 'PRIMARY KEY'"
        )
        pk = set(keys[0][0]) if keys else set()
        rows = self.query(
            "SELECT column_name, data_type, is_nullable FROM duckdb_columns() "
            f"WHERE database_name = current_database() AND schema_name = {schema} "
            f"AND table_name = {name} ORDER BY column_index"
        )
        return [
            Column(col, typ, bool(nullable), col in pk, self.dialect.arrow_type(typ))
            for col, typ, nullable in rows
        ]
