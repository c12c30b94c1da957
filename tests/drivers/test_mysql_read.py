"""The fast MariaDB read path against a real server: values exact, errors and cancels clean.

Every value read is compared with what PyMySQL's own row parser and type decoders
make of the same rows (an independent reading of the same bytes), across batch
sizes that cut rows at every kind of boundary.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pymysql
import pytest

from pipekit.drivers import connect
from pipekit.drivers.mysql import MySQLDriver
from pipekit.drivers.mysql_fast import MAX_BATCH_BYTES
from pipekit.errors import TerminalDatabaseError, TransientDatabaseError

ROWS = 30_000
# Values chosen to hit every length prefix (1, 2, 3 bytes), the 12/13-byte edge of
# Arrow's inline views, NULL next to 'NULL' and '', escapes, NUL, 4-byte UTF-8, raw
# bytes that look like prefixes (0xFB..0xFF), and the edges of every numeric type.
MIXED = f"""
CREATE TABLE mixed (
  id INT PRIMARY KEY, s LONGTEXT, c CHAR(3), bin LONGBLOB, d DECIMAL(20,6), dw DECIMAL(65,30),
  f DOUBLE, i8 TINYINT, b BOOLEAN, u64 BIGINT UNSIGNED, i64 BIGINT, bt BIT(64), b1 BIT(1),
  yr YEAR, e ENUM('a','b','NULL'), st SET('x','y'), j JSON, dte DATE, tm TIME(6),
  dtm DATETIME(6), ts TIMESTAMP(6) NULL
) ENGINE=InnoDB
AS SELECT seq AS id,
  CASE seq % 9 WHEN 0 THEN NULL WHEN 1 THEN 'NULL' WHEN 2 THEN ''
    WHEN 3 THEN CONCAT('t\\tn\\nr\\rb\\\\q''', CHAR(0 USING utf8mb4), '😀é', seq)
    WHEN 4 THEN REPEAT('x', 240 + seq % 20) WHEN 5 THEN REPEAT('é', 11 + seq % 4)
    WHEN 6 THEN IF(seq % 5000 = 6, REPEAT('y', 70000 + seq), LPAD(seq, 12 + seq % 2, '0'))
    ELSE CONCAT('row ', seq) END AS s,
  IF(seq % 11 = 0, NULL, LEFT(CONCAT(seq, '  '), 3)) AS c,
  IF(seq % 13 = 0, NULL, LEFT(UNHEX(CONCAT('FBFCFDFEFF00', SHA2(seq, 256))), seq % 40)) AS bin,
  IF(seq % 17 = 0, NULL, (seq * 7919 % 1000000007) / 1000 - 500000) AS d,
  CAST(CONCAT(IF(seq % 2, '-', ''), seq, REPEAT('9', 30), '.', LPAD(seq, 30, '7'))
    AS DECIMAL(65,30)) AS dw,
  IF(seq % 19 = 0, NULL, seq / 7 * POW(10, seq % 30 - 15)) AS f,
  seq % 256 - 128 AS i8, IF(seq % 23 = 0, NULL, seq % 2) AS b,
  IF(seq % 3 = 0, 18446744073709551615 - seq, seq) AS u64,
  IF(seq % 3 = 0, -9223372036854775807 - 1 + seq, 9223372036854775807 - seq) AS i64,
  IF(seq % 29 = 0, NULL, 18446744073709551615 - seq * 1000003) AS bt, seq % 2 AS b1,
  IF(seq % 31 = 0, NULL, 1901 + seq % 255) AS yr,
  ELT(1 + seq % 4, 'a', 'b', 'NULL', NULL) AS e, ELT(1 + seq % 4, '', 'x', 'x,y', NULL) AS st,
  IF(seq % 37 = 0, NULL, JSON_OBJECT('k', seq, 's', 'a"b\\\\c')) AS j,
  IF(seq % 41 = 0, NULL, '1000-01-01' + INTERVAL seq * 97 DAY) AS dte,
  IF(seq % 43 = 0, NULL, SEC_TO_TIME(seq * 2.5 % 86000) + INTERVAL seq % 999999 MICROSECOND)
    AS tm,
  IF(seq % 47 = 0, NULL, '1000-01-01' + INTERVAL seq * 9000001 SECOND
    + INTERVAL seq * 7 % 1000000 MICROSECOND) AS dtm,
  IF(seq % 53 = 0, NULL, '1970-01-02' + INTERVAL seq * 36001 SECOND
    + INTERVAL seq % 1000000 MICROSECOND) AS ts
FROM (SELECT CAST(seq AS SIGNED) AS seq FROM seq_1_to_{ROWS}) AS n
"""


@pytest.fixture(scope="module")
def drv(mysql_url: str) -> Iterator[MySQLDriver]:
    d = connect(mysql_url, user="root")
    assert isinstance(d, MySQLDriver)
    d.execute(MIXED)
    yield d
    d.close()


@pytest.fixture(scope="module")
def expected(drv: MySQLDriver) -> list[dict[str, Any]]:
    """The rows as PyMySQL's own parser and decoders read them, in Arrow's Python terms."""
    conn = drv._conn
    with conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SELECT * FROM mixed ORDER BY id")
        rows = list(cur.fetchall())
    for r in rows:
        r["tm"] = None if r["tm"] is None else (dt.datetime.min + r["tm"]).time()
        r["ts"] = None if r["ts"] is None else r["ts"].replace(tzinfo=dt.UTC)
        for bits in ("bt", "b1"):
            r[bits] = None if r[bits] is None else int.from_bytes(r[bits], "big")
        r["b1"] = None if r["b1"] is None else bool(r["b1"])
        r["b"] = None if r["b"] is None else bool(r["b"])
        r["st"] = _set_text(r["st"])
    return rows


def _set_text(value: Any) -> str | None:
    """A SET value as sorted text, whether it came as a Python set or as 'x,y'."""
    if value is None:
        return None
    members = value.split(",") if isinstance(value, str) else value
    return ",".join(sorted(m for m in members if m))


@pytest.mark.parametrize("batch_rows", [97, 4096, 65_536])
def test_every_value_matches_pymysql(
    drv: MySQLDriver, expected: list[dict[str, Any]], batch_rows: int
) -> None:
    reader = drv.read("SELECT * FROM mixed ORDER BY id", batch_rows)
    sizes, got = [], []
    for batch in reader:
        sizes.append(batch.num_rows)
        got.extend(batch.to_pylist())
    assert max(sizes) <= batch_rows and sum(sizes) == ROWS
    if batch_rows <= 4096:  # under MAX_BATCH_BYTES: every batch but the last is full
        assert sizes[:-1] == [batch_rows] * (len(sizes) - 1)
    else:  # 65,536 of these rows are more bytes than a batch holds: cut by size
        assert len(sizes) > 1
    types = dict(zip(reader.schema.names, reader.schema.types, strict=True))
    assert types["d"] == pa.decimal128(20, 6) and types["dw"] == pa.decimal256(65, 30)
    assert types["bt"] == pa.uint64() and types["b1"] == pa.bool_()
    assert types["ts"] == pa.timestamp("us", tz="UTC") and types["tm"] == pa.time64("us")
    for g in got:
        g["st"] = _set_text(g["st"])
    for want, have in zip(expected, got, strict=True):
        assert have == want, f"row {want['id']}"


def test_null_is_not_the_string_null_nor_empty(drv: MySQLDriver) -> None:
    rows = drv.read("SELECT id, s, e FROM mixed WHERE id IN (9, 10, 11, 3) ORDER BY id")
    assert rows.read_all().to_pylist() == [
        {"id": 3, "s": "t\tn\nr\rb\\q'\x00😀é3", "e": None},
        {"id": 9, "s": None, "e": "b"},
        {"id": 10, "s": "NULL", "e": "NULL"},
        {"id": 11, "s": "", "e": None},
    ]


def test_one_row_batches_and_prefixes_at_every_width(drv: MySQLDriver) -> None:
    sql = (
        "SELECT seq, REPEAT('a', seq) AS s, IF(seq % 2, NULL, seq) AS n FROM seq_0_to_300 "
        "UNION ALL SELECT 65535, REPEAT('b', 65535), 1 "
        "UNION ALL SELECT 65536, REPEAT('c', 65536), 2"
    )
    batches = list(drv.read(sql, 1))
    assert len(batches) == 303 and {b.num_rows for b in batches} == {1}
    rows = pa.Table.from_batches(batches).to_pylist()
    assert [len(r["s"]) for r in rows] == [*range(301), 65535, 65536]
    assert rows[-1]["s"] == "c" * 65536 and rows[251] == {"seq": 251, "s": "a" * 251, "n": None}


def test_wide_rows_cut_batches_by_bytes(drv: MySQLDriver) -> None:
    rows = MAX_BATCH_BYTES // (1 << 20) * 3 // 2  # one and a half batches' worth of bytes
    sizes = [
        b.num_rows
        for b in drv.read(f"SELECT seq, REPEAT('w', 1 << 20) AS w FROM seq_1_to_{rows}", 10_000)
    ]
    assert sum(sizes) == rows and len(sizes) == 2 and max(sizes) <= MAX_BATCH_BYTES >> 20


def test_a_row_split_over_several_packets(mysql_url: str) -> None:
    """Rows of 16 MiB or more come in several packets (needs max_allowed_packet above that)."""
    admin = connect(mysql_url, user="root")
    old = admin.query("SELECT @@global.max_allowed_packet")[0][0]
    admin.execute("SET GLOBAL max_allowed_packet = 64 * 1024 * 1024")
    try:
        with connect(mysql_url, user="root") as d:
            size = (1 << 24) + 5
            sql = (
                f"SELECT seq, REPEAT('z', IF(seq = 2, {size}, 3)) AS big, seq * 2 AS after "
                "FROM seq_1_to_3"
            )
            table = d.read(sql).read_all()
            assert table.column("after").to_pylist() == [2, 4, 6]
            assert [len(v) for v in table.column("big").to_pylist()] == [3, size, 3]
            assert table.column("big")[1].as_py() == "z" * size
            assert d.query("SELECT 5") == [(5,)]
    finally:
        admin.execute(f"SET GLOBAL max_allowed_packet = {int(old)}")
        admin.close()


def test_error_after_100k_rows_raises_and_the_connection_stays_usable(drv: MySQLDriver) -> None:
    # the subquery returns two rows only from row 100,001 on: the server has sent rows by then
    sql = (
        "SELECT seq, (SELECT 1 FROM seq_1_to_2 WHERE seq <= IF(s.seq > 100000, 2, 1)) AS x "
        "FROM seq_1_to_200000 s"
    )
    reader = drv.read(sql, 10_000)
    seen = 0
    with pytest.raises(TerminalDatabaseError, match="more than 1 row") as err:
        for batch in reader:
            seen += batch.num_rows
    assert seen == 100_000  # every full batch before it, no partial one
    assert "read failed" in str(err.value)
    assert drv.query("SELECT 6") == [(6,)]


def test_cancel_while_rows_stream(drv: MySQLDriver) -> None:
    reader = drv.read("SELECT seq, SHA2(seq, 256) AS h FROM seq_1_to_1000000000", 10_000)
    assert reader.read_next_batch().num_rows == 10_000
    drv.cancel()
    started = time.monotonic()
    with pytest.raises(TerminalDatabaseError, match="interrupted"):
        for _ in reader:
            pass
    assert time.monotonic() - started < 10
    assert drv.query("SELECT 7") == [(7,)]


def test_cancel_from_another_thread_mid_stream(drv: MySQLDriver) -> None:
    threading.Timer(0.5, drv.cancel).start()
    started, rows = time.monotonic(), 0
    with pytest.raises(TerminalDatabaseError, match="interrupted"):
        for batch in drv.read("SELECT seq FROM seq_1_to_1000000000", 50_000):
            rows += batch.num_rows
    assert rows > 0 and time.monotonic() - started < 10
    assert drv.query("SELECT 8") == [(8,)]


def test_connection_killed_mid_stream_is_transient(mysql_url: str, drv: MySQLDriver) -> None:
    with connect(mysql_url, user="root") as victim:
        reader = victim.read("SELECT seq FROM seq_1_to_1000000000", 1000)
        assert reader.read_next_batch().num_rows == 1000
        drv.execute(f"KILL CONNECTION {victim._thread_id}")
        with pytest.raises(TransientDatabaseError, match=r"Lost connection|killed"):
            for _ in reader:
                pass


def test_connection_closed_mid_stream_is_transient(mysql_url: str) -> None:
    d = connect(mysql_url, user="root")
    reader = d.read("SELECT seq FROM seq_1_to_100000000", 1000)
    assert reader.read_next_batch().num_rows == 1000
    d.close()  # e.g. from the engine's shutdown, while the rows still stream
    with pytest.raises(TransientDatabaseError, match="Lost connection"):
        for _ in reader:
            pass


def test_read_timeout_mid_stream_is_an_error_not_a_hang(mysql_url: str) -> None:
    with connect(f"{mysql_url}?read_timeout=1", user="root") as d:
        sql = "SELECT seq, IF(seq = 20000, SLEEP(5), 0) AS z FROM seq_1_to_30000"
        started = time.monotonic()
        with pytest.raises(TransientDatabaseError, match="Lost connection"):
            d.read(sql, 1000).read_all()
        assert time.monotonic() - started < 5


def test_procedure_result_then_more_results(drv: MySQLDriver) -> None:
    """CALL sends its rows, then a second result: bytes read past the rows go back to PyMySQL."""
    drv.execute("CREATE PROCEDURE two_results() BEGIN SELECT seq FROM seq_1_to_5; END")
    table = drv.read("CALL two_results()").read_all()
    assert table.column("seq").to_pylist() == [1, 2, 3, 4, 5]
    assert drv.query("SELECT 9") == [(9,)]


def test_statement_without_rows(drv: MySQLDriver) -> None:
    reader = drv.read("DO 1")
    assert reader.schema.names == [] and reader.read_all().num_rows == 0
    assert drv.query("SELECT 10") == [(10,)]


def test_bad_values_name_the_column(drv: MySQLDriver) -> None:
    with pytest.raises(TerminalDatabaseError, match=r"'t'.*time"):
        drv.read("SELECT CAST('-01:00:00' AS TIME) AS t").read_all()
    drv.execute("CREATE TABLE flags (flag TINYINT(1))")
    drv.execute("INSERT INTO flags VALUES (1), (2)")
    with pytest.raises(TerminalDatabaseError, match=r"'flag'.*bool"):
        drv.read("SELECT flag FROM flags").read_all()
    assert drv.query("SELECT 11") == [(11,)]


def test_decimal_keeps_its_scale_in_arrow(drv: MySQLDriver) -> None:
    row = drv.read("SELECT d, f FROM mixed WHERE id = 1").read_all()
    assert str(row.column("d")[0].as_py()) == "-499992.081000"
    assert row.column("d").type.scale == 6
