"""Watermarks against every real database: precision, zones, look-back, inert text."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pytest

from pipekit.drivers.base import Driver
from pipekit.engine.watermarks import (
    WatermarkError,
    is_empty,
    lower_bound,
    parse_window,
    read_max,
    upper_bound,
)
from tests.helpers import KINDS

BASE = dt.datetime(2024, 3, 1, 12, 0, 0)
ROWS = pa.table(
    {
        "id": pa.array([1, 2, 3, 4, 5], pa.int64()),
        # one microsecond apart at the end: rounding would merge them
        "ts": pa.array(
            [BASE, BASE + dt.timedelta(seconds=30), BASE + dt.timedelta(minutes=1),
             BASE + dt.timedelta(minutes=1, microseconds=1), None],
            pa.timestamp("us"),
        ),
        "tstz": pa.array(
            [BASE.replace(tzinfo=dt.UTC) + dt.timedelta(hours=h) for h in range(4)] + [None],
            pa.timestamp("us", tz="UTC"),
        ),
        "label": pa.array(["a", "'; DROP TABLE wm; --", "m", "z", None]),
        "amount": pa.array([decimal.Decimal(x) for x in ("1.10", "2.20", "3.30", "4.40")] + [None],
                           pa.decimal128(12, 2)),
    }
)  # fmt: skip


def ids(d: Driver, where: str) -> list[int]:
    return [r[0] for r in d.query(f"SELECT id FROM {d.quote('wm')} WHERE {where} ORDER BY id")]


@pytest.fixture(params=KINDS)
def wm(request: pytest.FixtureRequest, drivers: dict[str, Driver]) -> Driver:
    d = drivers[request.param]
    d.drop_table("wm")
    d.create_table("wm", ROWS.schema, ["id"])
    d.load("wm", ROWS)
    return d


def test_strictly_after_the_watermark_to_the_microsecond(wm: Driver) -> None:
    high = read_max(wm, "wm", "ts")
    assert high.as_py() == BASE + dt.timedelta(minutes=1, microseconds=1)
    assert ids(wm, lower_bound(high, ">").render(wm.quote("ts"), wm)) == []
    assert ids(wm, lower_bound(high, ">=").render(wm.quote("ts"), wm)) == [4]
    third = pa.scalar(BASE + dt.timedelta(minutes=1), pa.timestamp("us"))
    assert ids(wm, lower_bound(third, ">").render(wm.quote("ts"), wm)) == [4]


def test_lookback_rereads_the_window(wm: Driver) -> None:
    high = read_max(wm, "wm", "ts")
    bound = lower_bound(high, ">", "20 seconds")
    assert bound.op == ">=" and bound.text() == "2024-03-01 12:00:40.000001"
    assert ids(wm, bound.render(wm.quote("ts"), wm)) == [3, 4]


def test_zoned_timestamps(wm: Driver) -> None:
    high = read_max(wm, "wm", "tstz")
    assert high.as_py().hour == 15
    assert ids(wm, lower_bound(high, ">", "1 hour").render(wm.quote("tstz"), wm)) == [3, 4]


def test_text_watermark_is_only_compared(wm: Driver) -> None:
    bound = lower_bound(pa.scalar("'; DROP TABLE wm; --"), ">=")
    assert ids(wm, bound.render(wm.quote("label"), wm)) == [1, 2, 3, 4]
    assert "wm" in wm.list_tables()


def test_decimal_watermark_with_numeric_lookback(wm: Driver) -> None:
    high = read_max(wm, "wm", "amount")
    assert high.as_py() == decimal.Decimal("4.40")
    assert ids(wm, lower_bound(high, ">", 1.1).render(wm.quote("amount"), wm)) == [3, 4]


def test_empty_table_means_no_watermark(drivers: dict[str, Driver]) -> None:
    d = drivers["sqlite"]
    d.drop_table("empty_wm")
    d.create_table("empty_wm", ROWS.schema, ["id"])
    assert is_empty(read_max(d, "empty_wm", "ts"))
    with pytest.raises(WatermarkError, match="'nope' is not a column"):
        read_max(d, "empty_wm", "nope")


def test_nanoseconds_survive_on_duckdb(drivers: dict[str, Driver]) -> None:
    d = drivers["duckdb"]
    d.execute("CREATE OR REPLACE TABLE ns (id BIGINT, happened TIMESTAMP_NS)")
    d.execute(
        "INSERT INTO ns VALUES (1, '2024-01-01 00:00:00.000000001'), "
        "(2, '2024-01-01 00:00:00.000000002')"
    )
    low = d.read("SELECT MIN(happened) FROM ns").read_all().column(0)[0]
    assert low.type == pa.timestamp("ns")
    bound = lower_bound(low, ">")
    assert bound.text().endswith(".000000001")
    rows = d.query(f"SELECT id FROM ns WHERE {bound.render('happened', d)}")
    assert rows == [(2,)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 days", dt.timedelta(days=2)),
        ("5 minutes", dt.timedelta(minutes=5)),
        ("1 hour", dt.timedelta(hours=1)),
        ("90s", dt.timedelta(seconds=90)),
        ("1.5 h", dt.timedelta(minutes=90)),
        (500, decimal.Decimal(500)),
        ("500", decimal.Decimal(500)),
        (None, None),
    ],
)
def test_windows(text: str | int | None, expected: object) -> None:
    assert parse_window(text) == expected


@pytest.mark.parametrize(
    "bad", ["two days", "5 fortnights", "-", True, "nan", "inf", -float("inf")]
)
def test_bad_windows(bad: object) -> None:
    with pytest.raises(WatermarkError):
        parse_window(bad)  # type: ignore[arg-type]


def test_bad_operator() -> None:
    with pytest.raises(WatermarkError, match="'>' or '>='"):
        lower_bound(pa.scalar(1), "=>")


def test_safety_lag_caps_the_window_before_now() -> None:
    now = dt.datetime(2024, 3, 1, 12, 10, tzinfo=dt.UTC)
    bound = upper_bound(now, "5 minutes", pa.timestamp("us"))
    assert bound is not None and bound.op == "<"
    assert bound.value.as_py() == dt.datetime(2024, 3, 1, 12, 5)
    assert upper_bound(now, None, pa.timestamp("us")) is None
    with pytest.raises(WatermarkError, match="date or timestamp"):
        upper_bound(now, "5 minutes", pa.int64())


def test_null_markers() -> None:
    assert is_empty(None) and is_empty("∅") and is_empty(pa.scalar("∅"))
    assert is_empty(pa.scalar(None, pa.int64())) and not is_empty(pa.scalar(0))
