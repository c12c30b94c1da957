"""MariaDB / MySQL through PyMySQL: streamed reads and ``LOAD DATA LOCAL INFILE`` loads.

PyMySQL is pure Python, so the cost per value is what matters. PyMySQL connects,
sends the query (unbuffered: the server streams, memory stays bounded by the batch)
and reads the column definitions; the rows themselves are taken off its socket and
split into columns with numpy, and ``pyarrow.compute.cast`` turns each column's
text into its type in C (``mysql_fast``). The Arrow schema comes from the result's
field metadata, so it is known before the first row and for empty results.

Loads use ``LOAD DATA LOCAL INFILE`` because it is the only bulk path the server
offers; multi-row INSERTs through PyMySQL are several times slower. Each batch is
rendered to tab-separated text with vectorised Arrow kernels and written to a
temporary file in one call. ``LOAD DATA LOCAL`` turns bad values into warnings
instead of errors whatever the SQL mode, so every batch's warnings are checked
and any of them fails the load: a value is never silently changed.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pymysql
import pymysql.cursors
from pymysql.constants import FIELD_TYPE as F
from pymysql.constants import FLAG

from pipekit.drivers import mysql_fast as fast
from pipekit.drivers import types as T
from pipekit.drivers.base import (
    DEFAULT_BATCH_ROWS,
    Column,
    Driver,
    TableRef,
)
from pipekit.drivers.mysql_dialect import MySQLDialect
from pipekit.errors import ConnectionSpecError, DatabaseError, TerminalDatabaseError

BINARY_CHARSET = 63
# Strict, but without NO_BACKSLASH_ESCAPES: sqlglot's mysql dialect escapes backslashes
# in string literals, so the server must read them the default way.
SQL_MODE = (
    "STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,"
    "NO_ENGINE_SUBSTITUTION"
)
# too many connections, shutting down, lock wait timeout, deadlock, connection killed,
# can't connect, server gone away, connection lost, idle disconnect
TRANSIENT_CODES = frozenset({1040, 1053, 1205, 1213, 1927, 2002, 2003, 2006, 2013, 4031})
URL_OPTIONS = {
    "connect_timeout": int, "read_timeout": int, "write_timeout": int,
    "unix_socket": str, "ssl_ca": str, "ssl_cert": str, "ssl_key": str,
}  # fmt: skip

_INT_BITS = {F.TINY: 8, F.SHORT: 16, F.INT24: 32, F.LONG: 32, F.LONGLONG: 64}
_TEXT_TYPES = {
    F.VARCHAR, F.VAR_STRING, F.STRING, F.ENUM, F.SET,
    F.TINY_BLOB, F.MEDIUM_BLOB, F.LONG_BLOB, F.BLOB, F.GEOMETRY,
}  # fmt: skip
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"), ("\x00", "\\0"))


def field_arrow_type(field: Any) -> pa.DataType:
    """The Arrow type of a result column, from PyMySQL's field descriptor."""
    code, unsigned = field.type_code, bool(field.flags & FLAG.UNSIGNED)
    if code == F.TINY and field.length == 1:
        return pa.bool_()  # tinyint(1) is how MariaDB spells BOOLEAN
    if code in _INT_BITS:
        return getattr(pa, f"{'u' if unsigned else ''}int{_INT_BITS[code]}")()
    if code in (F.DECIMAL, F.NEWDECIMAL):
        # the display length counts the sign and the decimal point
        precision = field.length - (1 if field.scale else 0) - (0 if unsigned else 1)
        return T.decimal_type(precision, field.scale)
    simple: dict[int, pa.DataType] = {
        F.YEAR: pa.int16(),
        F.FLOAT: pa.float32(),
        F.DOUBLE: pa.float64(),
        F.DATE: pa.date32(),
        F.NEWDATE: pa.date32(),
        F.TIME: pa.time64("us"),
        F.DATETIME: pa.timestamp("us"),
        F.TIMESTAMP: pa.timestamp("us", tz=T.TIMESTAMP_TZ),  # the session zone is UTC
        F.JSON: T.JSON,
        F.BIT: pa.bool_() if field.length == 1 else pa.uint64(),
    }
    if code in simple:
        return simple[code]
    if code in _TEXT_TYPES and field.charsetnr == BINARY_CHARSET:
        return pa.binary()
    return pa.string()


def _render(arr: pa.Array, target: pa.DataType, name: str) -> pa.Array:
    """A column as LOAD DATA text: escaped, NULL as \\N, large_binary."""
    if T.is_uuid(arr.type):
        arr = pa.array([None if v is None else str(v) for v in arr.to_pylist()], pa.string())
    elif isinstance(arr, pa.ExtensionArray) and isinstance(arr.type, pa.ExtensionType):
        arr = arr.storage
    # the server validates UUID and JSON text itself
    typ = pa.string() if T.is_uuid(target) or T.is_json(target) else target
    try:
        arr = T.cast_array(arr, typ)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise TerminalDatabaseError(
            f"cannot load column {name!r} ({arr.type}) into a {target} column: {exc}"
        ) from None
    if pa.types.is_boolean(typ):
        arr = pc.if_else(arr, "1", "0")
    elif pa.types.is_timestamp(typ) and typ.tz:
        arr = arr.cast(pa.timestamp(typ.unit))  # UTC wall clock for the UTC session
    if pa.types.is_string(typ) or pa.types.is_binary(typ):
        for old, new in _ESCAPES:
            arr = pc.replace_substring(arr, old, new)
    elif not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    # pyarrow-stubs 20 types fill_null's fill value as an array; pyarrow takes a scalar too
    null = pa.scalar(b"\\N", pa.large_binary())
    return pc.fill_null(arr.cast(pa.large_binary()), null)  # type: ignore[arg-type]


def tsv_buffer(batch: pa.RecordBatch, targets: Sequence[Column]) -> memoryview:
    """`batch` as LOAD DATA's default text format, built without a per-row Python loop."""
    parts = [
        _render(col, c.arrow_type, c.name) for col, c in zip(batch.columns, targets, strict=True)
    ]
    tab, lf, empty = (pa.scalar(v, pa.large_binary()) for v in (b"\t", b"\n", b""))
    # pyarrow-stubs 20 wants every argument of one type; pyarrow mixes arrays and scalars
    rows = pc.binary_join_element_wise(*parts, tab)  # type: ignore[call-overload]
    lines = pc.binary_join_element_wise(rows, lf, empty)
    _, offsets_buf, data = lines.buffers()
    offsets = pa.Array.from_buffers(
        pa.int64(), len(lines) + 1, [None, offsets_buf], 0, lines.offset
    )
    return memoryview(data)[offsets[0].as_py() : offsets[-1].as_py()]


class MySQLDriver(Driver):
    """MariaDB (and MySQL) through PyMySQL.

    A MariaDB "schema" is a database (``MySQLDialect``: ``db.table`` names work,
    the default schema is the connection's database, DDL commits implicitly).
    While ``read`` streams, the connection is busy; use a second driver for other
    statements meanwhile.

    What the wire does not say: PyMySQL receives no extended type info, so MariaDB
    ``UUID``, ``INET6`` and ``JSON`` (a LONGTEXT with a json_valid check) columns read
    as strings (``list_columns`` still reports ``json`` and ``uuid``). Zone-aware
    timestamps are stored as ``DATETIME(6)`` in UTC (``TIMESTAMP`` ends in 2038) and
    read back naive. Decimals beyond DECIMAL(65,38) are stored as text. FLOAT columns
    come over the text protocol with 6 significant digits; DOUBLE is exact.
    """

    kind = MySQLDialect.kind
    dialect: MySQLDialect = MySQLDialect()
    error_types: ClassVar[tuple[type[BaseException], ...]] = (pymysql.err.MySQLError,)

    def _connect_args(self) -> dict[str, Any]:
        u = self.url
        unknown = sorted(set(u.options) - set(URL_OPTIONS))
        if unknown:
            raise ConnectionSpecError(
                f"unknown {self.kind} URL option(s) {', '.join(unknown)} "
                f"(known: {', '.join(URL_OPTIONS)})"
            )
        args: dict[str, Any] = {"connect_timeout": 10}
        args |= {k: URL_OPTIONS[k](v) for k, v in u.options.items()}
        return args | {
            "host": u.host or "localhost",
            "port": u.port or 3306,
            "user": self.user,
            "password": self._password or "",
            "database": u.database,
            "charset": "utf8mb4",
            "autocommit": True,
            "local_infile": True,
        }

    def _open(self) -> None:
        init = f"SET time_zone = '+00:00', sql_mode = '{SQL_MODE}'"
        self._conn = pymysql.connect(**self._connect_args(), init_command=init)
        self._thread_id = self._conn.thread_id()
        database, version = self.query("SELECT DATABASE(), VERSION()")[0]
        self.is_mariadb = "mariadb" in version.lower()
        major_minor = tuple(int(x) for x in re.findall(r"\d+", version)[:2])
        self.dialect = MySQLDialect(
            default_schema=database,
            # the UUID type came in MariaDB 10.7
            native_uuid=self.is_mariadb and major_minor >= (10, 7),
        )

    def _close(self) -> None:
        self._conn.close()

    def server_version(self) -> str:
        return str(self.query("SELECT VERSION()")[0][0])

    def is_transient(self, exc: BaseException) -> bool:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if code in TRANSIENT_CODES:
            return True
        if code is not None and code < 2000:  # a server error code: it said no on purpose
            return False
        return super().is_transient(exc)

    def cancel(self) -> None:
        """Stop the statement this connection is running; safe to call from another thread."""
        with self.errors("cancel"):
            conn = pymysql.connect(**{**self._connect_args(), "database": None})
            try:
                with conn.cursor() as cur:
                    cur.execute(f"KILL QUERY {int(self._thread_id)}")
            except pymysql.err.InternalError as exc:
                if exc.args[0] != 1094:  # unknown thread: nothing runs, nothing to stop
                    raise
            finally:
                conn.close()

    def session(self) -> str | None:
        return str(self._thread_id)

    def end_session(self, session: str) -> bool:
        try:
            with self._conn.cursor() as cur:
                cur.execute(f"KILL CONNECTION {int(session)}")
        except pymysql.err.MySQLError as exc:
            if exc.args[0] == 1094:  # unknown thread: it is gone already
                return False
            raise
        return True

    def execute(self, sql: str) -> None:
        with self.errors("execute"), self._conn.cursor() as cur:
            cur.execute(sql)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with self.errors("query"), self._conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())

    def execute_count(self, sql: str) -> int:
        with self.errors("execute"), self._conn.cursor() as cur:
            return int(cur.execute(sql))

    def declared_types(self, sql: str, *, full: bool = True) -> list[str | None] | None:
        """Each result column's type as MariaDB declares it (``varchar(5)``,
        ``enum('a','b')``, ``int(10) unsigned``): the protocol's column metadata does
        not carry enum values, so an empty temporary table is made from the query and
        its columns read (temporary tables work on a read-only replica too). None
        when the user may not create one (no CREATE TEMPORARY TABLES privilege): the
        columns then land by their Arrow types."""
        probe = f"pipekit_probe_{uuid.uuid4().hex[:12]}"
        inner = sql.strip().rstrip(";")
        try:
            self.execute(f"CREATE TEMPORARY TABLE {probe} AS SELECT * FROM ({inner}\n) q LIMIT 0")
        except DatabaseError:
            return None
        try:
            rows = self.query(f"SHOW COLUMNS FROM {probe}")
        finally:
            self.execute(f"DROP TEMPORARY TABLE IF EXISTS {probe}")
        return [str(r[1]) for r in rows]

    def read(self, sql: str, batch_rows: int = DEFAULT_BATCH_ROWS) -> pa.RecordBatchReader:
        cur = self._conn.cursor(pymysql.cursors.SSCursor)
        with self.errors("read"):
            cur.execute(sql)  # a failed statement leaves nothing to drain
        # PyMySQL keeps the unbuffered result in a private attribute its types omit
        result: Any = cur._result  # type: ignore[attr-defined]
        fields = getattr(result, "fields", None) or []
        types = [field_arrow_type(f) for f in fields]
        schema = pa.schema([pa.field(f.name, t) for f, t in zip(fields, types, strict=True)])
        # the rows come off the socket here, not through PyMySQL's per-row reader
        rows = fast.RowStream(self._conn, result)

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                while fields:
                    with self.errors("read"):
                        raw = rows.next_batch(batch_rows)
                        if raw is None:
                            return
                        try:
                            batch = fast.record_batch(raw, fields, types, schema)
                        except fast.ProtocolError:
                            rows.break_off()  # the rest of the stream cannot be trusted
                            raise
                    del raw  # the packets' bytes go before the consumer gets the batch
                    yield batch
            finally:
                self._finish(cur, rows)

        return pa.RecordBatchReader.from_batches(schema, batches())

    def _finish(self, cur: pymysql.cursors.SSCursor, rows: fast.RowStream) -> None:
        """Close a streaming cursor; one abandoned halfway is killed, not drained to the end."""
        if not rows.done:
            with contextlib.suppress(DatabaseError):  # then draining takes longer
                self.cancel()
            rows.drain()  # up to the interrupted query's error packet
        with contextlib.suppress(pymysql.err.MySQLError):
            cur.close()

    def _load_reader(self, table: TableRef, reader: pa.RecordBatchReader) -> None:
        targets = self.load_targets(table, reader.schema.names)
        names, sets = [], []
        for i, c in enumerate(targets):
            # the file is binary: BIT would store the text's bytes, UUID and (MySQL) JSON
            # refuse binary strings, so those columns go through a variable
            if c.type.lower().startswith("bit"):
                expr = f"CAST(@v{i} AS UNSIGNED)"
            elif T.is_uuid(c.arrow_type) or T.is_json(c.arrow_type):
                expr = f"CONVERT(@v{i} USING utf8mb4)"
            else:
                names.append(self.dialect.quote(c.name))
                continue
            names.append(f"@v{i}")
            sets.append(f"{self.dialect.quote(c.name)} = {expr}")
        tail = f" SET {', '.join(sets)}" if sets else ""
        for batch in reader:
            if batch.num_rows:
                self._load_batch(table, batch, targets, f"({', '.join(names)}){tail}")

    def _load_batch(
        self, table: TableRef, batch: pa.RecordBatch, targets: Sequence[Column], cols: str
    ) -> None:
        fd, path = tempfile.mkstemp(prefix="pipekit-", suffix=".tsv")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(tsv_buffer(batch, targets))
            # CHARACTER SET binary: the bytes go in as written (text is UTF-8 already)
            sql = (
                f"LOAD DATA LOCAL INFILE {self.dialect.literal(path)} "
                f"INTO TABLE {self.dialect.table_sql(table)} "
                "CHARACTER SET binary FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' "
                f"LINES TERMINATED BY '\\n' {cols}"
            )
            with self.errors(f"load into {table}"), self._conn.cursor() as cur:
                cur.execute(sql)
                loaded, warnings = cur.rowcount, []
                if cur.warning_count:
                    cur.execute("SHOW WARNINGS")
                    warnings = list(cur.fetchall())
        finally:
            os.unlink(path)
        if warnings or loaded != batch.num_rows:
            said = "; ".join(f"{lvl} {code}: {msg}" for lvl, code, msg in warnings[:5])
            raise TerminalDatabaseError(
                f"{self.kind} at {self.where()}: load into {table} failed: the server "
                f"took {loaded} of {batch.num_rows} rows"
                + (f" and changed or rejected values ({said})" if said else ""),
                reason=said or None,
            )

    # -- types and DDL ------------------------------------------------------

    # -- introspection -------------------------------------------------------

    def _is_system_schema(self, name: str) -> bool:
        return name in ("information_schema", "mysql", "performance_schema", "sys")

    def table_estimates(self, schema: str | None = None) -> dict[str, int]:
        # table_rows: exact for MyISAM/Aria, InnoDB's estimate; NULL for views
        rows = self.query(
            "SELECT table_name, table_rows FROM information_schema.tables "
            f"WHERE table_schema = {self.dialect.literal(schema or self.dialect.default_schema)} "
            "AND table_rows IS NOT NULL"
        )
        return {name: int(n) for name, n in rows}

    def list_columns(self, table: str | TableRef) -> list[Column]:
        ref = TableRef.parse(table)
        schema = self.dialect.literal(ref.schema or self.dialect.default_schema)
        # MariaDB's JSON is LONGTEXT plus a json_valid() check named after the column
        json_check = (
            "EXISTS (SELECT 1 FROM information_schema.check_constraints k "
            "WHERE k.constraint_schema = c.table_schema AND k.table_name = c.table_name "
            "AND k.check_clause = CONCAT('json_valid(`', c.column_name, '`)'))"
            if self.is_mariadb
            else "0"
        )
        rows = self.query(
            "SELECT c.column_name, c.column_type, c.is_nullable = 'YES', c.column_key = 'PRI', "
            f"{json_check} FROM information_schema.columns c WHERE c.table_schema = {schema} "
            f"AND c.table_name = {self.dialect.literal(ref.name)} ORDER BY c.ordinal_position"
        )
        return [
            Column(name, t, bool(nul), bool(pk), self.dialect.arrow_type(t))
            for name, typ, nul, pk, is_json in rows
            for t in ["json" if is_json else typ]
        ]
