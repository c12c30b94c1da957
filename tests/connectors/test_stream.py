"""seeds/004 §11: streaming (an AsyncIterator lands in partitions; stream -> DuckDB),
and the spec's defect fixed: an append never rewrites a month's file."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from pipekit.connectors.builtin.sample.connector import SampleConnector
from pipekit.connectors.runtime import ConnectorRuntime
from pipekit.connectors.state import writer_lock
from pipekit.errors import ConnectorError, ConnectorSpecError
from tests.connectors.sources import StreamConnector, event_rows


def clock_at(*moments: dt.datetime) -> Callable[[], dt.datetime]:
    """A clock that tells `moments` in turn, then keeps the last."""
    left = list(moments)

    def now() -> dt.datetime:
        return left.pop(0) if len(left) > 1 else left[0]

    return now


JAN = dt.datetime(2026, 1, 31, 23, 59, tzinfo=dt.UTC)
FEB = dt.datetime(2026, 2, 1, 0, 1, tzinfo=dt.UTC)


def parts(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out / "data")) for p in (out / "data").rglob("*.parquet"))


def count(out: Path, sql: str = "SELECT count(*), count(DISTINCT id) FROM events") -> tuple:
    con = duckdb.connect(str(out / "extract.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchone()  # type: ignore[return-value]
    finally:
        con.close()


class TestStreamingCapability:
    def test_async_iterator_lands_in_month_partitions(self, tmp_path: Path) -> None:
        c = StreamConnector()
        c.push(event_rows([1, 2]))
        c.push(event_rows([3]))
        rt = ConnectorRuntime(tmp_path, clock=clock_at(JAN, FEB))
        assert rt.run_stream_sync(c, "events") == 3
        found = parts(tmp_path)
        assert [p.split("/")[:2] for p in found] == [["events", "2026-01"], ["events", "2026-02"]]
        assert not list(tmp_path.rglob("*.tmp"))

    def test_stream_rows_are_queryable_in_extract_duckdb(self, tmp_path: Path) -> None:
        c = StreamConnector()
        c.push(event_rows(range(10)))
        ConnectorRuntime(tmp_path, clock=clock_at(JAN)).run_stream_sync(c, "events")
        assert count(tmp_path) == (10, 10)
        assert count(tmp_path, "SELECT rows, query_mode FROM _meta") == (10, "local")


def test_an_append_writes_a_new_file_and_never_rewrites_the_months_file(tmp_path: Path) -> None:
    rt = ConnectorRuntime(tmp_path, clock=clock_at(JAN))
    c = StreamConnector()
    c.push(event_rows([1]))
    rt.run_stream_sync(c, "events")
    (first,) = (tmp_path / "data").rglob("*.parquet")
    before = (first.stat().st_ino, first.stat().st_mtime_ns, hashlib.sha256(first.read_bytes()))
    c.push(event_rows([2, 3]))
    rt.run_stream_sync(c, "events")
    assert len(parts(tmp_path)) == 2  # both in January, one file each
    after = (first.stat().st_ino, first.stat().st_mtime_ns, hashlib.sha256(first.read_bytes()))
    assert before[:2] == after[:2] and before[2].digest() == after[2].digest()
    assert count(tmp_path) == (3, 3)


def test_concurrent_appends_under_the_lock_lose_nothing(tmp_path: Path) -> None:
    rt = ConnectorRuntime(tmp_path, clock=clock_at(JAN))
    errors: list[BaseException] = []

    def append(first: int) -> None:
        c = StreamConnector()
        for i in range(first, first + 5):
            c.push(event_rows([i]))
        try:
            rt.run_stream_sync(c, "events")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(n * 100,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(parts(tmp_path)) == 4
    assert count(tmp_path) == (20, 20)


def test_a_bad_batch_keeps_what_arrived_before_it(tmp_path: Path) -> None:
    c = StreamConnector()
    c.push(event_rows([1, 2]))
    c.queue.append(pa.RecordBatch.from_pylist([{"id": 3}], pa.schema([("id", pa.int64())])))
    rt = ConnectorRuntime(tmp_path, clock=clock_at(JAN))
    with pytest.raises(ConnectorError, match="batch 2 of events does not have the table's schema"):
        rt.run_stream_sync(c, "events")
    assert count(tmp_path) == (2, 2)


def test_stream_refused_for_undeclared_capability_or_table(tmp_path: Path) -> None:
    rt = ConnectorRuntime(tmp_path)
    with pytest.raises(ConnectorError, match="does not declare the stream capability"):
        rt.run_stream_sync(SampleConnector({}), "orders")
    with pytest.raises(ConnectorSpecError, match="no stream for table 'orders'"):
        rt.run_stream_sync(StreamConnector(), "orders")
    assert not (tmp_path / "data").exists()


def test_stream_with_the_lock_held_reports_the_rows_it_could_not_keep(tmp_path: Path) -> None:
    rt = ConnectorRuntime(tmp_path, clock=clock_at(JAN), lock_timeout_s=0)
    c = StreamConnector()
    c.push(event_rows([1, 2]))
    with (
        writer_lock(rt.lock_path, 0),
        pytest.raises(ConnectorError, match=r"the 2 row\(s\) received were not kept"),
    ):
        rt.run_stream_sync(c, "events")
    assert parts(tmp_path) == [] and not list(tmp_path.rglob("*.tmp"))
