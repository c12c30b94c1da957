"""Dialect profiles of the JDBC bridge, chosen by the URL's subprotocol.

A ``jdbc:<subprotocol>:…`` URL may reach any database with a JDBC jar; what it
says in SQL depends on that database, so each profile here is a ``Dialect``:
quoting, the limit syntax (``FETCH FIRST n ROWS ONLY``, ``TOP n``, ``LIMIT n``),
literal forms for watermarks, RTRIM of fixed-width text, the DDL types, and the
catalog queries ``pipekit browse`` runs (row estimates everywhere the database
keeps them; schemas, tables, columns and keys where its catalog is better than
JDBC's ``DatabaseMetaData``, which the generic profile and the others use).

========== ================================ ==================== ===========
profile    subprotocols                     sqlglot rendering    limit
========== ================================ ==================== ===========
as400      ``as400`` (DB2 for i, jt400)     ANSI                 FETCH FIRST
db2        ``db2`` (DB2 LUW)                ANSI                 FETCH FIRST
derby      ``derby``                        ANSI                 FETCH FIRST
sqlserver  ``sqlserver``, ``jtds``          tsql (mssql_dialect) TOP
oracle     ``oracle``                       oracle               FETCH FIRST
postgresql ``postgresql``                   postgres             LIMIT
hsqldb     ``hsqldb``                       ANSI                 LIMIT
generic    anything else                    ANSI                 FETCH FIRST
========== ================================ ==================== ===========

sqlglot has no DB2, Derby or HSQLDB dialect; they render standard SQL through
sqlglot's default one, with their differences here. Each profile also names the
driver class and the Debian package holding its jar (``builtin_jars``), so a
connection works without ``pipekit drivers add`` where that package is installed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import ClassVar

import pyarrow as pa
from sqlglot import exp

from pipekit.drivers.dialect import Dialect
from pipekit.drivers.mssql_dialect import MssqlDialect
from pipekit.drivers.postgresql_dialect import PostgresDialect
from pipekit.drivers.tables import TableRef

#: where Debian's packages put JDBC jars
JAVA_SHARE = "/usr/share/java"

_ANSI_TYPES: dict[str, str] = {
    "int8": "SMALLINT", "int16": "SMALLINT", "int32": "INTEGER", "int64": "BIGINT",
    "uint8": "SMALLINT", "uint16": "INTEGER", "uint32": "BIGINT", "uint64": "DECIMAL(20,0)",
    "halffloat": "REAL", "float": "REAL", "double": "DOUBLE PRECISION",
    "decimal": "DECIMAL({precision},{scale})", "bool": "BOOLEAN",
    "string": "VARCHAR(32000)", "binary": "VARBINARY(32000)",
    "null": "VARCHAR(32000)", "nested": "VARCHAR(32000)",
    "date": "DATE", "time": "TIME", "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMP WITH TIME ZONE", "uuid": "CHAR(36)", "json": "VARCHAR(32000)",
}  # fmt: skip
_KEY_TYPES = {"string": "VARCHAR(255)", "binary": "VARBINARY(255)", "json": "VARCHAR(255)"}


class JdbcDialect(Dialect):
    """The generic profile: standard SQL, structure read through ``DatabaseMetaData``."""

    kind = "jdbc"
    profile: ClassVar[str] = "generic"
    subprotocols: ClassVar[tuple[str, ...]] = ()
    #: the JDBC driver class, where the profile knows the usual one
    driver_class: ClassVar[str | None] = None
    #: jars under /usr/share/java that hold it, and the Debian package installing them
    jars: ClassVar[tuple[str, ...]] = ()
    package: ClassVar[str | None] = None
    #: ``fetch`` (FETCH FIRST n ROWS ONLY), ``top`` (SELECT TOP n) or ``limit`` (LIMIT n)
    limit_style: ClassVar[str] = "fetch"
    #: DROP TABLE IF EXISTS / CREATE TABLE IF NOT EXISTS are understood
    has_if_exists: ClassVar[bool] = False
    #: the text type a TIME value is read through (the Arrow JDBC adapter reads TIME
    #: to the millisecond only, so TIME columns travel as text and are parsed back)
    time_text_type: ClassVar[str] = "VARCHAR(32)"
    #: the jar reads values in binary when a statement asks for it (pgjdbc's
    #: ``setPrepareThreshold(-1)``), which the bridge then does for reads
    binary_reads: ClassVar[bool] = False
    ddl_types: ClassVar[dict[str, str]] = _ANSI_TYPES
    key_ddl_types: ClassVar[dict[str, str]] = _KEY_TYPES
    declares_primary_key = True
    folds_to_upper = True

    def __repr__(self) -> str:
        return f"{type(self).__name__}(profile={self.profile!r})"

    # -- rows -------------------------------------------------------------------

    def limit_sql(self, sql: str, rows: int) -> str:
        """At most `rows` rows of `sql`, in the profile's syntax."""
        n = int(rows)
        if self.limit_style == "top":
            return f"SELECT TOP {n} * FROM ({sql}) pipekit_q"
        if self.limit_style == "limit":
            return f"SELECT * FROM ({sql}) pipekit_q LIMIT {n}"
        return f"SELECT * FROM ({sql}) pipekit_q FETCH FIRST {n} ROWS ONLY"

    def rtrim_sql(self, expression: str) -> str:
        """`expression` (fixed-width text) without its trailing blanks."""
        return f"RTRIM({expression})"

    def time_text_sql(self, expression: str) -> str:
        """`expression`, a TIME, as ``HH:MM:SS[.ffffff]`` text."""
        return f"CAST({expression} AS {self.time_text_type})"

    def duplicate_keys_sql(self, table: TableRef, keys: Sequence[str]) -> str:
        cols = ", ".join(self.quote(k) for k in keys)
        inner = (
            f"SELECT {cols}, COUNT(*) AS pipekit_n FROM {self.table_sql(table)} "
            f"GROUP BY {cols} HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC"
        )
        return self.limit_sql(inner, 3)

    # -- DDL ----------------------------------------------------------------------

    def create_schema_sql(self, schema: str) -> str | None:
        # no IF NOT EXISTS in DB2/Derby: the client checks the catalog first
        exists = "IF NOT EXISTS " if self.has_if_exists else ""
        return f"CREATE SCHEMA {exists}{self.quote(schema)}"

    def create_table_sql(
        self,
        table: str | TableRef,
        schema: pa.Schema,
        primary_key: Sequence[str] = (),
        *,
        if_not_exists: bool = False,
        staging: bool = False,
    ) -> str:
        return super().create_table_sql(
            table,
            schema,
            primary_key,
            if_not_exists=if_not_exists and self.has_if_exists,
            staging=staging,
        )

    def drop_table_sql(self, table: str | TableRef, *, if_exists: bool = True) -> str:
        return super().drop_table_sql(table, if_exists=if_exists and self.has_if_exists)

    def upsert_sql(
        self,
        dest: TableRef,
        staged: TableRef,
        columns: Sequence[str],
        keys: Sequence[str],
        extra: dict[str, str],
    ) -> str:
        # SQL:2003 MERGE, which DB2, Derby, HSQLDB and Oracle all run
        names = [*columns, *extra]
        values = [f"s.{self.quote(c)}" for c in columns] + list(extra.values())
        sets = [f"{self.quote(c)} = s.{self.quote(c)}" for c in columns if c not in keys]
        sets += [f"{self.quote(c)} = {v}" for c, v in extra.items()]
        matched = f" WHEN MATCHED THEN UPDATE SET {', '.join(sets)}" if sets else ""
        return (
            f"MERGE INTO {self.table_sql(dest)} d USING {self.table_sql(staged)} s "
            f"ON ({self._key_match('d', 's', keys)}){matched} WHEN NOT MATCHED THEN "
            f"INSERT ({', '.join(self.quote(n) for n in names)}) VALUES ({', '.join(values)})"
        )

    # -- the catalog: None means "ask DatabaseMetaData" -----------------------------

    def schemas_sql(self) -> str | None:
        return None

    def tables_sql(self, schema: str) -> str | None:
        return None

    def columns_sql(self, table: TableRef) -> str | None:
        """Rows of (name, type with its arguments, nullable, primary key)."""
        return None

    def estimates_sql(self, schema: str) -> str | None:
        """Rows of (table, estimated rows); None where the catalog keeps no figure."""
        return None


class As400Dialect(JdbcDialect):
    """IBM DB2 for i (AS/400, iSeries) through IBM's jt400 (``jdbc:as400://host``).

    Names such as ``DCORD#`` or ``@ADDR`` are ordinary identifiers there, stored in
    upper case: quoted in upper case they name the same column. Files are
    fixed-width CHAR in a CCSID the jar converts to Unicode; propose trims them.
    """

    profile = "as400"
    subprotocols = ("as400",)
    driver_class = "com.ibm.as400.access.AS400JDBCDriver"
    jars = ("jt400.jar",)
    package = "libjt400-java"
    ddl_types: ClassVar[dict[str, str]] = {
        **_ANSI_TYPES,
        "bool": "SMALLINT",  # BOOLEAN only from IBM i 7.5
        "string": "VARCHAR(32000) CCSID 1208",  # UTF-8, whatever the job's CCSID
        "binary": "VARBINARY(32000)",
        "timestamptz": "TIMESTAMP",  # no zone-carrying type: stored in UTC
        "double": "DOUBLE",
        "decimal": "DECIMAL({precision},{scale})",
    }

    def ddl_type(self, arrow_type: pa.DataType, *, key: bool = False) -> str:
        if pa.types.is_decimal(arrow_type) and arrow_type.precision > 63:
            return super().ddl_type(pa.string(), key=key)  # beyond DECIMAL(63): as text
        return super().ddl_type(arrow_type, key=key)

    def schemas_sql(self) -> str:
        return (
            "SELECT SCHEMA_NAME FROM QSYS2.SYSSCHEMAS "
            "WHERE SCHEMA_NAME NOT LIKE 'Q%' AND SCHEMA_NAME NOT LIKE 'SYS%' ORDER BY SCHEMA_NAME"
        )

    def tables_sql(self, schema: str) -> str:
        # T table, P physical file, V view, L logical file
        return (
            "SELECT TABLE_NAME FROM QSYS2.SYSTABLES "
            f"WHERE TABLE_SCHEMA = {self.literal(schema)} AND TABLE_TYPE IN ('T', 'P', 'V', 'L') "
            "ORDER BY TABLE_NAME"
        )

    def columns_sql(self, table: TableRef) -> str:
        schema = self.literal(table.schema or "")
        name = self.literal(table.name)
        return (
            "SELECT c.COLUMN_NAME, TRIM(c.DATA_TYPE) || CASE "
            "WHEN c.DATA_TYPE IN ('DECIMAL', 'NUMERIC') THEN '(' || c.NUMERIC_PRECISION || ',' "
            "|| c.NUMERIC_SCALE || ')' "
            "WHEN c.DATA_TYPE IN ('CHAR', 'VARCHAR', 'GRAPHIC', 'VARGRAPHIC', 'BINARY', "
            "'VARBINARY') THEN '(' || c.LENGTH || ')' ELSE '' END, "
            "CASE WHEN c.IS_NULLABLE = 'Y' THEN 1 ELSE 0 END, "
            "CASE WHEN k.COLUMN_NAME IS NULL THEN 0 ELSE 1 END "
            "FROM QSYS2.SYSCOLUMNS c LEFT JOIN (SELECT kc.COLUMN_NAME FROM QSYS2.SYSKEYCST kc "
            "JOIN QSYS2.SYSCST cst ON cst.CONSTRAINT_SCHEMA = kc.CONSTRAINT_SCHEMA "
            "AND cst.CONSTRAINT_NAME = kc.CONSTRAINT_NAME "
            f"WHERE cst.CONSTRAINT_TYPE = 'PRIMARY KEY' AND cst.TABLE_SCHEMA = {schema} "
            f"AND cst.TABLE_NAME = {name}) k ON k.COLUMN_NAME = c.COLUMN_NAME "
            f"WHERE c.TABLE_SCHEMA = {schema} AND c.TABLE_NAME = {name} "
            "ORDER BY c.ORDINAL_POSITION"
        )

    def estimates_sql(self, schema: str) -> str:
        return (
            "SELECT TABLE_NAME, NUMBER_ROWS FROM QSYS2.SYSTABLESTAT "
            f"WHERE TABLE_SCHEMA = {self.literal(schema)}"
        )


class Db2Dialect(JdbcDialect):
    """IBM DB2 for Linux, Unix and Windows (``jdbc:db2://host:50000/db``, IBM's jcc jar)."""

    profile = "db2"
    subprotocols = ("db2",)
    driver_class = "com.ibm.db2.jcc.DB2Driver"
    ddl_types: ClassVar[dict[str, str]] = {
        **_ANSI_TYPES,
        "double": "DOUBLE",
        "string": "VARCHAR(32000)",
        "binary": "VARBINARY(32000)",
        "timestamp": "TIMESTAMP(6)",
        "timestamptz": "TIMESTAMP(6)",  # no zone-carrying type: stored in UTC
        "time": "TIME",
    }

    def ddl_type(self, arrow_type: pa.DataType, *, key: bool = False) -> str:
        if pa.types.is_decimal(arrow_type) and arrow_type.precision > 31:
            return super().ddl_type(pa.string(), key=key)  # beyond DECIMAL(31): as text
        return super().ddl_type(arrow_type, key=key)

    def schemas_sql(self) -> str | None:
        return (
            "SELECT SCHEMANAME FROM SYSCAT.SCHEMATA WHERE SCHEMANAME NOT LIKE 'SYS%' "
            "AND SCHEMANAME NOT IN ('NULLID', 'SQLJ') ORDER BY SCHEMANAME"
        )

    def tables_sql(self, schema: str) -> str | None:
        return (
            f"SELECT TABNAME FROM SYSCAT.TABLES WHERE TABSCHEMA = {self.literal(schema)} "
            "AND TYPE IN ('T', 'V') ORDER BY TABNAME"
        )

    def columns_sql(self, table: TableRef) -> str | None:
        schema = self.literal(table.schema or "")
        name = self.literal(table.name)
        return (
            "SELECT c.COLNAME, RTRIM(c.TYPENAME) || CASE "
            "WHEN c.TYPENAME = 'DECIMAL' THEN '(' || c.LENGTH || ',' || c.SCALE || ')' "
            "WHEN c.TYPENAME IN ('CHARACTER', 'VARCHAR') THEN '(' || c.LENGTH || ')' "
            "ELSE '' END, CASE WHEN c.NULLS = 'Y' THEN 1 ELSE 0 END, "
            "CASE WHEN c.KEYSEQ IS NULL THEN 0 ELSE 1 END "
            f"FROM SYSCAT.COLUMNS c WHERE c.TABSCHEMA = {schema} AND c.TABNAME = {name} "
            "ORDER BY c.COLNO"
        )

    def estimates_sql(self, schema: str) -> str | None:
        # CARD is -1 until RUNSTATS has run
        return (
            f"SELECT TABNAME, CARD FROM SYSCAT.TABLES WHERE TABSCHEMA = {self.literal(schema)} "
            "AND TYPE = 'T' AND CARD >= 0"
        )


class DerbyDialect(Db2Dialect):
    """Apache Derby (``jdbc:derby://host:1527/db`` network server, ``jdbc:derby:/path``
    embedded): the DB2 family's SQL, with its own catalog (``SYS.*``)."""

    profile = "derby"
    subprotocols = ("derby",)
    driver_class = "org.apache.derby.jdbc.ClientDriver"
    jars = ("derbyclient.jar", "derby.jar", "derbyshared.jar", "derbytools.jar")
    package = "libderbyclient-java libderby-java"
    ddl_types: ClassVar[dict[str, str]] = {
        **Db2Dialect.ddl_types,
        "string": "VARCHAR(32672)",
        "null": "VARCHAR(32672)",
        "nested": "VARCHAR(32672)",
        "json": "VARCHAR(32672)",
        "binary": "BLOB",
        "timestamp": "TIMESTAMP",  # Derby's TIMESTAMP holds nanoseconds
        "timestamptz": "TIMESTAMP",
    }
    key_ddl_types: ClassVar[dict[str, str]] = {
        **_KEY_TYPES,
        "binary": "VARCHAR(255) FOR BIT DATA",
    }

    def schemas_sql(self) -> None:
        return None  # DatabaseMetaData reads Derby's catalog well

    def tables_sql(self, schema: str) -> None:
        return None

    def columns_sql(self, table: TableRef) -> None:
        return None

    def estimates_sql(self, schema: str) -> None:
        return None  # Derby keeps no row counts in its catalog


class SqlServerJdbcDialect(MssqlDialect, JdbcDialect):
    """SQL Server through Microsoft's jar (``jdbc:sqlserver://host;databaseName=db``)
    or jTDS (``jdbc:jtds:sqlserver://host/db``): T-SQL, as the native kind."""

    kind = "jdbc"
    profile = "sqlserver"
    folds_to_upper = False
    subprotocols: ClassVar[tuple[str, ...]] = ("sqlserver", "jtds")
    driver_class = "com.microsoft.sqlserver.jdbc.SQLServerDriver"
    limit_style = "top"
    has_if_exists = True  # from SQL Server 2016
    time_text_type = "VARCHAR(16)"


class JtdsDialect(SqlServerJdbcDialect):
    """SQL Server (and Sybase) through jTDS, from Debian's ``libjtds-java``."""

    profile = "jtds"
    subprotocols = ("jtds",)
    driver_class = "net.sourceforge.jtds.jdbc.Driver"
    jars = ("jtds.jar",)
    package = "libjtds-java"


class OracleDialect(JdbcDialect):
    """Oracle Database 12c and later (``jdbc:oracle:thin:@//host:1521/service``)."""

    profile = "oracle"
    subprotocols = ("oracle",)
    driver_class = "oracle.jdbc.OracleDriver"
    sqlglot = "oracle"
    ddl_types: ClassVar[dict[str, str]] = {
        **_ANSI_TYPES,
        "int8": "NUMBER(3)", "int16": "NUMBER(5)", "int32": "NUMBER(10)", "int64": "NUMBER(19)",
        "uint8": "NUMBER(3)", "uint16": "NUMBER(5)", "uint32": "NUMBER(10)",
        "uint64": "NUMBER(20)", "halffloat": "BINARY_FLOAT", "float": "BINARY_FLOAT",
        "double": "BINARY_DOUBLE", "decimal": "NUMBER({precision},{scale})",
        "bool": "NUMBER(1)", "string": "CLOB", "binary": "BLOB", "null": "CLOB",
        "nested": "CLOB", "json": "CLOB", "uuid": "RAW(16)", "time": "VARCHAR2(15)",
        "timestamp": "TIMESTAMP(6)", "timestamptz": "TIMESTAMP(6) WITH TIME ZONE",
    }  # fmt: skip
    key_ddl_types: ClassVar[dict[str, str]] = {
        "string": "VARCHAR2(1000)", "binary": "RAW(2000)", "json": "VARCHAR2(1000)",
    }  # fmt: skip
    time_text_type = "VARCHAR2(32)"

    def _cast_literal(self, text: str, arrow_type: pa.DataType) -> exp.Expression:
        # CAST('…' AS TIMESTAMP) reads the text by the session's NLS format; the ANSI
        # literals DATE '…' and TIMESTAMP '…' do not depend on it
        if pa.types.is_date(arrow_type):
            return exp.Var(this=f"DATE {exp.Literal.string(text).sql(dialect='oracle')}")
        if pa.types.is_timestamp(arrow_type):
            return exp.Var(this=f"TIMESTAMP {exp.Literal.string(text).sql(dialect='oracle')}")
        return super()._cast_literal(text, arrow_type)

    def ddl_type(self, arrow_type: pa.DataType, *, key: bool = False) -> str:
        if pa.types.is_decimal(arrow_type) and arrow_type.precision > 38:
            return super().ddl_type(pa.string(), key=key)
        return super().ddl_type(arrow_type, key=key)

    def schemas_sql(self) -> str:
        return "SELECT USERNAME FROM ALL_USERS WHERE ORACLE_MAINTAINED = 'N' ORDER BY USERNAME"

    def tables_sql(self, schema: str) -> str:
        owner = self.literal(schema)
        return (
            f"SELECT TABLE_NAME FROM ALL_TABLES WHERE OWNER = {owner} UNION "
            f"SELECT VIEW_NAME FROM ALL_VIEWS WHERE OWNER = {owner} ORDER BY 1"
        )

    def columns_sql(self, table: TableRef) -> str:
        owner = self.literal(table.schema or "")
        name = self.literal(table.name)
        return (
            "SELECT c.COLUMN_NAME, c.DATA_TYPE || CASE "
            "WHEN c.DATA_TYPE = 'NUMBER' AND c.DATA_PRECISION IS NOT NULL THEN '(' "
            "|| c.DATA_PRECISION || ',' || c.DATA_SCALE || ')' "
            "WHEN c.DATA_TYPE IN ('CHAR', 'NCHAR', 'VARCHAR2', 'NVARCHAR2', 'RAW') "
            "THEN '(' || c.CHAR_LENGTH || ')' ELSE '' END, "
            "CASE WHEN c.NULLABLE = 'Y' THEN 1 ELSE 0 END, "
            "CASE WHEN k.COLUMN_NAME IS NULL THEN 0 ELSE 1 END "
            "FROM ALL_TAB_COLUMNS c LEFT JOIN (SELECT cc.COLUMN_NAME FROM ALL_CONSTRAINTS ac "
            "JOIN ALL_CONS_COLUMNS cc ON cc.OWNER = ac.OWNER "
            "AND cc.CONSTRAINT_NAME = ac.CONSTRAINT_NAME "
            f"WHERE ac.CONSTRAINT_TYPE = 'P' AND ac.OWNER = {owner} AND ac.TABLE_NAME = {name}) k "
            f"ON k.COLUMN_NAME = c.COLUMN_NAME WHERE c.OWNER = {owner} AND c.TABLE_NAME = {name} "
            "ORDER BY c.COLUMN_ID"
        )

    def estimates_sql(self, schema: str) -> str:
        return (
            f"SELECT TABLE_NAME, NUM_ROWS FROM ALL_TABLES WHERE OWNER = {self.literal(schema)} "
            "AND NUM_ROWS IS NOT NULL"
        )


class PostgresJdbcDialect(PostgresDialect, JdbcDialect):
    """PostgreSQL through its JDBC jar (``jdbc:postgresql://host:5432/db``)."""

    kind = "jdbc"
    profile = "postgresql"
    folds_to_upper = False
    subprotocols = ("postgresql",)
    driver_class = "org.postgresql.Driver"
    jars = ("postgresql.jar",)
    package = "libpostgresql-jdbc-java"
    limit_style = "limit"
    has_if_exists = True
    swap_full_refresh = False  # the swap reads pg_catalog through the native client only
    time_text_type = "text"
    binary_reads = True

    def upsert_sql(
        self,
        dest: TableRef,
        staged: TableRef,
        columns: Sequence[str],
        keys: Sequence[str],
        extra: dict[str, str],
    ) -> str:
        return Dialect.upsert_sql(self, dest, staged, columns, keys, extra)

    def estimates_sql(self, schema: str) -> str:
        return (
            "SELECT c.relname, c.reltuples::bigint FROM pg_class c JOIN pg_namespace n "
            f"ON n.oid = c.relnamespace WHERE n.nspname = {self.literal(schema)} "
            "AND c.relkind IN ('r', 'p') AND c.reltuples >= 0"
        )


class HsqldbDialect(JdbcDialect):
    """HyperSQL (``jdbc:hsqldb:hsql://host/db`` server, ``jdbc:hsqldb:mem:name``,
    ``jdbc:hsqldb:file:/path``), from Debian's ``libhsqldb-java``."""

    profile = "hsqldb"
    subprotocols = ("hsqldb",)
    driver_class = "org.hsqldb.jdbc.JDBCDriver"
    jars = ("hsqldb.jar",)
    package = "libhsqldb-java"
    default_schema = "PUBLIC"
    limit_style = "limit"
    has_if_exists = True
    transactional_ddl = False  # DDL commits the transaction
    ddl_types: ClassVar[dict[str, str]] = {
        **_ANSI_TYPES,
        "int8": "TINYINT",
        "double": "DOUBLE",
        "string": "LONGVARCHAR",
        "null": "LONGVARCHAR",
        "nested": "LONGVARCHAR",
        "json": "LONGVARCHAR",
        "binary": "LONGVARBINARY",
        "time": "TIME(6)",
        "timestamp": "TIMESTAMP(6)",
        "timestamptz": "TIMESTAMP(6) WITH TIME ZONE",
        "uuid": "UUID",
    }

    def estimates_sql(self, schema: str) -> str:
        return (
            "SELECT TABLE_NAME, CARDINALITY FROM INFORMATION_SCHEMA.SYSTEM_TABLESTATS "
            f"WHERE TABLE_SCHEMA = {self.literal(schema)}"
        )


PROFILES: tuple[type[JdbcDialect], ...] = (
    As400Dialect,
    Db2Dialect,
    DerbyDialect,
    SqlServerJdbcDialect,
    JtdsDialect,
    OracleDialect,
    PostgresJdbcDialect,
    HsqldbDialect,
    JdbcDialect,
)
_BY_SUBPROTOCOL: dict[str, type[JdbcDialect]] = {}
for _p in PROFILES:
    for _s in _p.subprotocols:
        _BY_SUBPROTOCOL.setdefault(_s, _p)
_BY_SUBPROTOCOL["jtds"] = JtdsDialect


def profile_for(subprotocol: str | None) -> type[JdbcDialect]:
    """The profile of a JDBC URL's subprotocol (the generic one when none fits)."""
    return _BY_SUBPROTOCOL.get((subprotocol or "").lower(), JdbcDialect)


def profile_named(name: str) -> type[JdbcDialect]:
    for p in PROFILES:
        if p.profile == name:
            return p
    raise KeyError(name)


def builtin_jars() -> list[str]:
    """The jars of the built-in profiles that are installed on this machine."""
    found = []
    for p in PROFILES:
        for jar in p.jars:
            path = os.path.join(JAVA_SHARE, jar)
            if os.path.exists(path) and path not in found:
                found.append(path)
    return found
