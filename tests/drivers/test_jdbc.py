"""The JDBC bridge against real jars and databases: HSQLDB in this process's JVM,
PostgreSQL through its JDBC jar, Derby's network server, and IBM's jt400 jar.

Exact types from ``ResultSetMetaData``, reads in bounded batches, the catalog
through ``DatabaseMetaData``, and each way of failing as one clear line.
"""

from __future__ import annotations

import datetime as dt
import decimal
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pyarrow as pa
import pytest

from pipekit.drivers import connect, jvm
from pipekit.drivers import types as T
from pipekit.drivers.jdbc_dialect import As400Dialect, DerbyDialect, HsqldbDialect
from pipekit.errors import DriverMissingError, TerminalDatabaseError, TransientDatabaseError
from tests.helpers import DerbyServer, free_port, pg_admin, unique_name

D = decimal.Decimal
JT400 = "/usr/share/java/jt400.jar"


@pytest.fixture
def hsqldb() -> Iterator[object]:
    d = connect(f"jdbc:hsqldb:mem:{unique_name('t')}", user="SA")
    yield d
    d.execute("SHUTDOWN")
    d.close()


def test_hsqldb_reads_every_type_exactly(hsqldb: object) -> None:
    d: object = hsqldb
    assert isinstance(d.dialect, HsqldbDialect)  # type: ignore[attr-defined]
    d.execute(  # type: ignore[attr-defined]
        'CREATE TABLE "T" (id INT PRIMARY KEY, "DCORD#" CHAR(10), amt DECIMAL(15,5), '
        "ts TIMESTAMP(6), ns TIMESTAMP(9), t TIME(6), d DATE, b BOOLEAN, bin VARBINARY(10), "
        "u UUID, txt VARCHAR(100), f DOUBLE, big BIGINT)"
    )
    d.execute(  # type: ignore[attr-defined]
        "INSERT INTO \"T\" VALUES (1, 'ab', 1234567890.12345, "
        "TIMESTAMP '2024-01-02 03:04:05.123456', TIMESTAMP '2024-01-02 03:04:05.123456789', "
        "TIME '23:59:59.999999', DATE '9999-12-31', true, X'00ff', "
        "'123e4567-e89b-12d3-a456-426614174000', 'Müller 漢字 🚀', 0.1, 9223372036854775807), "
        "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
    )
    reader = d.read('SELECT * FROM "T" ORDER BY id')  # type: ignore[attr-defined]
    types = {f.name: f.type for f in reader.schema}
    assert types["DCORD#"] == pa.string()
    assert types["AMT"] == pa.decimal128(15, 5)
    assert types["TS"] == pa.timestamp("us")
    assert types["NS"] == pa.timestamp("ns")
    assert types["T"] == pa.time64("us")
    assert T.is_uuid(types["U"])
    table = reader.read_all()
    nanos = table.column("NS").cast(pa.int64())[0].as_py()
    assert nanos % 1_000_000_000 == 123456789  # nanoseconds, where the column has them
    rows = table.drop_columns(["NS"]).to_pylist()
    assert rows[0] == {
        "ID": 1,
        "DCORD#": "ab        ",  # fixed width: padded, as the database holds it
        "AMT": D("1234567890.12345"),
        "TS": dt.datetime(2024, 1, 2, 3, 4, 5, 123456),
        "T": dt.time(23, 59, 59, 999999),
        "D": dt.date(9999, 12, 31),
        "B": True,
        "BIN": b"\x00\xff",
        "U": uuid.UUID("123e4567-e89b-12d3-a456-426614174000"),
        "TXT": "Müller 漢字 🚀",
        "F": 0.1,
        "BIG": 9223372036854775807,
    }
    assert all(v is None for k, v in rows[1].items() if k != "ID")


def test_reads_in_bounded_batches_with_the_schema_first(hsqldb: object) -> None:
    d: object = hsqldb
    d.execute("CREATE TABLE n (i INT, s VARCHAR(20))")  # type: ignore[attr-defined]
    d.execute(  # type: ignore[attr-defined]
        "INSERT INTO n SELECT ROWNUM(), 'row ' || ROWNUM() FROM INFORMATION_SCHEMA.COLUMNS "
        "a, INFORMATION_SCHEMA.COLUMNS b LIMIT 5000"
    )
    reader = d.read("SELECT * FROM n", batch_rows=1000)  # type: ignore[attr-defined]
    sizes = [b.num_rows for b in reader]
    assert sum(sizes) == 5000 and max(sizes) <= 1000 and len(sizes) >= 5
    estimates = d.table_estimates("PUBLIC")  # type: ignore[attr-defined]
    assert estimates.get("N") == 5000  # the catalog's figure (SYSTEM_TABLESTATS)
    empty = d.read("SELECT * FROM n WHERE 1 = 0")  # type: ignore[attr-defined]
    assert empty.schema.names == ["I", "S"] and empty.read_all().num_rows == 0


def test_postgresql_over_jdbc_reads_what_the_native_driver_reads(pg_url: str) -> None:
    table = unique_name("jdbc_pg")
    native = connect(pg_url, user="postgres")
    try:
        native.execute(
            f"CREATE TABLE {table} (id int PRIMARY KEY, amt numeric(15,5), name char(8), "
            "ts timestamp, tz timestamptz, t time, u uuid, b bytea, ok boolean, "
            "txt text, d date, r real, n numeric)"
        )
        native.execute(
            f"INSERT INTO {table} VALUES (1, 1234567890.12345, 'ab', "
            "'2024-01-02 03:04:05.123456', '2024-06-01 12:00:00.000001+00', '12:34:56.123456', "
            "'123e4567-e89b-12d3-a456-426614174000', '\\x00ff', true, 'é漢', '2024-02-29', "
            "1.5, 12345678901234567890.123456789), "
            "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
        )
        expected = native.read(f"SELECT * FROM {table} ORDER BY id").read_all()
        url = "jdbc:" + pg_url.replace("postgresql://postgres@", "postgresql://")
        with connect(url, user="postgres") as jdbc:
            got = jdbc.read(f"SELECT * FROM {table} ORDER BY id").read_all()
            assert jdbc.server_version().startswith("PostgreSQL")
            assert table in jdbc.list_tables("public")
            columns = {c.name: c for c in jdbc.list_columns(f"public.{table}")}
    finally:
        native.execute(f"DROP TABLE IF EXISTS {table}")
        native.close()
    assert got.to_pylist() == expected.to_pylist()
    assert got.schema.field("amt").type == pa.decimal128(15, 5)
    assert got.schema.field("tz").type == pa.timestamp("us", tz="UTC")
    assert got.schema.field("n").type == pa.string()  # unconstrained numeric: exact as text
    assert columns["id"].primary_key and columns["amt"].type == "numeric(15,5)"


@pytest.mark.parametrize("url_tail", ["", "?prepareThreshold=0"])
def test_postgresql_over_jdbc_reads_in_binary_unless_the_url_says_otherwise(
    pg_url: str, url_tail: str
) -> None:
    """Reads ask pgjdbc for PostgreSQL's binary format (a server-side prepared
    statement); a URL that sets prepareThreshold keeps text. Both read edge values
    exactly as the native driver does."""
    table = unique_name("jdbc_bin")
    sql = f"SELECT * FROM {table} ORDER BY id"
    native = connect(pg_url, user="postgres")
    try:
        native.execute(
            f"CREATE TABLE {table} (id bigint, s smallint, i int, amt numeric(20,6), "
            "f float8, ts timestamp, tz timestamptz, d date, t time, name text)"
        )
        native.execute(
            f"INSERT INTO {table} VALUES "
            "(-9223372036854775808, -32768, -2147483648, -12345678901234.000001, -1.5e300, "
            "'1969-12-31 23:59:59.999999', '1970-01-01 00:00:00+00', '1900-03-01', "
            "'00:00:00', ''), "
            "(9223372036854775807, 32767, 2147483647, 0.000001, 2.5e-300, "
            "'2262-04-11 23:47:16.854775', '2024-03-31 01:30:00.000001+02', '9999-12-31', "
            "'23:59:59.999999', 'x'), "
            "(0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
        )
        expected = native.read(sql).read_all()
        url = "jdbc:" + pg_url.replace("postgresql://postgres@", "postgresql://") + url_tail
        with connect(url, user="postgres") as jdbc:
            got = jdbc.read(sql).read_all()
            plain = jdbc.read(f"SELECT id, amt, ts FROM {table} ORDER BY id").read_all()
            prepared = jdbc.query(
                "SELECT count(*) FROM pg_prepared_statements WHERE "
                f"strpos(statement, {jdbc.dialect.literal(table)}) > 0 "
                "AND strpos(statement, 'pg_prepared') = 0"
            )
    finally:
        native.execute(f"DROP TABLE IF EXISTS {table}")
        native.close()
    assert got.schema == expected.schema
    assert got.to_pylist() == expected.to_pylist()
    assert plain.to_pylist() == expected.select(["id", "amt", "ts"]).to_pylist()
    # both reads (the first wrapped for its TIME column) were prepared on the server,
    # which is how pgjdbc receives binary results
    assert prepared == [(0 if url_tail else 2,)]


def test_derby_db2_family_types_and_catalog(derby: DerbyServer) -> None:
    with connect(derby.url(unique_name("erp"), create=True), user="app") as d:
        assert isinstance(d.dialect, DerbyDialect)
        d.create_schema("LGDAT")
        d.create_schema("LGDAT")  # no IF NOT EXISTS in Derby: the client checks first
        d.execute(
            'CREATE TABLE LGDAT.QCRH ("DCORD#" CHAR(10) NOT NULL PRIMARY KEY, '
            "DCAMT DECIMAL(15,5), DCTS TIMESTAMP, DCNAME VARCHAR(40))"
        )
        d.execute(
            "INSERT INTO LGDAT.QCRH VALUES ('A1', 12345.12345, "
            "TIMESTAMP('2024-01-02 03:04:05.123456'), 'Müller'), ('B2', NULL, NULL, NULL)"
        )
        rows = d.read('SELECT * FROM LGDAT.QCRH ORDER BY "DCORD#"').read_all().to_pylist()
        assert rows[0]["DCORD#"] == "A1        " and rows[0]["DCAMT"] == D("12345.12345")
        assert rows[0]["DCTS"] == dt.datetime(2024, 1, 2, 3, 4, 5, 123456)
        assert "LGDAT" in d.list_schemas() and "SYS" not in d.list_schemas()
        assert d.list_tables("LGDAT") == ["QCRH"]
        cols = d.list_columns("LGDAT.QCRH")
        assert [(c.name, c.type, c.primary_key) for c in cols[:2]] == [
            ("DCORD#", "CHAR(10)", True),
            ("DCAMT", "DECIMAL(15,5)", False),
        ]
        assert d.query(d.dialect.limit_sql("SELECT * FROM LGDAT.QCRH", 1)) != []
        d.drop_table("LGDAT.NOPE")  # IF EXISTS without the syntax: nothing happens


def test_as400_driver_class_loads_and_an_unreachable_host_fails_in_one_line() -> None:
    jvm.ensure_started()
    cls = jvm.load_class("com.ibm.as400.access.AS400JDBCDriver", [JT400])
    assert str(cls.getName()) == "com.ibm.as400.access.AS400JDBCDriver"
    assert isinstance(As400Dialect(), As400Dialect)
    with pytest.raises(TransientDatabaseError) as exc:
        connect(
            f"jdbc:as400://127.0.0.1:{free_port()}",
            user="QUSER",
            password="not-a-real-secret",
            jars=[JT400],
            driver_class="com.ibm.as400.access.AS400JDBCDriver",
        )
    message = exc.value.message
    assert "connect failed" in message and "Connection refused" in message
    assert "\n" not in message and "at com." not in message


def test_jar_missing_class_wrong_and_no_driver_are_one_clear_line(tmp_path: object) -> None:
    with pytest.raises(DriverMissingError, match=r"jar /nope/x\.jar is missing"):
        connect("jdbc:as400://h", jars=["/nope/x.jar"], driver_class="a.B")
    with pytest.raises(DriverMissingError, match=r"class com\.ibm\.Nope is not in"):
        connect("jdbc:as400://h", jars=[JT400], driver_class="com.ibm.Nope")
    with pytest.raises(DriverMissingError, match="pipekit drivers add"):
        connect("jdbc:nosuchdb://h/db")


def test_a_wrong_password_is_one_line_without_the_password() -> None:
    name = unique_name("pw")
    with connect(f"jdbc:hsqldb:mem:{name}", user="SA") as d:
        d.execute("ALTER USER SA SET PASSWORD 'right-one'")
        with pytest.raises(TerminalDatabaseError) as exc:
            connect(f"jdbc:hsqldb:mem:{name}", user="SA", password="wrong-one")
        d.execute("SHUTDOWN")
    assert "connect failed" in exc.value.message and "wrong-one" not in exc.value.message
    assert "\n" not in exc.value.message


def test_java_missing_names_what_to_install() -> None:
    # a fresh process (this one's JVM has started): no Java runtime found
    code = (
        "from pipekit.drivers import connect, jvm\n"
        "jvm.java_path = lambda: None\n"
        "try:\n    connect('jdbc:hsqldb:mem:x', user='SA')\n"
        "except Exception as e:\n    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.startswith("DriverMissingError JDBC needs Java")
    assert "apt-get install default-jdk-headless" in out.stdout


def test_a_password_in_a_jdbc_url_is_refused() -> None:
    from pipekit.drivers import parse_url
    from pipekit.errors import ConnectionSpecError

    with pytest.raises(ConnectionSpecError, match="must not contain a password"):
        parse_url("jdbc:sqlserver://db1;user=sa;password=hunter2;databaseName=erp")
    url = parse_url("jdbc:as400://ibmi.example.com;naming=system;libraries=LGDAT")
    assert (url.options["subprotocol"], url.host, url.options["naming"]) == (
        "as400",
        "ibmi.example.com",
        "system",
    )
    derby = parse_url("jdbc:derby:/srv/erp;create=true")
    assert derby.path is not None and str(derby.path) == "/srv/erp"


def test_pg_admin_is_reachable() -> None:
    with pg_admin() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


EXIT_CHILD = """
import atexit, sys
from pipekit.drivers import connect
d = connect(sys.argv[1], user="postgres")
rows = sum(b.num_rows for b in d.read(
    "SELECT g, 'x' || g AS s, now() AS t FROM generate_series(1, 20000) g"))
d.close()
import jpype
queue = jpype.JClass("org.jpype.ref.JPypeReferenceQueue").getInstance()
running = bool(queue.isRunning())
atexit._run_exitfuncs()  # what the interpreter runs at exit, before it finalizes
print(rows, running, bool(queue.isRunning()))
"""


def test_a_jdbc_process_stops_jpypes_reference_queue_before_it_finalizes(pg_url: str) -> None:
    # The queue's thread calling into a finalizing interpreter aborted about one
    # process in ten ("FATAL: exception not rethrown", exit 134) after its work was
    # done; scripts/soak.sh runs 150 such processes and wants every one to exit 0.
    url = "jdbc:" + pg_url.replace("postgresql://postgres@", "postgresql://")
    for _ in range(3):
        child = subprocess.run(
            [sys.executable, "-c", EXIT_CHILD, url], capture_output=True, text=True, timeout=120
        )
        assert child.returncode == 0, child.stderr
        assert child.stdout.split() == ["20000", "True", "False"], child.stdout
