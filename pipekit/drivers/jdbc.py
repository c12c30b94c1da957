"""The JDBC bridge: any database with a JDBC jar, through the JVM in this process.

JPype runs the JVM (``drivers/jvm.py``: one per process, heap bounded by
``jdbc.max_heap``). A ResultSet becomes Arrow inside the JVM, batch by batch, by
jaydebeapiarrow's Java extension (the Arrow project's JDBC adapter), and each
batch crosses to Python through the Arrow C data interface without a copy: a
read holds one batch at a time, and Python never touches a row. Measured against
reading value by value through JPype in ``docs/drivers.md`` ("JDBC sources").

Types are taken from ``ResultSetMetaData`` before the first row, so the schema
is exact and known for an empty result too: DECIMAL/NUMERIC with their precision
and scale (text beyond 76 digits or unconstrained), CHAR/VARCHAR as Unicode text
(the jar converts CCSIDs), DATE, TIMESTAMP to the microsecond (nanoseconds where
the column's scale says so), TIME through its text form (the adapter keeps only
milliseconds), BINARY, BOOLEAN, and NULLs.

What the database says in SQL is the URL's profile (``jdbc_dialect.py``). Loads
(``_load_reader``) bind rows to a prepared INSERT in batches: slow next to the
native kinds' bulk paths, they exist so a JDBC database can be a destination of
small tables and a test can fill a source.

Errors: a Java exception becomes one line (the driver's message, the first line
of its cause chain); the stack trace is logged at DEBUG on ``pipekit.drivers.jdbc``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import suppress
from typing import Any, ClassVar, Self

import jpype
import pyarrow as pa

from pipekit.drivers import jvm
from pipekit.drivers import types as T
from pipekit.drivers.base import DEFAULT_BATCH_ROWS, Column, Driver, TableRef
from pipekit.drivers.jdbc_dialect import JdbcDialect, profile_for
from pipekit.drivers.url import ConnectionURL
from pipekit.errors import DatabaseError, DriverMissingError
from pipekit.files import FilePolicy, check_path

log = logging.getLogger("pipekit.drivers.jdbc")

#: java.sql.Types codes
_BIT, _TINYINT, _SMALLINT, _INTEGER, _BIGINT = -7, -6, 5, 4, -5
_FLOAT, _REAL, _DOUBLE, _NUMERIC, _DECIMAL = 6, 7, 8, 2, 3
_CHAR, _VARCHAR, _LONGVARCHAR, _NCHAR, _NVARCHAR, _LONGNVARCHAR = 1, 12, -1, -15, -9, -16
_CLOB, _NCLOB = 2005, 2011
_DATE, _TIME, _TIMESTAMP, _TIME_TZ, _TIMESTAMP_TZ = 91, 92, 93, 2013, 2014
_BINARY, _VARBINARY, _LONGVARBINARY, _BLOB = -2, -3, -4, 2004
_BOOLEAN, _OTHER, _NULL = 16, 1111, 0

_INTS = {_TINYINT: pa.int16(), _SMALLINT: pa.int16(), _INTEGER: pa.int32(), _BIGINT: pa.int64()}
_TEXT = {_CHAR, _VARCHAR, _LONGVARCHAR, _NCHAR, _NVARCHAR, _LONGNVARCHAR, _CLOB, _NCLOB}
_BYTES = {_BINARY, _VARBINARY, _LONGVARBINARY, _BLOB}
#: type names of the catalog that mean a zone-carrying timestamp
_TZ_NAMES = ("timestamptz", "timestamp with time zone", "datetimeoffset")
#: rows bound per executeBatch of a load
LOAD_BATCH_ROWS = 2_000
#: rows a read fetches per round trip: the jar holds them as Java objects, so more
#: costs heap and peak memory (65,536: 424 MB against 280 MB) and was no faster
FETCH_ROWS = 10_000


def _message(exc: BaseException) -> str:
    """One line for a Java exception: its message, else its cause's, else its class."""
    current: Any = exc
    while current is not None:
        try:
            text = current.getMessage()
        except AttributeError:
            text = str(current)
        if text:
            return " ".join(str(text).split())
        try:
            current = current.getCause()
        except AttributeError:
            current = None
    return type(exc).__name__


class JdbcDriver(Driver):
    """A JDBC connection. `jars` and `driver_class` come from a registered driver
    (``pipekit drivers add``); without them, the jars on the JVM's class path
    (built-in profiles, ``driver_dir``) are asked for the URL."""

    kind = "jdbc"
    #: the generic profile; an instance has its URL's (``profile_for``)
    dialect: JdbcDialect = JdbcDialect()
    error_types: ClassVar[tuple[type[BaseException], ...]] = (jpype.JException,)

    def __init__(
        self,
        url: ConnectionURL,
        user: str | None,
        password: str | None,
        *,
        jars: Sequence[str] = (),
        driver_class: str | None = None,
        files: FilePolicy | None = None,
    ) -> None:
        super().__init__(url, user, password, files)
        self.profile = profile_for(url.options.get("subprotocol"))
        self.dialect = self.profile()
        self.jars = list(jars)
        self.driver_class = driver_class
        self._conn: Any = None
        self._statement: Any = None
        #: columns of the running read that travel as text: name -> their Arrow type
        self._text_types: dict[str, pa.DataType] = {}

    @classmethod
    def connect(
        cls,
        url: ConnectionURL,
        *,
        user: str | None = None,
        password: str | None = None,
        files: FilePolicy | None = None,
        jars: Sequence[str] = (),
        driver_class: str | None = None,
    ) -> Self:
        if url.path is not None:
            # jdbc:derby:/path;create=true and jdbc:hsqldb:file: create and write files:
            # held to the same folders as SQLite and DuckDB files (pipekit.files)
            check_path(url.path, files or FilePolicy())
        missing = [j for j in jars if not _exists(j)]
        if missing:
            raise DriverMissingError(
                f"JDBC driver jar {missing[0]} is missing; put it back or register the "
                "driver again with `pipekit drivers add NAME --jar PATH --class CLASS`"
            )
        jvm.ensure_started(jars)
        driver = cls(url, user, password, jars=jars, driver_class=driver_class, files=files)
        with driver.errors("connect"):
            driver._open()
        return driver

    # -- errors ---------------------------------------------------------------------

    def where(self) -> str:
        return self.url.raw

    def database_error(self, action: str, exc: BaseException) -> DatabaseError:
        log.debug("JDBC %s failed at %s", action, self.where(), exc_info=exc)
        # not every Java exception carries a stack trace
        with suppress(Exception):
            log.debug("Java stack trace:\n%s", exc.stacktrace())  # type: ignore[attr-defined]
        return super().database_error(action, _JavaText(_message(exc)))

    def is_transient(self, exc: BaseException) -> bool:
        text = str(exc).lower()
        return any(
            s in text
            for s in ("connection refused", "timed out", "timeout", "deadlock", "unknownhost")
        ) or super().is_transient(exc)

    # -- lifecycle ------------------------------------------------------------------

    def _open(self) -> None:
        props = jpype.java.util.Properties()
        if self.user:
            props.setProperty("user", self.user)
        if self._password:
            props.setProperty("password", self._password)
        if self.profile.profile == "as400":
            props.setProperty("prompt", "false")  # jt400 would open a sign-on window
        DriverManager = jpype.JClass("java.sql.DriverManager")
        DriverManager.setLoginTimeout(15)
        if self.driver_class:
            try:
                cls = jvm.load_class(self.driver_class, self.jars)
            except jpype.JException as exc:
                where = ", ".join(self.jars) or "the JVM's class path"
                raise DriverMissingError(
                    f"JDBC driver class {self.driver_class} is not in {where} "
                    f"({_message(exc)}); check the class name with the jar's documentation "
                    "and register it again with `pipekit drivers add … --class CLASS`"
                ) from None
            instance = cls.getDeclaredConstructor().newInstance()
            conn = instance.connect(self.url.raw, props)
            if conn is None:
                raise DriverMissingError(
                    f"JDBC driver {self.driver_class} does not accept the URL "
                    f"{self.url.raw}; check the URL's subprotocol"
                )
        else:
            if self.profile.driver_class:
                # JDBC 3 jars (jTDS) register with DriverManager only once loaded
                # not installed: DriverManager says so below
                with suppress(jpype.JException):
                    jpype.JClass("java.lang.Class").forName(self.profile.driver_class)
            try:
                conn = DriverManager.getConnection(self.url.raw, props)
            except jpype.JException as exc:
                if "No suitable driver" not in _message(exc):
                    raise
                sub = self.url.options.get("subprotocol", "?")
                install = (
                    f"install Debian's {self.profile.package} or " if self.profile.package else ""
                )
                raise DriverMissingError(
                    f"no JDBC driver jar for jdbc:{sub}: URLs is installed; {install}register "
                    "the jar with `pipekit drivers add NAME --jar PATH --class CLASS`"
                ) from None
        self._conn = conn

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def server_version(self) -> str:
        with self.errors("server version"):
            md = self._conn.getMetaData()
            return f"{md.getDatabaseProductName()} {md.getDatabaseProductVersion()}"

    def cancel(self) -> None:
        statement = self._statement
        if statement is not None:
            try:
                statement.cancel()
            except Exception:  # the statement may have finished meanwhile
                log.debug("JDBC cancel failed", exc_info=True)

    # -- SQL and transactions --------------------------------------------------------

    def execute(self, sql: str) -> None:
        with self.errors("execute"):
            st = self._conn.createStatement()
            try:
                self._statement = st
                st.execute(sql)
            finally:
                self._statement = None
                st.close()

    def execute_count(self, sql: str) -> int:
        with self.errors("execute"):
            st = self._conn.createStatement()
            try:
                self._statement = st
                return int(st.executeUpdate(sql))
            finally:
                self._statement = None
                st.close()

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        table = self.read(sql).read_all()
        columns = [c.to_pylist() for c in table.columns]
        return list(zip(*columns, strict=True)) if columns else []

    def _begin(self) -> None:
        self._conn.setAutoCommit(False)

    def _commit(self) -> None:
        self._conn.commit()
        self._conn.setAutoCommit(True)

    def _rollback(self) -> None:
        self._conn.rollback()
        self._conn.setAutoCommit(True)

    def create_schema(self, schema: str) -> None:
        if not self.dialect.has_if_exists and schema in self.list_schemas():
            return
        super().create_schema(schema)

    def drop_table(self, table: str | TableRef, *, if_exists: bool = True) -> None:
        if if_exists and not self.dialect.has_if_exists and not self.table_exists(table):
            return
        super().drop_table(table, if_exists=if_exists)

    # -- reading --------------------------------------------------------------------

    def read(self, sql: str, batch_rows: int = DEFAULT_BATCH_ROWS) -> pa.RecordBatchReader:
        JDBCUtils = jpype.JClass("org.jaydebeapiarrow.extension.JDBCUtils")
        own_transaction = not self._in_transaction
        with self.errors("query"):
            if own_transaction:
                # PostgreSQL's jar streams with a fetch size only outside autocommit
                self._conn.setAutoCommit(False)
            statement = self._prepare(sql, batch_rows)
            rs = statement.executeQuery()
            schema, time_columns = self._schema(rs.getMetaData())
            batches = JDBCUtils.convertResultSetToIterator(rs, batch_rows)

        def generate() -> Iterator[pa.RecordBatch]:
            try:
                while True:
                    with self.errors("fetch"):
                        if not batches.hasNext():
                            break
                        root = batches.next()
                        addresses = JDBCUtils.exportNextBatch(root)
                        # pyarrow-stubs want a Schema; pyarrow takes an exported one's address
                        schema_address: Any = int(addresses[1])
                        shared = pa.RecordBatch._import_from_c(int(addresses[0]), schema_address)
                        # Copied out of the JVM's memory at once (a memcpy per batch):
                        # the Java buffers are released here, in a thread the JVM
                        # knows, and never by a batch that outlives the JVM at exit.
                        batch = pa.RecordBatch.from_arrays(
                            [pa.concat_arrays([c]) for c in shared.columns],
                            schema=shared.schema,
                        )
                        del shared
                        root.clear()
                    yield _conform(batch, schema, time_columns)
            finally:
                with self.errors("close result"):
                    batches.close()
                    statement.close()
                    self._statement = None
                    if own_transaction and not self._in_transaction:
                        self._conn.commit()
                        self._conn.setAutoCommit(True)
                jvm.read_done()

        return pa.RecordBatchReader.from_batches(schema, generate())

    def _read_statement(self, sql: str, batch_rows: int) -> Any:
        """A forward-only statement for `sql` that streams `batch_rows`-sized fetches
        (at most FETCH_ROWS per round trip), in binary where the jar can."""
        ResultSet = jpype.JClass("java.sql.ResultSet")
        statement = self._conn.prepareStatement(
            sql, ResultSet.TYPE_FORWARD_ONLY, ResultSet.CONCUR_READ_ONLY
        )
        statement.setFetchSize(min(batch_rows, FETCH_ROWS))
        if self._binary_reads():
            # pgjdbc reads numbers, timestamps and dates in PostgreSQL's binary format
            # only when asked (a negative prepare threshold), and only if the statement
            # was not described before: half the CPU of parsing their text (bench)
            statement.unwrap(jpype.JClass("org.postgresql.PGStatement")).setPrepareThreshold(-1)
        return statement

    def _binary_reads(self) -> bool:
        # a URL that sets prepareThreshold (0 for a transaction-pooling pgbouncer) keeps it
        return self.profile.binary_reads and not any(
            k.lower() == "preparethreshold" for k in self.url.options
        )

    def _prepare(self, sql: str, batch_rows: int) -> Any:
        binary = self._binary_reads()
        # pgjdbc keeps what a describe found per SQL text, and a query described
        # before its first execution is fetched as text: binary reads are described
        # through a statement of their own, whose text differs by a line break.
        if binary:
            statement = self._conn.prepareStatement(sql + "\n")
        else:
            statement = self._read_statement(sql, batch_rows)
        try:
            meta = statement.getMetaData()
        except jpype.JException:  # some drivers describe a statement only once it ran
            meta = None
        self._text_types = {}
        if meta is not None:
            names = [str(meta.getColumnLabel(i)) for i in range(1, meta.getColumnCount() + 1)]
            # Read through their text form, as the Arrow adapter keeps only milliseconds
            # of a TIME and microseconds of a TIMESTAMP: TIMEs, and TIMESTAMPs whose
            # scale holds nanoseconds (parsed back exactly in _conform).
            texts: dict[int, pa.DataType] = {}
            for i in range(1, len(names) + 1):
                code = int(meta.getColumnType(i))
                if code in (_TIME, _TIME_TZ):
                    texts[i] = pa.time64("us")
                elif code == _TIMESTAMP and int(meta.getScale(i)) > 6:
                    type_name = str(meta.getColumnTypeName(i) or "").lower()
                    if type_name not in _TZ_NAMES:
                        texts[i] = pa.timestamp("ns")
            if texts and len(set(names)) == len(names):
                statement.close()
                q = self.dialect.quote
                cols = [
                    f"{self.dialect.time_text_sql('pipekit_t.' + q(n))} AS {q(n)}"
                    if i + 1 in texts
                    else f"pipekit_t.{q(n)}"
                    for i, n in enumerate(names)
                ]
                wrapped = f"SELECT {', '.join(cols)} FROM ({sql}) pipekit_t"
                statement = self._read_statement(wrapped, batch_rows)
                self._text_types = {names[i - 1]: t for i, t in texts.items()}
        if binary and not self._text_types:
            statement.close()
            statement = self._read_statement(sql, batch_rows)
        self._statement = statement
        return statement

    def _schema(self, meta: Any) -> tuple[pa.Schema, set[int]]:
        fields = []
        time_columns: set[int] = set()
        for i in range(1, meta.getColumnCount() + 1):
            name = str(meta.getColumnLabel(i))
            code = int(meta.getColumnType(i))
            type_name = str(meta.getColumnTypeName(i) or "").lower()
            arrow = _arrow_type(code, type_name, int(meta.getPrecision(i)), int(meta.getScale(i)))
            if name in self._text_types:
                arrow = self._text_types[name]
                time_columns.add(i - 1)
            elif code in (_TIME, _TIME_TZ):
                time_columns.add(i - 1)
            nullable = int(meta.isNullable(i)) != 0  # columnNoNulls = 0
            fields.append(pa.field(name, arrow, nullable))
        return pa.schema(fields), time_columns

    # -- the catalog -------------------------------------------------------------------

    def _meta_rows(self, rs: Any, *columns: str) -> list[tuple[Any, ...]]:
        rows = []
        try:
            while rs.next():
                rows.append(tuple(_py(rs.getObject(c)) for c in columns))
        finally:
            rs.close()
        return rows

    def _schema_name(self, schema: str | None) -> str | None:
        return schema or self.dialect.default_schema or self._current_schema()

    def _current_schema(self) -> str | None:
        with self.errors("current schema"):
            try:
                found = self._conn.getSchema()
            except jpype.JException:
                return None
            return str(found) if found is not None else None

    def list_schemas(self) -> list[str]:
        sql = self.dialect.schemas_sql()
        if sql is not None:
            return [str(r[0]).strip() for r in self.query(sql)]
        with self.errors("list schemas"):
            rows = self._meta_rows(self._conn.getMetaData().getSchemas(), "TABLE_SCHEM")
        return sorted(str(r[0]) for r in rows if not _system_schema(str(r[0])))

    def list_tables(self, schema: str | None = None) -> list[str]:
        schema = self._schema_name(schema)
        sql = self.dialect.tables_sql(schema) if schema else None
        if sql is not None:
            return [str(r[0]).strip() for r in self.query(sql)]
        with self.errors("list tables"):
            types = jpype.JArray(jpype.java.lang.String)(["TABLE", "VIEW"])
            rs = self._conn.getMetaData().getTables(None, schema, "%", types)
            rows = self._meta_rows(rs, "TABLE_NAME")
        return sorted(str(r[0]) for r in rows)

    def table_estimates(self, schema: str | None = None) -> dict[str, int]:
        schema = self._schema_name(schema)
        sql = self.dialect.estimates_sql(schema) if schema else None
        if sql is None:
            return {}
        try:
            rows = self.query(sql)
        except DatabaseError:  # a catalog view the user may not read: no estimates
            return {}
        return {str(r[0]).strip(): int(r[1]) for r in rows if r[1] is not None}

    def list_columns(self, table: str | TableRef) -> list[Column]:
        ref = TableRef.parse(table)
        schema = self._schema_name(ref.schema)
        sql = self.dialect.columns_sql(TableRef(ref.name, schema)) if schema else None
        if sql is not None:
            return [
                Column(str(n).strip(), str(t), bool(nl), bool(pk), self.dialect.arrow_type(str(t)))
                for n, t, nl, pk in self.query(sql)
            ]
        with self.errors("list columns"):
            md = self._conn.getMetaData()
            keys = {
                str(r[0])
                for r in self._meta_rows(md.getPrimaryKeys(None, schema, ref.name), "COLUMN_NAME")
            }
            rows = self._meta_rows(
                md.getColumns(None, schema, ref.name, "%"),
                "COLUMN_NAME",
                "DATA_TYPE",
                "TYPE_NAME",
                "COLUMN_SIZE",
                "DECIMAL_DIGITS",
                "NULLABLE",
            )
        out = []
        for name, code, type_name, size, digits, nullable in rows:
            shown = _type_text(str(type_name), int(code), size, digits)
            arrow = _arrow_type(int(code), str(type_name).lower(), int(size or 0), int(digits or 0))
            out.append(Column(str(name), shown, int(nullable) != 0, str(name) in keys, arrow))
        return out

    # -- loading ---------------------------------------------------------------------------

    def _load_reader(self, table: TableRef, reader: pa.RecordBatchReader) -> None:
        targets = self.load_targets(table, reader.schema.names)
        names = ", ".join(self.dialect.quote(c.name) for c in targets)
        marks = ", ".join("?" for _ in targets)
        sql = f"INSERT INTO {self.dialect.table_sql(table)} ({names}) VALUES ({marks})"
        binders = [_binder(c) for c in targets]
        with self.errors("load"):
            statement = self._conn.prepareStatement(sql)
            try:
                pending = 0
                for batch in reader:
                    for row in zip(*(c.to_pylist() for c in batch.columns), strict=True):
                        for i, (bind, value) in enumerate(zip(binders, row, strict=True), 1):
                            bind(statement, i, value)
                        statement.addBatch()
                        pending += 1
                        if pending >= LOAD_BATCH_ROWS:
                            statement.executeBatch()
                            pending = 0
                if pending:
                    statement.executeBatch()
            finally:
                statement.close()


class _JavaText(Exception):
    """A Java exception's one line, for ``Driver.database_error``."""


def _exists(path: str) -> bool:
    import os

    return os.path.isfile(path)


def _system_schema(name: str) -> bool:
    upper = name.upper()
    return upper in (
        "INFORMATION_SCHEMA",
        "PG_CATALOG",
        "SYSTEM_LOBS",
        "NULLID",
        "SQLJ",
    ) or upper.startswith(("SYS", "PG_TOAST", "PG_TEMP"))


def _arrow_type(code: int, type_name: str, precision: int, scale: int) -> pa.DataType:
    """The Arrow type a column of JDBC type `code` reads as (see the module docstring)."""
    if type_name == "uuid":
        return T.UUID
    if code in _INTS:
        return _INTS[code]
    if code in (_BIT, _BOOLEAN) and precision <= 1:
        return pa.bool_()
    if code == _REAL:
        return pa.float32()
    if code in (_FLOAT, _DOUBLE):
        return pa.float64()
    if code in (_NUMERIC, _DECIMAL):
        if 0 < precision <= 76 and 0 <= scale <= precision:
            return T.decimal_type(precision, scale)
        return pa.string()  # unconstrained: exact only as text
    if code == _DATE:
        return pa.date32()
    if code in (_TIME, _TIME_TZ):
        return pa.time64("us")
    if code in (_TIMESTAMP, _TIMESTAMP_TZ):
        tz = T.TIMESTAMP_TZ if code == _TIMESTAMP_TZ or type_name in _TZ_NAMES else None
        return pa.timestamp("ns" if scale > 6 else "us", tz=tz)
    if code in _BYTES:
        return pa.binary()
    if type_name == "uuid":
        return T.UUID
    return pa.string()


def _type_text(type_name: str, code: int, size: Any, digits: Any) -> str:
    """The column's type as the catalog would write it, e.g. ``DECIMAL(15,5)``, ``CHAR(10)``."""
    if code in (_NUMERIC, _DECIMAL) and size:
        return f"{type_name}({int(size)},{int(digits or 0)})"
    if code in (_CHAR, _VARCHAR, _NCHAR, _NVARCHAR) and size and "(" not in type_name:
        return f"{type_name}({int(size)})"
    return type_name


def _conform(batch: pa.RecordBatch, schema: pa.Schema, times: set[int]) -> pa.RecordBatch:
    columns = []
    for i, (column, field) in enumerate(zip(batch.columns, schema, strict=True)):
        if column.type == field.type:
            columns.append(column)
        elif i in times and pa.types.is_string(column.type) and pa.types.is_time(field.type):
            columns.append(_text_to_time(column))
        elif i in times and pa.types.is_string(column.type):
            columns.append(T.cast_array(column, field.type))  # ISO text -> timestamp[ns]
        elif T.is_uuid(field.type):
            values = [_uuid_bytes(v) for v in column.to_pylist()]
            storage = pa.array(values, pa.binary(16))
            columns.append(pa.ExtensionArray.from_storage(T.UUID, storage))
        else:
            columns.append(T.cast_array(column, field.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _uuid_bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    return uuid.UUID(str(value)).bytes


def _text_to_time(column: pa.Array) -> pa.Array:
    import pyarrow.compute as pc

    # HH:MM:SS[.fraction][+zone]: a zone (TIME WITH TIME ZONE) is dropped, the
    # fraction cut to microseconds
    text = pc.replace_substring_regex(column, r"^(\d):", r"0\1:")  # 8:00 -> 08:00
    text = pc.replace_substring_regex(text, r"[+-]\d\d(:?\d\d)?$|Z$", "")
    text = pc.utf8_slice_codeunits(text, 0, 15)
    return T.strings_to_time(text)


def _py(value: Any) -> Any:
    """A catalog cell as a Python value."""
    if value is None:
        return None
    if isinstance(value, jpype.JString):
        return str(value)
    if isinstance(value, jpype.JObject) and hasattr(value, "longValue"):
        return int(value.longValue())
    return value


def _binder(column: Column) -> Any:
    """How a Python value is bound for `column` (by its Arrow type)."""
    target = column.arrow_type
    type_name = column.type.lower()
    Types = jpype.JClass("java.sql.Types")

    def null_type() -> int:
        if pa.types.is_integer(target):
            return int(Types.BIGINT)
        if pa.types.is_floating(target):
            return int(Types.DOUBLE)
        if pa.types.is_decimal(target):
            return int(Types.DECIMAL)
        if pa.types.is_boolean(target):
            return int(Types.BOOLEAN)
        if pa.types.is_date(target):
            return int(Types.DATE)
        if pa.types.is_time(target):
            return int(Types.TIME)
        if pa.types.is_timestamp(target):
            return int(Types.TIMESTAMP_WITH_TIMEZONE if target.tz else Types.TIMESTAMP)
        if pa.types.is_binary(target):
            return int(Types.VARBINARY)
        if T.is_uuid(target) or type_name in ("json", "jsonb"):
            return int(Types.OTHER)
        return int(Types.VARCHAR)

    sql_null = null_type()

    def bind(statement: Any, i: int, value: Any) -> None:
        if value is None:
            statement.setNull(i, sql_null)
        elif isinstance(value, bool):
            statement.setBoolean(i, value)
        elif isinstance(value, int):
            statement.setLong(i, value)
        elif isinstance(value, float):
            statement.setDouble(i, value)
        elif isinstance(value, decimal.Decimal):
            statement.setBigDecimal(i, jpype.JClass("java.math.BigDecimal")(str(value)))
        elif isinstance(value, bytes):
            statement.setBytes(i, jpype.JArray(jpype.JByte)(value))
        elif isinstance(value, uuid.UUID):
            if T.is_uuid(target):
                statement.setObject(i, jpype.JClass("java.util.UUID").fromString(str(value)))
            else:
                statement.setString(i, str(value))
        elif isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                stamp = value.astimezone(dt.UTC).isoformat()
                parsed = jpype.JClass("java.time.OffsetDateTime").parse(stamp)
                statement.setObject(i, parsed)
            else:
                text = value.isoformat(sep=" ")
                statement.setTimestamp(i, jpype.JClass("java.sql.Timestamp").valueOf(text))
        elif isinstance(value, dt.date):
            statement.setDate(i, jpype.JClass("java.sql.Date").valueOf(value.isoformat()))
        elif isinstance(value, dt.time):
            statement.setObject(i, jpype.JClass("java.time.LocalTime").parse(value.isoformat()))
        elif type_name in ("json", "jsonb", "uuid"):
            statement.setObject(i, str(value), int(Types.OTHER))
        else:
            statement.setString(i, str(value))

    return bind
