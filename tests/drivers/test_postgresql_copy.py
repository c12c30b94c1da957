"""PostgreSQL→PostgreSQL binary COPY passthrough: exact values, which column pairs
may pass through, and errors and cancels from either end leave the target empty."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from pipekit.drivers import connect
from pipekit.drivers.base import TableRef
from pipekit.drivers.postgresql import PostgresDriver
from pipekit.errors import DatabaseError, TerminalDatabaseError

COLUMNS = {
    "id": "int4 PRIMARY KEY",
    "b": "bool",
    "s": "int2",
    "big": "int8",
    "r": "float4",
    "d": "float8",
    "price": "numeric(15,2)",
    "wide": "numeric(38,10)",
    "t": "text",
    "vc": "varchar(12)",
    "ch": "char(4)",
    "day": "date",
    "tod": "time(6)",
    "todz": "timetz",
    "ts": "timestamp(6)",
    "tstz": "timestamptz(6)",
    "span": "interval",
    "raw": "bytea",
    "u": "uuid",
    "j": "json",
    "jb": "jsonb",
    "ip": "inet",
}
ROWS = [
    "(1, true, -32768, 9223372036854775807, 1.5, 'NaN', 12345678901.23, "
    "1234567890123456789012345678.0123456789, E'tab\\there\\nnewline \\\\ ''q'' 🎉', "
    "'short', 'ab', '0001-01-01', '23:59:59.999999', '12:00:00+05:30', "
    "'2024-02-29 23:59:59.999999', '2024-06-01 12:00:00.000001+02', "
    "'1 year 2 mons 3 days 04:05:06.789', '\\x00ff10', "
    "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2.50]}', '{\"b\": null}', "
    "'192.168.0.1/24')",
    "(2, false, 0, -1, '-Infinity', -0.0, -0.01, 0, '', '', '', '2999-12-31', "
    "'00:00:00', '00:00:00-11', '1970-01-01 00:00:00', 'infinity', '-1 days', '\\x', "
    "'00000000-0000-0000-0000-000000000000', '[]', '{}', '::1')",
    "(3" + ", NULL" * (len(COLUMNS) - 1) + ")",
]


@pytest.fixture
def pg(pg_url: str) -> Iterator[PostgresDriver]:
    driver = connect(pg_url, user="postgres")
    assert isinstance(driver, PostgresDriver)
    driver.execute("CREATE SCHEMA IF NOT EXISTS copytest")
    yield driver
    driver.execute("DROP SCHEMA copytest CASCADE")
    driver.close()


@pytest.fixture
def other(pg_url: str) -> Iterator[PostgresDriver]:
    """A second session on the same database: the source end of each copy."""
    driver = connect(pg_url, user="postgres")
    assert isinstance(driver, PostgresDriver)
    yield driver
    driver.close()


def _create(d: PostgresDriver, name: str, columns: dict[str, str]) -> TableRef:
    cols = ", ".join(f"{d.quote(c)} {t}" for c, t in columns.items())
    d.execute(f"CREATE TABLE copytest.{name} ({cols})")
    return TableRef(name, "copytest")


def _count(d: PostgresDriver, table: TableRef) -> int:
    return int(d.query(f"SELECT count(*) FROM {d.table_sql(table)}")[0][0])


def test_every_passthrough_type_arrives_byte_for_byte(
    pg: PostgresDriver, other: PostgresDriver
) -> None:
    src = _create(pg, "src_all", COLUMNS)
    pg.execute(f"INSERT INTO copytest.src_all VALUES {', '.join(ROWS)}")
    dst = _create(pg, "dst_all", COLUMNS)
    sql = "SELECT * FROM copytest.src_all"
    schema = other.probe(sql)
    assert pg.copy_blocker(other, schema, dst) is None
    assert pg.copy_from(other, sql, dst, schema.names) == 3

    # Compared as text on the server: exact values, padding of char(4), zones, NaN.
    cols = ", ".join(f"{c}::text" for c in COLUMNS)
    diff = pg.query(
        f"(SELECT {cols} FROM {pg.table_sql(src)} EXCEPT ALL SELECT {cols} FROM "
        f"{pg.table_sql(dst)}) UNION ALL (SELECT {cols} FROM {pg.table_sql(dst)} "
        f"EXCEPT ALL SELECT {cols} FROM {pg.table_sql(src)})"
    )
    assert diff == []
    assert pg.query("SELECT ch, length(ch::bytea) FROM copytest.dst_all WHERE id = 1") == [
        ("ab  ", 4)
    ]


def test_columns_go_by_name_whatever_the_order(pg: PostgresDriver, other: PostgresDriver) -> None:
    _create(pg, "src_order", {"a": "int4", "b": "text"})
    pg.execute("INSERT INTO copytest.src_order VALUES (1, 'one'), (2, NULL)")
    dst = _create(pg, "dst_order", {"extra": "int4 DEFAULT 7", "b": "varchar(10)", "a": "int4"})
    sql = "SELECT a, b FROM copytest.src_order -- a trailing comment"
    schema = other.probe(sql)
    assert pg.copy_blocker(other, schema, dst) is None
    assert pg.copy_from(other, sql, dst, schema.names) == 2
    assert pg.query("SELECT extra, b, a FROM copytest.dst_order ORDER BY a") == [
        (7, "one", 1),
        (7, None, 2),
    ]


@pytest.mark.parametrize(
    ("source_type", "target_type", "why"),
    [
        ("int4", "int8", "int4 at the source and int8"),
        ("numeric", "numeric(10,2)", "numeric at the source and numeric"),
        ("numeric(10,2)", "numeric(12,2)", "numeric at the source and numeric"),
        ("numeric(10,2)", "text", "numeric at the source and text"),
        ("timestamp", "timestamptz", "timestamp at the source and timestamptz"),
        ("int4[]", "int8[]", "_int4 at the source and _int8"),
        ("copytest.mood", "copytest.mood", "at the source and mood"),
        ("copytest.mood[]", "copytest.mood[]", "at the source and _mood"),
    ],
)
def test_pairs_that_do_not_line_up_are_refused_with_the_column(
    pg: PostgresDriver, other: PostgresDriver, source_type: str, target_type: str, why: str
) -> None:
    pg.execute("DROP TYPE IF EXISTS copytest.mood CASCADE")
    pg.execute("CREATE TYPE copytest.mood AS ENUM ('ok', 'sad')")
    _create(pg, "src_pair", {"x": source_type})
    dst = _create(pg, "dst_pair", {"x": target_type})
    blocker = pg.copy_blocker(other, other.probe("SELECT x FROM copytest.src_pair"), dst)
    assert blocker is not None
    assert blocker.startswith("column x is ") and why in blocker, blocker


def test_arrays_of_built_in_types_pass_through(pg: PostgresDriver, other: PostgresDriver) -> None:
    # an array's bytes name its element type by OID, which built-in types share across
    # databases: the same array type copies unread, as the declared types need
    kinds = {"a": "int4[]", "b": "text[]", "c": "numeric[]", "d": "timestamptz[]"}
    _create(pg, "src_arr", kinds)
    pg.execute(
        "INSERT INTO copytest.src_arr VALUES ('{1,NULL,3}', '{\"a b\",NULL}', "
        "'{1.50,NaN}', '{2024-05-01 08:00:00+00}'), (NULL, '{}', NULL, NULL)"
    )
    dst = _create(pg, "dst_arr", kinds)
    sql = "SELECT a, b, c, d FROM copytest.src_arr"
    schema = other.probe(sql)
    assert pg.copy_blocker(other, schema, dst) is None
    assert pg.copy_from(other, sql, dst, schema.names) == 2
    cols = "a::text, b::text, c::text, d::text"
    assert pg.query(f"SELECT {cols} FROM copytest.dst_arr ORDER BY a NULLS LAST") == pg.query(
        f"SELECT {cols} FROM copytest.src_arr ORDER BY a NULLS LAST"
    )


def test_text_kinds_and_a_missing_column(pg: PostgresDriver, other: PostgresDriver) -> None:
    _create(pg, "src_text", {"a": "char(3)", "b": "varchar(5)", "c": "text"})
    dst = _create(pg, "dst_text", {"a": "text", "b": "text", "c": "varchar(9)"})
    schema = other.probe("SELECT a, b, c FROM copytest.src_text")
    assert pg.copy_blocker(other, schema, dst) is None
    schema = other.probe("SELECT a, b, c, 1 AS d FROM copytest.src_text")
    assert pg.copy_blocker(other, schema, dst) == "column d is not in copytest.dst_text"


def test_an_error_at_the_source_mid_copy_loads_nothing(
    pg: PostgresDriver, other: PostgresDriver
) -> None:
    dst = _create(pg, "dst_err", {"g": "int4", "v": "text"})
    sql = (
        "SELECT g, repeat('x', 200 + 0 * (1 / (g - 150000))) AS v FROM generate_series(1, 200000) g"
    )
    with pytest.raises(TerminalDatabaseError) as failed:
        pg.copy_from(other, sql, dst, ["g", "v"])
    assert "read failed: division by zero" in str(failed.value)
    assert _count(pg, dst) == 0


def test_an_error_at_the_target_names_the_table_and_loads_nothing(
    pg: PostgresDriver, other: PostgresDriver
) -> None:
    dst = _create(pg, "dst_short", {"v": "varchar(3)"})
    sql = (
        "SELECT CASE WHEN g < 5000 THEN 'ok' ELSE 'too long' END AS v "
        "FROM generate_series(1, 9000) g"
    )
    with pytest.raises(TerminalDatabaseError) as failed:
        pg.copy_from(other, sql, dst, ["v"])
    assert "load into copytest.dst_short failed" in str(failed.value)
    assert "too long" in str(failed.value)
    assert _count(pg, dst) == 0


def test_cancel_stops_a_copy_in_flight(pg: PostgresDriver, other: PostgresDriver) -> None:
    dst = _create(pg, "dst_cancel", {"g": "int4"})
    # rows trickle out: 1 ms each, so the copy would take minutes
    sql = "SELECT g FROM generate_series(1, 100000) g WHERE pg_sleep(0.001) IS NOT NULL"
    progress: list[int] = []

    def cancel_soon() -> None:
        time.sleep(1.0)
        other.cancel()

    thread = threading.Thread(target=cancel_soon)
    thread.start()
    started = time.monotonic()
    with pytest.raises(DatabaseError) as stopped:
        pg.copy_from(other, sql, dst, ["g"], progress.append)
    took = time.monotonic() - started
    thread.join()
    assert "canceling statement due to user request" in str(stopped.value)
    assert took < 10, f"the copy went on for {took:.1f} s after the cancel"
    assert _count(pg, dst) == 0
    # no psycopg session is left behind on either end
    assert other._side == [] and pg._side == []


def test_progress_reports_rows_as_they_pass(pg: PostgresDriver, other: PostgresDriver) -> None:
    dst = _create(pg, "dst_progress", {"g": "int4", "v": "text"})
    seen: list[int] = []
    rows = pg.copy_from(
        other,
        "SELECT g, repeat('y', 100) AS v FROM generate_series(1, 50000) g",
        dst,
        ["g", "v"],
        seen.append,
    )
    assert rows == 50000 == _count(pg, dst)
    assert seen and seen == sorted(seen) and 0 < seen[-1] <= 50001
