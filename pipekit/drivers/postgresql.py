"""PostgreSQL through ADBC (libpq): binary COPY for reads and for bulk loads.

ADBC streams a query as ``COPY (query) TO STDOUT (FORMAT binary)`` straight into
Arrow batches, and ``adbc_ingest`` writes Arrow batches with binary
``COPY ... FROM STDIN``; both stay in C, which measured fastest while faithful
(docs/benchmarks.md). ADBC hands ``numeric`` over as text; the typmod in the
field metadata gives precision and scale, and the text is cast to decimal128
exactly; ``inet``/``cidr`` arrive in their binary form and are decoded to text.
Transactions are explicit ``BEGIN``/``COMMIT`` on an autocommit session.

``declared_types`` names a query's column types with their typmods (ADBC keeps only
numeric's) from a psycopg description, so a PostgreSQL destination creates the
same columns (``numeric`` without precision stays ``numeric``) and the binary COPY
between the two passes the bytes on unread.
"""

from __future__ import annotations

import ipaddress
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
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
    SwapInfo,
    TableRef,
    rechunk,
)
from pipekit.drivers.postgresql_dialect import PostgresDialect


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
    if meta.get(b"POSTGRESQL:type") in _ADDRESS_TYPES:
        return pa.field(field.name, pa.string(), True)
    return pa.field(field.name, T.normalize_type(field.type), True)


# inet and cidr reach Arrow in their binary COPY form: family, bits, is_cidr, length,
# address; they travel as PostgreSQL's text form instead (``192.168.0.1/24``).
_ADDRESS_TYPES = (b"inet", b"cidr")


def _address_text(data: bytes | None, cidr: bool) -> str | None:
    if data is None:
        return None
    bits, address = data[1], data[4:]
    ip = ipaddress.ip_address(address)
    if cidr or bits != ip.max_prefixlen:
        return f"{ip}/{bits}"
    return str(ip)


def _text_forms(batch: pa.RecordBatch, fields: Sequence[pa.Field]) -> pa.RecordBatch:
    """`batch` with inet/cidr columns (by the fields' metadata) decoded to text."""
    columns = list(batch.columns)
    changed = False
    for i, f in enumerate(fields):
        typ = (f.metadata or {}).get(b"POSTGRESQL:type")
        if typ in _ADDRESS_TYPES:
            col = columns[i]
            storage = col.storage if isinstance(col, pa.ExtensionArray) else col
            values = [_address_text(v, typ == b"cidr") for v in storage.to_pylist()]
            columns[i] = pa.array(values, pa.string())
            changed = True
    if not changed:
        return batch
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


_TYPE = b"POSTGRESQL:type"
_TYPMOD = b"POSTGRESQL:typmod"
# Types whose binary COPY form is the same in every PostgreSQL database (no OIDs
# inside, unlike arrays, composites and enums), so bytes can pass through unread.
_PASSTHROUGH_TYPES = frozenset(
    [
        "bool",
        "int2",
        "int4",
        "int8",
        "float4",
        "float8",
        "numeric",
        "text",
        "varchar",
        "bpchar",
        "date",
        "time",
        "timetz",
        "timestamp",
        "timestamptz",
        "interval",
        "bytea",
        "uuid",
        "json",
        "jsonb",
        "inet",
        "cidr",
        "macaddr",
    ]
)
_TEXT_TYPES = frozenset({"text", "varchar", "bpchar"})
_COPY_WRITE_BYTES = 1 << 20
#: how often a session checks that its client is still there (client_connection_check_interval)
CLIENT_CHECK_MS = 1000


def _import_psycopg() -> None:
    with suppress(ImportError):  # copy_from's own import then says what is missing
        import psycopg  # noqa: F401


def _type_name(field: pa.Field) -> str | None:
    """A probed field's PostgreSQL type name (``_int4`` as ``int4[]``), numeric with
    its precision and scale when it has them."""
    meta = field.metadata or {}
    name = meta.get(_TYPE, b"").decode()
    if not name:
        return None
    if name == "numeric" and pa.types.is_decimal(field.type):
        return f"numeric({field.type.precision},{field.type.scale})"
    return f"{name[1:]}[]" if name.startswith("_") else name


def _binary_compatible(src: str, src_mod: int, dst: str, dst_mod: int) -> bool:
    """Whether a source column's binary COPY bytes load into the destination column
    exactly as its Arrow values would (the receiving type applies its own typmod)."""
    if src.lstrip("_") not in _PASSTHROUGH_TYPES or dst.lstrip("_") not in _PASSTHROUGH_TYPES:
        return False
    if src in _TEXT_TYPES and dst in _TEXT_TYPES:
        return True
    if src != dst:
        return False
    if src.startswith("_"):
        # an array's bytes name its element type's OID, the same in every database
        # for built-in types (of which _PASSTHROUGH_TYPES holds only some)
        return src[1:] in _PASSTHROUGH_TYPES
    # numeric without a typmod reaches Arrow as text: only an identical column is safe
    return src != "numeric" or dst_mod == src_mod


# What stops a full refresh from replacing the table by a renamed new one: each
# would be lost or broken by the swap, so the run merges through staging instead.
_SWAP_BLOCKERS = (
    "it is not a plain table (relkind {})",
    "it is unlogged or temporary",
    "it is owned by {}, not by the connection's user",
    "it has storage parameters ({})",
    "it lives in a tablespace of its own",
    "it has row-level security",
    "its replica identity is not the default",
    "it takes part in inheritance or partitioning",
    "views or rules depend on it: {}",
    "other objects depend on it: {}",
    "it has constraints besides its primary key and CHECKs: {}",
    "it has indexes besides its primary key: {}",
    "it has triggers: {}",
    "it is in publications: {}",
    "it has policies: {}",
    "columns have defaults, identity, generation or column grants: {}",
    "it has extended statistics: {}",
)
_SWAP_CHECK = """
SELECT NULLIF(c.relkind::text, 'r'), c.relpersistence <> 'p',
  NULLIF(pg_get_userbyid(c.relowner), current_user), array_to_string(c.reloptions, ', '),
  c.reltablespace <> 0, c.relrowsecurity, c.relreplident <> 'd',
  EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = c.oid OR inhparent = c.oid),
  (SELECT string_agg(DISTINCT r.ev_class::regclass::text, ', ') FROM pg_depend d
     JOIN pg_rewrite r ON r.oid = d.objid
     WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = c.oid AND r.ev_class <> c.oid),
  (SELECT string_agg(DISTINCT pg_describe_object(d.classid, d.objid, d.objsubid), ', ')
     FROM pg_depend d WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid
     AND d.deptype = 'n' AND d.classid NOT IN ('pg_rewrite'::regclass, 'pg_constraint'::regclass)),
  (SELECT string_agg(conname, ', ') FROM pg_constraint
     WHERE (conrelid = c.oid AND contype NOT IN ('p', 'c', 'n')) OR confrelid = c.oid),
  (SELECT string_agg(indexrelid::regclass::text, ', ') FROM pg_index
     WHERE indrelid = c.oid AND NOT indisprimary),
  (SELECT string_agg(tgname, ', ') FROM pg_trigger WHERE tgrelid = c.oid AND NOT tgisinternal),
  (SELECT string_agg(p.pubname, ', ') FROM pg_publication_rel pr
     JOIN pg_publication p ON p.oid = pr.prpubid WHERE pr.prrelid = c.oid),
  (SELECT string_agg(polname, ', ') FROM pg_policy WHERE polrelid = c.oid),
  (SELECT string_agg(attname, ', ') FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0
     AND NOT attisdropped AND (atthasdef OR attidentity <> '' OR attgenerated <> ''
     OR attacl IS NOT NULL)),
  (SELECT string_agg(stxname, ', ') FROM pg_statistic_ext WHERE stxrelid = c.oid),
  (SELECT conname FROM pg_constraint WHERE conrelid = c.oid AND contype = 'p'),
  (SELECT array_agg(a.attname ORDER BY k.ord) FROM pg_constraint p
     CROSS JOIN unnest(p.conkey) WITH ORDINALITY k(attnum, ord)
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
     WHERE p.conrelid = c.oid AND p.contype = 'p'),
  obj_description(c.oid, 'pg_class')
FROM pg_class c WHERE c.oid = {oid}
"""
# The table's grants to others (the owner's own come with ownership).
_SWAP_GRANTS = """
SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END,
  a.privilege_type, a.is_grantable
FROM pg_class c CROSS JOIN aclexplode(c.relacl) a
WHERE c.oid = {oid} AND a.grantee <> c.relowner ORDER BY 1, 2
"""


class PostgresDriver(Driver):
    kind = PostgresDialect.kind
    dialect: PostgresDialect = PostgresDialect()
    error_types: ClassVar[tuple[type[BaseException], ...]] = (adbc_driver_manager.Error,)

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
        # one round trip: the session to cancel, and the version the dialect needs
        pid, version, started = self.query(
            "SELECT pg_backend_pid(), current_setting('server_version_num')::int, "
            "(SELECT backend_start::text FROM pg_stat_activity WHERE pid = pg_backend_pid())"
        )[0]
        self._backend_pid = int(pid)
        self._backend_start = started
        self.dialect = PostgresDialect(server_version_num=int(version))
        if int(version) >= 140000:
            # A session whose client died (a killed worker) stops its query within
            # seconds instead of running on and holding its locks (PostgreSQL 14+).
            self.execute(f"SET client_connection_check_interval = '{CLIENT_CHECK_MS}ms'")
        self._side: list[Any] = []  # psycopg sessions of a binary copy in flight

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
        for conn in list(self._side):
            with suppress(Exception):  # it may have finished meanwhile
                conn.cancel_safe(timeout=5)

    def session(self) -> str | None:
        # the start time tells this backend from a later one given the same pid
        return f"{self._backend_pid}@{self._backend_start}"

    def end_session(self, session: str) -> bool:
        pid, _, started = session.partition("@")
        rows = self.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE pid = {int(pid)} AND backend_start::text = {self.dialect.literal(started)}"
        )
        return any(row[0] for row in rows)

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
                            yield T.conform_batch(_text_forms(piece, source.schema), target)
            except OSError as exc:
                # An error after the first batch (division by zero at row 150,000, a
                # cancel) comes through the Arrow C stream as a bare OSError.
                raise self.database_error("read", exc) from None
            finally:
                cur.close()

        return pa.RecordBatchReader.from_batches(target, batches())

    def _load_reader(self, table: TableRef, reader: pa.RecordBatchReader) -> None:
        conformed = self.conformed(table, reader)
        with self.errors(f"load into {table}"):
            self._cur.adbc_ingest(table.name, conformed, mode="append", db_schema_name=table.schema)

    # -- binary COPY passthrough ---------------------------------------------

    def probe(self, sql: str) -> pa.Schema:
        """The result's Arrow schema; each field keeps its PostgreSQL type in metadata."""
        inner = sql.strip().rstrip(";")
        cur = self._conn.cursor()
        try:
            with self.errors("read"):
                cur.execute(f"SELECT * FROM ({inner}\n) pipekit_probe WHERE 1=0")
                reader = cur.fetch_record_batch()
                source = reader.schema
                reader.close()
        finally:
            cur.close()
        fields = []
        for f in source:
            meta = f.metadata or {}
            keep = {k: v for k, v in meta.items() if k in (_TYPE, _TYPMOD)}
            fields.append(_target_field(f).with_metadata(keep))
        return pa.schema(fields)

    def declared_types(self, sql: str, *, full: bool = True) -> list[str | None] | None:
        """Each result column's type as PostgreSQL names it. `full`: with every typmod
        (``varchar(20)``, ``timestamptz(3)``), from a psycopg description (ADBC keeps
        only numeric's), which costs a psycopg import and session; else from the
        ADBC probe's type names (``numeric``, ``numeric(10,2)``, ``int4[]``)."""
        if not full:
            return [_type_name(f) for f in self.probe(sql)]
        import psycopg

        inner = sql.strip().rstrip(";")
        with self._side_connection(autocommit=True) as conn:
            try:
                cur = conn.execute(f"SELECT * FROM ({inner}\n) pipekit_probe WHERE 1=0")
            except psycopg.Error as exc:
                raise self.database_error("read", exc) from None
            return [c.type_display for c in cur.description or []]

    def can_copy_from(self, source: Driver) -> bool:
        return isinstance(source, PostgresDriver)

    def prepare_copy_from(self, source: Driver) -> None:
        # Importing psycopg takes 0.1-0.3 s of CPU; the run spends about that long
        # waiting on the databases (watermarks, probe, staging DDL) before its copy.
        if self.can_copy_from(source) and "psycopg" not in sys.modules:
            threading.Thread(target=_import_psycopg, name="pipekit-import", daemon=True).start()

    def copy_blocker(self, source: Driver, schema: pa.Schema, table: TableRef) -> str | None:
        if not isinstance(source, PostgresDriver):
            return super().copy_blocker(source, schema, table)
        rows = self.query(
            "SELECT a.attname, t.typname, a.atttypmod FROM pg_attribute a "
            "JOIN pg_type t ON t.oid = a.atttypid "
            f"WHERE a.attrelid = {self.dialect.literal(self.dialect.table_sql(table))}::regclass "
            "AND a.attnum > 0 AND NOT a.attisdropped"
        )
        targets = {name: (typname, int(typmod)) for name, typname, typmod in rows}
        for f in schema:
            meta = f.metadata or {}
            src = meta.get(_TYPE, b"?").decode()
            src_mod = int(meta.get(_TYPMOD, b"-1"))
            if f.name not in targets:
                return f"column {f.name} is not in {table}"
            dst, dst_mod = targets[f.name]
            if not _binary_compatible(src, src_mod, dst, dst_mod):
                return f"column {f.name} is {src} at the source and {dst} in {table}"
        return None

    def copy_from(
        self,
        source: Driver,
        sql: str,
        table: TableRef,
        columns: Sequence[str],
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Binary ``COPY … TO STDOUT`` on `source` streamed into ``COPY … FROM STDIN`` here.

        Rows never become Python or Arrow values: the CopyData messages (one per
        row) are gathered into ~1 MB writes. A writer thread (psycopg's
        ``QueuedLibpqWriter``) measured 2-3x slower than this, for the hand-off per
        write. Only for columns whose binary forms agree (``copy_blocker``).
        """
        import psycopg

        assert isinstance(source, PostgresDriver)
        cols = ", ".join(self.dialect.quote(c) for c in columns)
        inner = sql.strip().rstrip(";")
        copy_out = f"COPY (SELECT {cols} FROM ({inner}\n) pipekit_src) TO STDOUT (FORMAT binary)"
        copy_in = f"COPY {self.dialect.table_sql(table)} ({cols}) FROM STDIN (FORMAT binary)"
        messages, at = 0, "read"  # which end an error comes from, for its message
        with source._side_connection(autocommit=True) as sconn, self._side_connection() as dconn:
            try:
                with dconn.cursor() as dcur, sconn.cursor() as scur:
                    with dcur.copy(copy_in) as into:
                        with scur.copy(copy_out) as out:
                            buf = bytearray()
                            for data in out:
                                buf += data
                                messages += 1
                                if len(buf) >= _COPY_WRITE_BYTES:
                                    at = "load"
                                    into.write(buf)
                                    at = "read"
                                    buf = bytearray()
                                    if progress is not None:
                                        progress(messages)
                        at = "load"
                        into.write(buf)
                    rows = int(dcur.rowcount)
                dconn.commit()
            except psycopg.Error as exc:
                if at == "read":
                    raise source.database_error("read", exc) from None
                raise self.database_error(f"load into {table}", exc) from None
        return rows

    @contextmanager
    def count_alongside(self, table: TableRef) -> Iterator[Callable[[], int | None] | None]:
        # The count is a scan of the whole table, the one part of an incremental
        # run that grows with the table rather than with the change. A second
        # session imports this transaction's snapshot and counts on the other core
        # while the merge writes; rows committed by others meanwhile are missed,
        # as they are by a count after the merge when they commit after it.
        if not self.in_transaction:
            yield None
            return
        snapshot = self.query("SELECT pg_export_snapshot()")[0][0]
        sql = self.dialect.count_sql(table)
        found: list[int] = []
        ready = threading.Event()
        side: list[Any] = []

        def count() -> None:
            import psycopg

            try:
                with self._side_connection() as conn:
                    side.append(conn)
                    ready.set()
                    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                    # never wait for a lock: the caller would wait for this count
                    conn.execute("SET LOCAL lock_timeout = '2s'")
                    conn.execute(f"SET TRANSACTION SNAPSHOT {self.dialect.literal(snapshot)}")
                    found.append(int(conn.execute(sql).fetchone()[0]))
                    conn.rollback()
            except Exception:  # counted afterwards instead
                pass
            finally:
                ready.set()

        worker = threading.Thread(target=count, name="pipekit-count", daemon=True)
        worker.start()
        ok = False
        try:

            def result() -> int | None:
                worker.join()
                return found[0] if found else None

            yield result
            ok = True
        finally:
            if not ok:
                ready.wait(10)
                for conn in side:
                    with suppress(Exception):
                        conn.cancel_safe(timeout=5)
            worker.join()

    @contextmanager
    def _side_connection(self, *, autocommit: bool = False) -> Iterator[Any]:
        """A psycopg session next to the ADBC one (ADBC exposes no raw COPY)."""
        import psycopg

        with self.errors("connect"):
            try:
                conn = psycopg.connect(self._uri, autocommit=autocommit)
            except psycopg.Error as exc:
                raise self.database_error("connect", exc) from None
        with suppress(Exception):  # bookkeeping: never what fails the copy
            self._side_session(conn)
        self._side.append(conn)
        try:
            yield conn
        finally:
            self._side.remove(conn)
            conn.close()

    def _side_session(self, conn: Any) -> None:
        """Give a side session what the main one has: the client check, and a report
        to ``on_session`` (a run records it, to end it if its process is killed)."""
        started = conn.execute(
            "SELECT backend_start::text FROM pg_stat_activity WHERE pid = pg_backend_pid()"
        ).fetchone()[0]
        if (self.dialect.server_version_num or 0) >= 140000:
            conn.execute(f"SET client_connection_check_interval = '{CLIENT_CHECK_MS}ms'")
        if not conn.autocommit:
            conn.commit()  # the caller's transaction starts clean (SET TRANSACTION SNAPSHOT)
        if self.on_session is not None:
            self.on_session(f"{conn.info.backend_pid}@{started}")

    # -- full refresh by swap -------------------------------------------------

    def swap_info(self, table: TableRef) -> SwapInfo:
        if not self.table_exists(table):
            # a first load: name the key as CREATE TABLE would, unless that name is taken
            name = f"{table.name}_pkey"
            where = TableRef(name, table.schema or self.dialect.default_schema)
            found = self.query(
                f"SELECT to_regclass({self.dialect.literal(self.dialect.table_sql(where))})"
            )
            free = len(name.encode()) <= 63 and found[0][0] is None
            return SwapInfo([], primary_key_name=name if free else None)
        oid = f"{self.dialect.literal(self.dialect.table_sql(table))}::regclass"
        row = self.query(_SWAP_CHECK.format(oid=oid))[0]
        blockers = [
            text.format(value)
            for text, value in zip(_SWAP_BLOCKERS, row[:-3], strict=True)
            if value not in (None, False, 0, "")
        ]
        pk_name, pk_cols, comment = row[-3:]
        grants = []
        for grantee, privilege, grantable in self.query(_SWAP_GRANTS.format(oid=oid)):
            who = "PUBLIC" if grantee is None else self.dialect.quote(grantee)
            option = " WITH GRANT OPTION" if grantable else ""
            grants.append(f"GRANT {privilege} ON {{table}} TO {who}{option}")
        return SwapInfo(
            blockers,
            primary_key=list(pk_cols or []),
            primary_key_name=pk_name,
            grants=grants,
            comment=comment,
        )

    def list_schemas(self) -> list[str]:
        return [s for s in super().list_schemas() if not s.startswith("pg_")]

    def table_estimates(self, schema: str | None = None) -> dict[str, int]:
        # reltuples is what the last VACUUM/ANALYZE saw; -1: never analysed (no figure)
        rows = self.query(
            "SELECT c.relname, c.reltuples::bigint FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            f"WHERE n.nspname = {self.dialect.literal(schema or self.dialect.default_schema)} "
            "AND c.relkind IN ('r', 'p', 'm', 'f') AND c.reltuples >= 0"
        )
        return {name: int(n) for name, n in rows}

    def list_columns(self, table: str | TableRef) -> list[Column]:
        ref = TableRef.parse(table)
        schema = ref.schema or self.dialect.default_schema
        # A DEFERRABLE primary key is not reported as one: it checks only at commit
        # and cannot be the arbiter of an ON CONFLICT, so the merge treats the table
        # as unkeyed (it groups the staged keys itself and deletes before inserting).
        rows = self.query(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, "
            "COALESCE(a.attnum = ANY(i.indkey), false) "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary AND i.indimmediate "
            f"WHERE n.nspname = {self.dialect.literal(schema)} "
            f"AND c.relname = {self.dialect.literal(ref.name)} "
            "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
        )
        return [
            Column(name, typ, bool(nullable), bool(pk), self.dialect.arrow_type(typ))
            for name, typ, nullable, pk in rows
        ]
