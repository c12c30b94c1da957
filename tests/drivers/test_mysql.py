"""The MariaDB driver against a real server: types, streaming, LOAD DATA, errors, introspection."""

from __future__ import annotations

import datetime as dt
import io
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from pipekit.drivers import connect
from pipekit.drivers import types as T
from pipekit.drivers.mysql import SQL_MODE, MySQLDriver
from pipekit.drivers.mysql_fast import ProtocolError, RawBatch, _Prefixed, split_columns
from pipekit.drivers.url import parse_url
from pipekit.errors import ConnectionSpecError, TerminalDatabaseError, TransientDatabaseError

ALL_TYPES = """
CREATE TABLE all_types (
  id INT PRIMARY KEY,
  b BOOLEAN, i8 TINYINT, u8 TINYINT UNSIGNED, i16 SMALLINT, i24 MEDIUMINT, i32 INT,
  u32 INT UNSIGNED, i64 BIGINT, u64 BIGINT UNSIGNED, f32 FLOAT, f64 DOUBLE,
  d DECIMAL(38,10), du DECIMAL(10,2) UNSIGNED, s VARCHAR(100), t LONGTEXT, e ENUM('x','y'),
  bin VARBINARY(20), blb LONGBLOB, dte DATE, tm TIME(6), dtm DATETIME(6),
  ts TIMESTAMP(6) NULL, yr YEAR, bt BIT(10), j JSON, u UUID
) ENGINE=InnoDB
"""
ROW = (
    "1, TRUE, -128, 255, -32768, -8388608, -2147483648, 4294967295, -9223372036854775808, "
    "18446744073709551615, 1.5, 0.30000000000000004, "
    "1234567890123456789012345678.0123456789, 99999999.99, 'héllo ☃ 😀', "
    "'quote '' dq \" bs \\\\ tab \t nl \n nul \\0 end', 'y', X'00FF0A5C09', X'00FF', "
    "'2024-02-29', '23:59:59.999999', '2024-02-29 12:34:56.123456', "
    "'2038-01-19 03:14:07.654321', 2024, b'1010101010', '{\"a\": [1, \"x\"]}', "
    "'123e4567-e89b-12d3-a456-426614174000'"
)
NULL_ROW = "2" + ", NULL" * 26


@pytest.fixture(scope="module")
def drv(mysql_url: str) -> Iterator[MySQLDriver]:
    d = connect(mysql_url)
    assert isinstance(d, MySQLDriver)
    d.execute(ALL_TYPES)
    d.execute(f"INSERT INTO all_types VALUES ({ROW}), ({NULL_ROW})")
    yield d
    d.close()


def test_connect_and_version(drv: MySQLDriver) -> None:
    assert "MariaDB" in drv.server_version()
    assert drv.default_schema == parse_url(drv.url.raw).database
    assert drv.query("SELECT @@session.time_zone")[0][0] == "+00:00"


def test_literal_with_backslash_and_quotes_round_trips(drv: MySQLDriver) -> None:
    s = "back\\slash 'single' \"double\" \\' \\\\ end\\"
    assert drv.query(f"SELECT {drv.literal(s)}")[0][0] == s


def test_read_every_type(drv: MySQLDriver) -> None:
    table = drv.read("SELECT * FROM all_types ORDER BY id").read_all()
    expected = {
        "id": pa.int32(), "b": pa.bool_(), "i8": pa.int8(), "u8": pa.uint8(),
        "i16": pa.int16(), "i24": pa.int32(), "i32": pa.int32(), "u32": pa.uint32(),
        "i64": pa.int64(), "u64": pa.uint64(), "f32": pa.float32(), "f64": pa.float64(),
        "d": pa.decimal128(38, 10), "du": pa.decimal128(10, 2), "s": pa.string(),
        "t": pa.string(), "e": pa.string(), "bin": pa.binary(), "blb": pa.binary(),
        "dte": pa.date32(), "tm": pa.time64("us"), "dtm": pa.timestamp("us"),
        "ts": pa.timestamp("us", tz="UTC"), "yr": pa.int16(), "bt": pa.uint64(),
        "j": pa.string(), "u": pa.string(),
    }  # fmt: skip
    assert dict(zip(table.schema.names, table.schema.types, strict=True)) == expected
    row, nulls = table.to_pylist()
    assert row == {
        "id": 1, "b": True, "i8": -128, "u8": 255, "i16": -32768, "i24": -8388608,
        "i32": -2147483648, "u32": 4294967295, "i64": -9223372036854775808,
        "u64": 18446744073709551615, "f32": 1.5, "f64": 0.30000000000000004,
        "d": Decimal("1234567890123456789012345678.0123456789"), "du": Decimal("99999999.99"),
        "s": "héllo ☃ 😀", "t": "quote ' dq \" bs \\ tab \t nl \n nul \x00 end", "e": "y",
        "bin": b"\x00\xff\n\\\t", "blb": b"\x00\xff", "dte": dt.date(2024, 2, 29),
        "tm": dt.time(23, 59, 59, 999999), "dtm": dt.datetime(2024, 2, 29, 12, 34, 56, 123456),
        "ts": dt.datetime(2038, 1, 19, 3, 14, 7, 654321, tzinfo=dt.UTC), "yr": 2024,
        "bt": 0b1010101010, "j": '{"a": [1, "x"]}', "u": "123e4567-e89b-12d3-a456-426614174000",
    }  # fmt: skip
    assert nulls == {"id": 2, **{k: None for k in expected if k != "id"}}


def test_zero_row_result_keeps_schema(drv: MySQLDriver) -> None:
    reader = drv.read("SELECT d, dtm, bin FROM all_types WHERE 1 = 0")
    assert reader.schema.types == [pa.decimal128(38, 10), pa.timestamp("us"), pa.binary()]
    assert reader.read_all().num_rows == 0


def test_read_streams_in_bounded_batches(drv: MySQLDriver) -> None:
    reader = drv.read("SELECT seq, CONCAT('row ', seq) AS s FROM seq_1_to_200000", 10_000)
    first = reader.read_next_batch()
    assert first.num_rows == 10_000 and first.column(0)[0].as_py() == 1
    sizes = [first.num_rows] + [b.num_rows for b in reader]
    assert len(sizes) >= 20 and max(sizes) <= 10_000 and sum(sizes) == 200_000
    assert drv.query("SELECT 1") == [(1,)]  # the connection is free again


def test_abandoned_read_is_stopped_not_drained(drv: MySQLDriver) -> None:
    reader = drv.read("SELECT seq FROM seq_1_to_1000000000", 1000)
    assert reader.read_next_batch().num_rows == 1000
    started = time.monotonic()
    reader.close()
    del reader
    assert drv.query("SELECT 2") == [(2,)]
    assert time.monotonic() - started < 10


def test_cancel_from_another_thread(drv: MySQLDriver) -> None:
    threading.Timer(0.5, drv.cancel).start()
    started = time.monotonic()
    with pytest.raises(TerminalDatabaseError, match="interrupted"):
        drv.read(
            "SELECT COUNT(*) FROM seq_1_to_100000 a, seq_1_to_100000 b WHERE a.seq + b.seq = 3"
        ).read_all()
    assert time.monotonic() - started < 10
    assert drv.query("SELECT 3") == [(3,)]


def test_unreadable_value_is_an_error_not_a_change(drv: MySQLDriver) -> None:
    with pytest.raises(TerminalDatabaseError, match="'big'"):
        drv.read("SELECT CAST('30:00:00' AS TIME) AS big").read_all()
    assert drv.query("SELECT 4") == [(4,)]


def test_load_round_trip(drv: MySQLDriver) -> None:
    source = drv.read("SELECT * FROM all_types ORDER BY id").read_all()
    drv.create_table("rt", source.schema, primary_key=["id"])
    assert drv.load("rt", source) == 2
    back = drv.read("SELECT * FROM rt ORDER BY id").read_all()
    # zone-aware timestamps are stored as DATETIME(6) in UTC and read back naive
    assert back.schema.field("ts").type == pa.timestamp("us")
    back = back.set_column(back.schema.get_field_index("ts"), "ts", source.column("ts"))
    assert back.to_pylist() == source.to_pylist()
    engine = drv.query(
        "SELECT engine, table_collation FROM information_schema.tables "
        "WHERE table_schema = DATABASE() AND table_name = 'rt'"
    )[0]
    assert engine[0] == "InnoDB" and engine[1].startswith("utf8mb4")


def test_load_canonical_types(drv: MySQLDriver) -> None:
    u = uuid.UUID("123e4567-e89b-12d3-a456-426614174000")
    floats = [0.1, 1 / 3, 1e300, 5e-324, -2.5e-10, None]
    data = pa.table(
        {
            "k": pa.array(["a", "b\tc\\d\x00", "\n", "", "\\N", "z"]),
            "f": pa.array(floats),
            "tz": pa.array(
                [dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC)] * 5 + [None],
                pa.timestamp("us", tz="UTC"),
            ),
            "u": pa.ExtensionArray.from_storage(
                T.UUID, pa.array([u.bytes] * 5 + [None], pa.binary(16))
            ),
            "j": pa.ExtensionArray.from_storage(T.JSON, pa.array(['{"a": 1}'] * 6)),
            "n": pa.array([None] * 6, pa.null()),
        }
    )
    drv.create_table("canon", data.schema, primary_key=["k"])
    assert drv.load("canon", data) == 6
    cols = {c.name: c for c in drv.list_columns("canon")}
    assert cols["u"].arrow_type == T.UUID and cols["j"].arrow_type == T.JSON
    assert cols["k"].type == "varchar(255)" and cols["k"].primary_key
    back = drv.read("SELECT * FROM canon ORDER BY k").read_all().sort_by("k")
    expected = data.sort_by("k")
    assert back.column("k").to_pylist() == expected.column("k").to_pylist()
    assert back.column("f").to_pylist() == expected.column("f").to_pylist()  # repr-exact
    assert back.column("tz").to_pylist() == [dt.datetime(2024, 1, 1, 12)] * 5 + [None]
    assert back.column("u").to_pylist().count(str(u)) == 5
    assert back.column("n").null_count == 6


def test_load_rolled_back_on_exception(drv: MySQLDriver) -> None:
    drv.execute("CREATE TABLE rb (id INT PRIMARY KEY, s LONGTEXT)")
    data = pa.table({"id": pa.array([1, 2], pa.int32()), "s": ["a", "b"]})
    with pytest.raises(RuntimeError), drv.transaction():
        drv.load("rb", data)
        assert drv.query("SELECT COUNT(*) FROM rb") == [(2,)]
        raise RuntimeError("boom")
    assert drv.query("SELECT COUNT(*) FROM rb") == [(0,)]


def test_load_into_missing_column_is_refused(drv: MySQLDriver) -> None:
    drv.execute("CREATE TABLE mc (id INT)")
    with pytest.raises(TerminalDatabaseError, match=r"nope.*not in the table"):
        drv.load("mc", pa.table({"id": [1], "nope": ["x"]}))
    assert drv.query("SELECT COUNT(*) FROM mc") == [(0,)]


def test_load_of_values_that_do_not_fit_writes_nothing(drv: MySQLDriver) -> None:
    drv.execute("CREATE TABLE small (d DECIMAL(5,2), s VARCHAR(3), i TINYINT)")
    too_big = pa.table({"d": pa.array([Decimal("1.00"), Decimal("1e10")], pa.decimal128(38, 2))})
    for bad in (
        too_big,
        pa.table({"s": ["abc", "abcd"]}),  # caught by the server: LOAD DATA only warns
        pa.table({"i": pa.array([1, 300], pa.int64())}),
        pa.table({"d": ["1.5", "x"]}),
    ):
        with pytest.raises(TerminalDatabaseError):
            drv.load("small", bad)
        assert drv.query("SELECT COUNT(*) FROM small") == [(0,)]
    with pytest.raises(TerminalDatabaseError, match=r"Data too long|truncated"):
        drv.load("small", pa.table({"s": ["abcd"]}))


def test_load_into_missing_table(drv: MySQLDriver) -> None:
    with pytest.raises(TerminalDatabaseError, match="does not exist"):
        drv.load("no_such_table", pa.table({"a": [1]}))


def test_wrong_password_is_terminal_and_not_echoed(mysql_url: str) -> None:
    secret = "s3cret-Value-42"
    with pytest.raises(TerminalDatabaseError) as err:
        connect(mysql_url, user="root", password=secret)
    assert "Access denied" in str(err.value)
    assert secret not in str(err.value) and secret not in repr(err.value.reason)


def test_unknown_database_is_terminal() -> None:
    with pytest.raises(TerminalDatabaseError, match="Unknown database"):
        connect("mysql://root@127.0.0.1:3306/pk_no_such_db_x")


def test_unreachable_port_is_transient() -> None:
    with pytest.raises(TransientDatabaseError, match="Can't connect"):
        connect("mariadb://root@127.0.0.1:1/test")


def test_bad_sql_is_terminal(drv: MySQLDriver) -> None:
    with pytest.raises(TerminalDatabaseError, match="syntax"):
        drv.execute("SELEKT 1")
    with pytest.raises(TerminalDatabaseError, match="doesn't exist"):
        drv.read("SELECT * FROM missing_table")
    assert not drv.is_transient(ValueError("x"))


def test_introspection(drv: MySQLDriver) -> None:
    assert drv.default_schema in drv.list_schemas()
    assert not {"mysql", "information_schema", "sys"} & set(drv.list_schemas())
    assert "all_types" in drv.list_tables()
    assert drv.table_exists("all_types")
    assert drv.list_tables(drv.default_schema) == drv.list_tables()
    cols = {c.name: c for c in drv.list_columns(f"{drv.default_schema}.all_types")}
    assert cols["id"].primary_key and not cols["id"].nullable
    assert not cols["b"].primary_key and cols["b"].nullable
    types = {n: c.arrow_type for n, c in cols.items()}
    assert types["b"] == pa.bool_() and types["u8"] == pa.uint8()
    assert types["d"] == pa.decimal128(38, 10) and types["du"] == pa.decimal128(10, 2)
    assert types["dtm"] == pa.timestamp("us") and types["tm"] == pa.time64("us")
    assert types["ts"] == pa.timestamp("us", tz="UTC") and types["yr"] == pa.int16()
    assert types["t"] == pa.string() and types["blb"] == pa.binary()
    assert types["j"] == T.JSON and types["u"] == T.UUID and types["bt"] == pa.uint64()
    # introspection and a read agree, except where the wire carries no type (JSON, UUID)
    read = drv.read("SELECT * FROM all_types").schema
    assert [n for n in read.names if read.field(n).type != types[n]] == ["j", "u"]


def test_ddl_types(drv: MySQLDriver) -> None:
    assert drv.ddl_type(pa.decimal128(38, 10)) == "DECIMAL(38,10)"
    assert drv.ddl_type(pa.decimal256(70, 10)) == "LONGTEXT"
    assert drv.ddl_type(pa.string(), key=True) == "VARCHAR(255)"
    assert drv.ddl_type(pa.binary(), key=True) == "VARBINARY(1020)"
    assert drv.ddl_type(pa.timestamp("us", tz="UTC")) == "DATETIME(6)"


def test_unknown_url_option_is_refused() -> None:
    with pytest.raises(ConnectionSpecError, match="unknown mysql URL option"):
        connect("mysql://root@127.0.0.1:3306/test?colour=blue")


def test_long_values_and_wide_decimals(drv: MySQLDriver) -> None:
    table = drv.read(
        "SELECT REPEAT('x', 300) AS a, REPEAT('é', 70000) AS b, CAST("
        "'12345678901234567890123456789012345.123456789012345678901234567890' "
        "AS DECIMAL(65,30)) AS d"
    ).read_all()
    assert table.schema.field("d").type == pa.decimal256(65, 30)
    row = table.to_pylist()[0]
    assert row["a"] == "x" * 300 and row["b"] == "é" * 70000
    assert row["d"] == Decimal("12345678901234567890123456789012345.123456789012345678901234567890")


def test_split_columns_reads_every_length_prefix() -> None:
    # two row packets: one-byte lengths, NULL (0xFB), 2-, 3- and 8-byte lengths, empty
    payloads = [
        b"\x01a\xfb\xfc\x02\x00bc\xfd\x01\x00\x00d\xfe\x01" + b"\x00" * 7 + b"e\x00",
        b"\x00\x02xy\xfb\xfb\x01z\x03\x00\x00\x00",
    ]
    data, starts = b"", []
    for seq, p in enumerate(payloads):
        starts.append(len(data) + 4)
        data += len(p).to_bytes(3, "little") + bytes([seq]) + p
    ends = [s + len(p) for s, p in zip(starts, payloads, strict=True)]
    batch = RawBatch(data + bytes(16), np.array(starts), np.array(ends))
    columns = list(split_columns(batch, 6))
    values = [
        [None if v.valid is not None and not v.valid[r] else data[s : s + n] for r, (s, n) in
         enumerate(zip(v.starts, v.lengths, strict=True))]
        for v in columns
    ]  # fmt: skip
    assert list(zip(*values, strict=True)) == [
        (b"a", None, b"bc", b"d", b"e", b""),
        (b"", b"xy", None, None, b"z", b"\x00\x00\x00"),
    ]


def test_split_columns_refuses_a_row_that_does_not_match_the_columns() -> None:
    data = b"\x04\x00\x00\x00\x01a\x01b" + bytes(16)
    batch = RawBatch(data, np.array([4]), np.array([8]))
    with pytest.raises(ProtocolError, match="fill its packet"):
        list(split_columns(batch, 1))
    with pytest.raises(ProtocolError, match="fewer values"):
        list(split_columns(batch, 3))


def test_bytes_read_past_a_result_are_given_back_in_order() -> None:
    rest = io.BufferedReader(io.BytesIO(b"defgh"))
    reader = _Prefixed(b"abc", rest)
    assert [reader.read1(2), reader.read(3), reader.read1(10), reader.read(5)] == [
        b"ab",
        b"cde",
        b"fgh",
        b"",
    ]
    assert _Prefixed(b"abc", io.BufferedReader(io.BytesIO(b"de"))).read() == b"abcde"


def test_zero_dates_read_as_null(drv: MySQLDriver) -> None:
    drv.execute("CREATE TABLE zero (d DATE, t DATETIME)")
    drv.execute("SET SESSION sql_mode = ''")
    try:
        drv.execute(
            "INSERT INTO zero VALUES ('0000-00-00', '0000-00-00 00:00:00'), "
            "('2024-01-02', '2024-01-02 03:04:05')"
        )
    finally:
        drv.execute(f"SET SESSION sql_mode = '{SQL_MODE}'")
    assert drv.read("SELECT * FROM zero").read_all().to_pylist() == [
        {"d": None, "t": None},
        {"d": dt.date(2024, 1, 2), "t": dt.datetime(2024, 1, 2, 3, 4, 5)},
    ]


def test_float_text_is_six_digits_cast_to_double_is_exact(drv: MySQLDriver) -> None:
    drv.execute("CREATE TABLE fl (f FLOAT)")
    value = pa.array([3.14159265], pa.float32())
    drv.load("fl", pa.table({"f": value}))
    # the server renders FLOAT with 6 significant digits; DOUBLE text is exact
    assert drv.read("SELECT f FROM fl").read_all().column(0)[0].as_py() == 3.141590118408203
    exact = drv.read("SELECT CAST(f AS DOUBLE) AS f FROM fl").read_all()
    assert exact.column(0).cast(pa.float32()) == pa.chunked_array([value])


def test_load_into_native_column_types(drv: MySQLDriver) -> None:
    """BIT, YEAR, ENUM, TIMESTAMP, JSON and UUID columns take what a read of them gave."""
    drv.execute("CREATE TABLE native LIKE all_types")
    source = drv.read("SELECT * FROM all_types ORDER BY id").read_all()
    assert drv.load("native", source) == 2
    assert drv.read("SELECT * FROM native ORDER BY id").read_all().equals(source)
    bits = pa.array([1023], pa.uint64())
    drv.load("native", pa.table({"id": pa.array([3], pa.int32()), "b": [False], "bt": bits}))
    assert drv.query("SELECT b, bt + 0 FROM native WHERE id = 3") == [(0, 1023)]
    with pytest.raises(TerminalDatabaseError, match="uuid"):
        drv.load("native", pa.table({"id": pa.array([4], pa.int32()), "u": ["not-a-uuid"]}))
    with pytest.raises(TerminalDatabaseError, match=r"CONSTRAINT|json"):
        drv.load("native", pa.table({"id": pa.array([5], pa.int32()), "j": ["{not json"]}))
    assert drv.query("SELECT COUNT(*) FROM native") == [(3,)]
