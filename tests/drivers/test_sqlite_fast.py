"""The fast SQLite read path (ADBC, ``drivers/sqlite_fast.py``) against real files.

Every case compares it with the sqlite3 path, which is what a read takes while a
second connection of the process has the same file open, and checks values and
types outright. Batches are tiny so that a column's storage classes change from
one batch to the next, which is what ADBC's own type inference gets wrong.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from pipekit.drivers import connect
from pipekit.drivers import sqlite_fast as fast
from pipekit.drivers.base import Driver
from pipekit.errors import DatabaseError, TerminalDatabaseError, TransientDatabaseError

U1 = uuid.UUID("12345678-1234-5678-1234-567812345678")

COLUMNS = """
    id INTEGER PRIMARY KEY, small SMALLINT, f REAL, f32 FLOAT,
    price DECIMAL(15,2), exact DECIMAL_TEXT(38,10), wide DECIMAL(30,4), num NUMERIC,
    d DATE, ts TIMESTAMP, tstz TIMESTAMPTZ, tm TIME, flag BOOLEAN, raw BLOB,
    txt TEXT, vc VARCHAR(20), u UUID, j JSON_TEXT, late TEXT
"""
# Rows 1-3 are the first batch (batch_rows=3): price holds integers only there and
# reals later; `late` is NULL in the whole first batch; `num` mixes classes.
ROWS = [
    (1, 1, 1.0, 0.5, 10, "1.5000000000", 2**60, 7, "2024-01-31", "2024-01-31 10:00:00.000001",
     "2024-01-31 10:00:00.000001Z", "10:00:00.5", 1, b"\x00\x01", "a\x00b", "x", str(U1),
     '{"k": [1, 2]}', None),
    (2, -32768, -2.5, 1e-3, 0, "-99999999999999999999999999.9999999999", -(2**62), 2.5, None,
     "1999-12-31 23:59:59.999999", None, None, 0, "text in blob", "line\nbreak", "",
     None, None, None),
    (3, None, None, None, None, None, None, "abc", "1970-01-01", "1970-01-01 00:00:00",
     "2038-01-19 03:14:08Z", "23:59:59.999999", None, None, "😀 emoji", None, None, "null",
     None),
    (4, 32767, 1e300, 3.25, 24386.67, "0.0000000001", 12345678901234567890.1234, 0.1, "2000-02-29",
     "2000-02-29 12:34:56.123456", "2000-02-29 12:34:56Z", "00:00:00", 2, b"", "", "é",
     str(U1).upper(), "[]", "later"),
    (5, 0, 0.30000000000000004, -0.0, 0.07, None, 1.5, 1e17, None, None, None, None, 0.0, None,
     None, None, None, None, "x"),
]  # fmt: skip


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "fast.sqlite"
    con = sqlite3.connect(p)
    con.execute(f"CREATE TABLE t ({COLUMNS})")
    con.executemany(f"INSERT INTO t VALUES ({', '.join('?' * 19)})", ROWS)
    con.commit()
    con.close()
    return p


@pytest.fixture
def drv(path: Path) -> Iterator[Driver]:
    d = connect(f"sqlite:///{path}")
    yield d
    d.close()


def read_fast(d: Driver, sql: str, batch_rows: int = 3) -> pa.Table:
    """Read `sql`, checking it went the fast path (the file is marked as fast-read)."""
    reader = d.read(sql, batch_rows=batch_rows)
    assert fast.FILES.reading(str(Path(d.url.path).resolve())), "took the sqlite3 path"
    return reader.read_all()


def read_stdlib(path: Path, sql: str, batch_rows: int = 3) -> pa.Table:
    """Read `sql` the sqlite3 way: a second connection on the file turns the fast path off."""
    with connect(f"sqlite:///{path}") as a, connect(f"sqlite:///{path}"):
        reader = a.read(sql, batch_rows=batch_rows)
        assert not fast.FILES.reading(str(path.resolve()))
        return reader.read_all()


def test_declared_types_give_the_same_types_and_values_as_sqlite3(drv: Driver, path: Path) -> None:
    sql = "SELECT * FROM t ORDER BY id"
    got = read_fast(drv, sql)
    assert got.schema.equals(read_stdlib(path, sql).schema)
    assert got.to_pylist() == read_stdlib(path, sql).to_pylist()
    types = dict(zip(got.schema.names, got.schema.types, strict=True))
    assert types["small"] == pa.int16()
    assert types["f32"] == pa.float64()  # SQLite's one float type is 8 bytes
    assert types["price"] == pa.decimal128(15, 2)
    assert types["exact"] == pa.decimal128(38, 10)
    assert types["wide"] == pa.decimal128(30, 4)
    assert types["num"] == pa.string()  # unconstrained: exact only as text
    assert types["tstz"] == pa.timestamp("us", tz="UTC")
    assert types["u"] == fast.T.UUID
    rows = got.to_pylist()
    assert [r["price"] for r in rows] == [
        Decimal("10.00"), Decimal("0.00"), None, Decimal("24386.67"), Decimal("0.07")
    ]  # fmt: skip
    assert rows[1]["exact"] == Decimal("-99999999999999999999999999.9999999999")
    assert rows[0]["wide"] == Decimal(2**60)  # beyond 2**53: not through a double
    assert rows[3]["wide"] == Decimal("12345678901234567000.0000")  # str() of the REAL kept
    # NUMERIC affinity stored 1e17 as an integer
    assert [r["num"] for r in rows] == ["7", "2.5", "abc", "0.1", "100000000000000000"]
    assert [r["f"] for r in rows] == [1.0, -2.5, None, 1e300, 0.30000000000000004]
    assert rows[0]["ts"] == dt.datetime(2024, 1, 31, 10, 0, 0, 1)
    assert rows[0]["tstz"] == dt.datetime(2024, 1, 31, 10, 0, 0, 1, tzinfo=dt.UTC)
    assert rows[0]["tm"] == dt.time(10, 0, 0, 500000)
    assert [r["flag"] for r in rows] == [True, False, None, True, False]
    assert [r["raw"] for r in rows] == [b"\x00\x01", b"text in blob", None, b"", None]
    assert [r["txt"] for r in rows] == ["a\x00b", "line\nbreak", "😀 emoji", "", None]
    assert [r["u"] for r in rows][:4] == [U1, None, None, U1]
    assert [r["late"] for r in rows] == [None, None, None, "later", "x"]


def test_expression_columns_are_typed_from_the_first_batch_as_before(
    drv: Driver, path: Path
) -> None:
    sql = (
        "SELECT id * 2 AS i, id / 2.0 AS r, CASE WHEN id < 4 THEN id ELSE id + 1 END AS ir, "
        "x'00ff' AS b, NULL AS none_at_all, CASE id WHEN 1 THEN 'a' ELSE 1.5 END AS mixed, "
        "CASE WHEN id > 3 THEN 'late' END AS late_text FROM t ORDER BY id"
    )
    got = read_fast(drv, sql)
    want = read_stdlib(path, sql)
    assert got.schema.equals(want.schema)
    assert got.to_pylist() == want.to_pylist()
    assert got.schema.types == [
        pa.int64(), pa.float64(), pa.int64(), pa.binary(), pa.string(), pa.string(), pa.string()
    ]  # fmt: skip
    assert got.column("mixed").to_pylist() == ["a", "1.5", "1.5", "1.5", "1.5"]
    assert got.column("late_text").to_pylist() == [None, None, None, "late", "late"]


def test_an_expression_column_that_changes_class_later_is_a_clear_error(drv: Driver) -> None:
    # typed int64 from the first batch, as before; a real later cannot be an int64
    sql = "SELECT CASE WHEN id < 4 THEN id ELSE id + 0.5 END AS ir FROM t ORDER BY id"
    with pytest.raises(TerminalDatabaseError, match=r"column 'ir' \(no declared type\)"):
        drv.read(sql, batch_rows=3).read_all()


def test_zero_rows_keep_the_declared_schema(drv: Driver) -> None:
    reader = drv.read("SELECT id, price, ts FROM t WHERE 1 = 0")
    assert reader.schema.types == [pa.int32(), pa.decimal128(15, 2), pa.timestamp("us")]
    assert reader.read_all().num_rows == 0


def test_batches_never_exceed_batch_rows(drv: Driver) -> None:
    sizes = [b.num_rows for b in drv.read("SELECT id FROM t", batch_rows=2)]
    assert sum(sizes) == 5 and max(sizes) <= 2


def test_batches_stay_small_when_the_caller_allows_large_ones(drv: Driver) -> None:
    sql = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40000) "
        "SELECT i FROM n"
    )
    batches = list(drv.read(sql, batch_rows=65_536))
    assert max(b.num_rows for b in batches) <= fast.MAX_BATCH_ROWS < 40_000
    values = pa.concat_arrays([b.column(0) for b in batches])
    assert values.type == pa.int64() and values.to_pylist() == list(range(1, 40_001))


@pytest.mark.parametrize(
    ("ddl", "values", "message"),
    [
        ("v INTEGER", ["1", "2", "abc"], r"column 'v' \(INTEGER\) holds"),  # text, 2nd batch
        ("v INTEGER", ["abc", "1", "2"], r"column 'v' \(INTEGER\) holds values of more"),
        ("v DECIMAL(10,2)", ["1.5", "2", "x1"], r"column 'v' \(DECIMAL\(10,2\)\) holds"),
        ("v DECIMAL(10,2)", ["1.005", "2", "3"], "cannot be read as decimal128"),
        ("v DATE", ["2024-01-01", "2024-13-01", None], r"column 'v' \(DATE\) cannot be read"),
        ("v TEXT", ["ok", "ok", b"\xff\xfe"], r"column 'v' \(TEXT\) .*(?i:utf-?8)"),
        ("v BLOB", [b"ok", b"ok", 5], r"column 'v' \(declared type BLOB\) holds the integer"),
    ],
)
def test_a_value_its_column_cannot_hold_is_a_clear_error(
    tmp_path: Path, ddl: str, values: list[object], message: str
) -> None:
    p = tmp_path / "bad.sqlite"
    con = sqlite3.connect(p)
    con.execute(f"CREATE TABLE b (id INTEGER, {ddl})")
    for i, v in enumerate(values):
        if isinstance(v, bytes) and ddl.startswith("v TEXT"):
            # text that is not UTF-8, stored as TEXT
            con.execute("INSERT INTO b VALUES (?, CAST(? AS TEXT))", (i, v))
        else:
            con.execute("INSERT INTO b VALUES (?, ?)", (i, v))
    con.commit()
    con.close()
    with connect(f"sqlite:///{p}") as d:
        with pytest.raises(TerminalDatabaseError, match=message) as info:
            d.read("SELECT * FROM b ORDER BY id", batch_rows=2).read_all()
        assert str(p) in str(info.value)


def test_an_error_mid_stream_is_a_database_error(drv: Driver) -> None:
    # abs() of the smallest integer overflows, on row 4 only
    sql = "SELECT id, CASE WHEN id = 4 THEN abs(-9223372036854775807 - 1) END AS x FROM t"
    reader = drv.read(sql, batch_rows=2)
    first = reader.read_next_batch()
    assert first.num_rows == 1  # the sentinel took one row of the first batch
    with pytest.raises(TerminalDatabaseError, match="integer overflow"):
        reader.read_all()


def test_cancel_stops_a_fast_read_at_the_next_batch(drv: Driver) -> None:
    reader = drv.read("SELECT id FROM t", batch_rows=2)
    reader.read_next_batch()
    drv.cancel()
    with pytest.raises(TerminalDatabaseError, match="interrupted"):
        reader.read_all()
    # the connection goes on working, and the next read is not cancelled
    assert drv.read("SELECT count(*) AS n FROM t").read_all().column("n").to_pylist() == [5]


def test_a_temp_table_of_the_connection_is_read_the_sqlite3_way(drv: Driver) -> None:
    drv.execute("CREATE TEMP TABLE scratch (id INTEGER, price DECIMAL(15,2))")
    drv.execute("INSERT INTO scratch SELECT id, price FROM t")
    got = drv.read("SELECT id, price FROM scratch ORDER BY id").read_all()
    assert got.column("price").to_pylist()[3] == Decimal("24386.67")


def test_a_read_inside_a_transaction_sees_its_uncommitted_rows(drv: Driver) -> None:
    with drv.transaction():
        drv.execute("INSERT INTO t (id, price) VALUES (6, 1.25)")
        got = drv.read("SELECT price FROM t WHERE id = 6").read_all()
        assert got.column("price").to_pylist() == [Decimal("1.25")]
    drv.execute("BEGIN")
    drv.execute("DELETE FROM t WHERE id = 6")
    assert drv.read("SELECT count(*) AS n FROM t").read_all().column("n").to_pylist() == [5]
    drv.execute("ROLLBACK")
    assert drv.read("SELECT count(*) AS n FROM t").read_all().column("n").to_pylist() == [6]


def test_a_writer_waits_for_a_fast_read_of_its_file(drv: Driver, path: Path) -> None:
    reader = drv.read("SELECT id FROM t", batch_rows=2)
    with connect(f"sqlite:///{path}") as writer:
        finished: list[float] = []

        def write() -> None:
            writer.execute("INSERT INTO t (id) VALUES (99)")
            finished.append(time.monotonic())

        thread = threading.Thread(target=write)
        thread.start()
        time.sleep(0.3)
        assert not finished, "wrote while the file was being read by another copy of SQLite"
        ended = time.monotonic()
        assert reader.read_all().num_rows == 5
        thread.join(10)
        assert finished and finished[0] >= ended
        assert writer.query("SELECT count(*) FROM t") == [(6,)]


def test_writing_through_the_connection_that_is_reading_is_refused(drv: Driver) -> None:
    reader = drv.read("SELECT id FROM t", batch_rows=2)
    with pytest.raises(TransientDatabaseError, match="still reading"):
        drv.execute("DELETE FROM t")
    assert reader.read_all().num_rows == 5
    drv.execute("DELETE FROM t WHERE id = 5")  # after the read, writes go ahead
    assert drv.query("SELECT count(*) FROM t") == [(4,)]


def test_a_reader_dropped_unread_lets_go_of_the_file(drv: Driver, path: Path) -> None:
    schema = drv.probe("SELECT id, price FROM t")  # reads no batch, closes the reader
    assert schema.types == [pa.int32(), pa.decimal128(15, 2)]
    assert not fast.FILES.reading(str(path.resolve()))
    drv.execute("DELETE FROM t WHERE id = 5")  # not refused as "still reading"
    reader = drv.read("SELECT id FROM t")
    assert fast.FILES.reading(str(path.resolve()))
    del reader
    assert not fast.FILES.reading(str(path.resolve()))
    assert drv.query("SELECT count(*) FROM t") == [(4,)]


def test_bad_sql_is_a_database_error_not_a_fallback_surprise(drv: Driver) -> None:
    with pytest.raises(DatabaseError, match="no such table"):
        drv.read("SELECT * FROM missing").read_all()
    with pytest.raises(DatabaseError, match="no such column"):
        drv.read("SELECT nope FROM t").read_all()
