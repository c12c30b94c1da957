"""DuckDB session and load settings (``drivers/duckdb.py``) on real files.

The settings a load runs with are read from a second connection to the same
database while DuckDB is scanning the stream (settings belong to the database,
so that connection sees them).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipekit.drivers import connect
from pipekit.drivers import duckdb as duck
from pipekit.drivers.base import Driver
from pipekit.errors import ConnectionSpecError, TerminalDatabaseError

SCHEMA = pa.schema([("id", pa.int64()), ("v", pa.string())])


@pytest.fixture
def url(tmp_path: Path) -> str:
    # contained (no external_access): the per-statement caps apply all the same
    return f"duckdb:///{tmp_path / 'w.duckdb'}?create=true"


@pytest.fixture
def drv(url: str) -> Iterator[Driver]:
    d = connect(url)
    d.execute("CREATE TABLE plain (id BIGINT, v VARCHAR)")
    d.execute("CREATE TABLE keyed (id BIGINT PRIMARY KEY, v VARCHAR)")
    yield d
    d.close()


def settings(d: Driver) -> tuple[str, int]:
    row = d.query("SELECT current_setting('memory_limit'), current_setting('threads')")[0]
    return str(row[0]), int(row[1])


_UNITS = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "bytes": 1}


def put_back(after: tuple[str, int], before: tuple[str, int]) -> bool:
    """Whether the settings are back: the memory limit is set back from its display
    ("18.8 GiB"), so it may differ from the default by that display's last digit."""
    (a_mem, a_threads), (b_mem, b_threads) = after, before

    def size(text: str) -> float:
        number, unit = text.split()
        return float(number) * _UNITS[unit]

    step = 0.1 * _UNITS[b_mem.split()[1]]
    return a_threads == b_threads and abs(size(a_mem) - size(b_mem)) <= step + 1


def watching(d: Driver, seen: list[tuple[str, int]], rows: int = 3) -> pa.RecordBatchReader:
    """A stream that records the settings in force while DuckDB scans it."""
    other = d._conn.cursor()  # type: ignore[attr-defined]

    def gen() -> Iterator[pa.RecordBatch]:
        for i in range(rows):
            row = other.execute(
                "SELECT current_setting('memory_limit'), current_setting('threads')"
            ).fetchone()
            seen.append((str(row[0]), int(row[1])))
            yield pa.record_batch([pa.array([i]), pa.array([f"v{i}"])], schema=SCHEMA)

    return pa.RecordBatchReader.from_batches(SCHEMA, gen())


def test_a_load_runs_with_one_thread_and_a_small_memory_limit_then_puts_them_back(
    drv: Driver,
) -> None:
    before = settings(drv)
    seen: list[tuple[str, int]] = []
    assert drv.load("plain", watching(drv, seen)) == 3
    assert seen and all(s == ("30.5 MiB", 1) for s in seen), seen
    assert duck.LOAD_SETTINGS == {"threads": "1", "memory_limit": "32MB"}
    assert put_back(settings(drv), before)
    assert drv.query("SELECT id, v FROM plain ORDER BY id") == [(0, "v0"), (1, "v1"), (2, "v2")]


def test_a_table_with_a_primary_key_keeps_the_memory_limit_its_index_needs(
    drv: Driver,
) -> None:
    before = settings(drv)
    seen: list[tuple[str, int]] = []
    drv.load("keyed", watching(drv, seen))
    assert seen and all(s == (before[0], 1) for s in seen), seen
    assert put_back(settings(drv), before)


def test_settings_are_put_back_after_a_failed_load(drv: Driver) -> None:
    before = settings(drv)

    def bad() -> Iterator[pa.RecordBatch]:
        yield pa.record_batch([pa.array([1]), pa.array(["a"])], schema=SCHEMA)
        yield pa.record_batch([pa.array([1]), pa.array(["dup"])], schema=SCHEMA)

    with pytest.raises(TerminalDatabaseError, match="load into keyed failed"):
        drv.load("keyed", pa.RecordBatchReader.from_batches(SCHEMA, bad()))
    assert put_back(settings(drv), before)
    assert drv.query("SELECT count(*) FROM keyed") == [(0,)]


def test_interrupt_stops_a_load_and_puts_the_settings_back(drv: Driver) -> None:
    before = settings(drv)
    started = threading.Event()

    def slow() -> Iterator[pa.RecordBatch]:
        for i in range(1000):
            started.set()
            time.sleep(0.01)
            yield pa.record_batch([pa.array([i]), pa.array(["x"])], schema=SCHEMA)

    def stop() -> None:
        started.wait(10)
        time.sleep(0.2)
        drv.cancel()

    thread = threading.Thread(target=stop)
    thread.start()
    t0 = time.monotonic()
    with pytest.raises(TerminalDatabaseError, match=r"(?i)interrupt"):
        drv.load("plain", pa.RecordBatchReader.from_batches(SCHEMA, slow()))
    thread.join()
    assert time.monotonic() - t0 < 5
    assert put_back(settings(drv), before)
    assert drv.query("SELECT count(*) FROM plain") == [(0,)]


def test_url_options_set_duckdb_settings_and_loads_leave_them_alone(tmp_path: Path) -> None:
    path = tmp_path / "o.duckdb"
    url = f"duckdb:///{path}?create=true&external_access=true&memory_limit=1GB&threads=2"
    with connect(url) as d:
        assert settings(d) == ("953.6 MiB", 2)
        d.execute("CREATE TABLE plain (id BIGINT, v VARCHAR)")
        seen: list[tuple[str, int]] = []
        d.load("plain", watching(d, seen))
        assert seen and all(s == ("953.6 MiB", 2) for s in seen), seen


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("no_such_setting=1", "'no_such_setting' is not a DuckDB setting"),
        ("memory_limit=lots", "memory_limit='lots' was refused"),
        ("threads=-3", "threads='-3' was refused"),
    ],
)
def test_a_bad_url_option_is_a_clear_error(tmp_path: Path, option: str, message: str) -> None:
    path = tmp_path / "bad.duckdb"
    with pytest.raises(ConnectionSpecError, match=message):
        connect(f"duckdb:///{path}?create=true&{option}")
    # the refused connection was closed: the file opens again, read-write
    duckdb.connect(str(path)).close()


def test_after_a_load_a_large_keyed_insert_has_the_whole_memory_again(drv: Driver) -> None:
    """The load's lowered memory_limit is set back by value: after a RESET, DuckDB 1.5
    read the default back but kept the buffer pool at the load's limit, and the merge
    into a keyed table of a few million rows then ran out of memory."""
    drv.execute("CREATE TABLE staged (id BIGINT, line BIGINT)")
    n = 4_000_000
    ids = pa.array(range(n), pa.int64())
    batch = pa.record_batch({"id": ids, "line": ids})
    with drv.transaction():
        drv.load("staged", pa.RecordBatchReader.from_batches(batch.schema, [batch]))
    drv.execute("CREATE TABLE keyed2 (id BIGINT, line BIGINT, PRIMARY KEY (id, line))")
    with drv.transaction():
        assert drv.execute_count("INSERT INTO keyed2 SELECT * FROM staged") == n
    assert drv.query("SELECT count(*) FROM keyed2") == [(n,)]


def test_capped_memory_holds_a_statement_on_unindexed_tables_to_the_load_cap(
    drv: Driver,
) -> None:
    """The duplicate-key check's grouping spills rather than fills the machine; a
    table with an index (a key, or CREATE INDEX) keeps the memory its index needs."""
    from pipekit.drivers.base import TableRef

    drv.execute("CREATE TABLE indexed (id BIGINT, v VARCHAR)")
    drv.execute("CREATE INDEX indexed_v ON indexed (v)")
    before = settings(drv)
    with drv.capped_memory([TableRef("plain"), TableRef("not_there_yet")]):
        # one thread as in a load: every thread takes buffers of its own
        assert settings(drv) == ("61.0 MiB", 1)
    assert put_back(settings(drv), before)
    for table in ("keyed", "indexed"):
        with drv.capped_memory([TableRef("plain"), TableRef(table)]):
            assert put_back(settings(drv), before)  # not capped


def test_the_cap_grows_with_the_rows_of_the_largest_table(drv: Driver) -> None:
    """DuckDB's hash join needs room by the row, whatever the cap: 64 MB plus 4 bytes
    a row of the largest table the capped statement reads."""
    from pipekit.drivers.base import TableRef

    drv.execute("CREATE TABLE big AS SELECT i AS id FROM range(5000000) r(i)")
    with drv.capped_memory([TableRef("plain"), TableRef("big")]):
        # 64 + 20 = 84 MB, which DuckDB shows in MiB
        assert settings(drv) == ("80.1 MiB", 1)


def test_a_long_load_runs_in_several_statements_of_one_transaction(drv: Driver) -> None:
    rows = duck.LOAD_STATEMENT_ROWS * 2 + 5
    ids = pa.array(range(rows), pa.int64())
    data = pa.table({"id": ids, "v": pc.cast(ids, pa.string())})
    assert drv.load("plain", data.to_reader(max_chunksize=10_000)) == rows
    assert drv.query("SELECT count(*), count(DISTINCT id), max(v::BIGINT) FROM plain") == [
        (rows, rows, rows - 1)
    ]


def test_a_failure_in_a_later_statement_leaves_nothing_loaded(drv: Driver) -> None:
    def batches() -> Iterator[pa.RecordBatch]:
        for i in range(4):
            start = i * duck.LOAD_STATEMENT_ROWS
            ids = pa.array(range(start, start + duck.LOAD_STATEMENT_ROWS), pa.int64())
            yield pa.record_batch([ids, pc.cast(ids, pa.string())], schema=SCHEMA)
        raise RuntimeError("the source broke after four statements")

    with pytest.raises(Exception, match="source broke"):
        drv.load("plain", pa.RecordBatchReader.from_batches(SCHEMA, batches()))
    assert drv.query("SELECT count(*) FROM plain") == [(0,)]


def test_a_load_holds_the_arrow_memory_of_one_statement_not_of_the_stream(drv: Driver) -> None:
    # DuckDB keeps the string buffers an INSERT scanned until the statement ends: one
    # INSERT over these 2M rows held ~30 MB of Arrow memory at the end; statements of
    # LOAD_STATEMENT_ROWS hold ~2 MB, however long the stream.
    most = [0]

    def batches() -> Iterator[pa.RecordBatch]:
        for i in range(128):
            most[0] = max(most[0], pa.total_allocated_bytes())
            ids = pa.array(range(i * 16_384, (i + 1) * 16_384), pa.int64())
            text = pc.binary_join_element_wise(pc.cast(ids, pa.string()), "customer name", "-")
            yield pa.record_batch([ids, text], schema=SCHEMA)

    assert drv.load("plain", pa.RecordBatchReader.from_batches(SCHEMA, batches())) == 128 * 16_384
    assert most[0] < 12 * 2**20, f"{most[0] / 2**20:.0f} MB of Arrow memory held"


def test_a_cancel_at_a_statement_boundary_stops_the_load(drv: Driver) -> None:
    # cancel() as the stream hands over the first batch of the second statement: the
    # interrupt reaches the first INSERT, or the flag stops the second; nothing lands
    def batches() -> Iterator[pa.RecordBatch]:
        for i in range(4):
            if i == 2:
                drv.cancel()
            start = i * (duck.LOAD_STATEMENT_ROWS // 2)
            ids = pa.array(range(start, start + duck.LOAD_STATEMENT_ROWS // 2), pa.int64())
            yield pa.record_batch([ids, pc.cast(ids, pa.string())], schema=SCHEMA)

    with pytest.raises(TerminalDatabaseError, match=r"(?i)interrupt"):
        drv.load("plain", pa.RecordBatchReader.from_batches(SCHEMA, batches()))
    assert drv.query("SELECT count(*) FROM plain") == [(0,)]
    # the next load is not cancelled by the last one's cancel
    assert drv.load("plain", pa.table({"id": [1], "v": ["a"]})) == 1


def test_a_cancel_between_two_statements_stops_the_load(
    drv: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no statement runs then, so no interrupt can reach one: the driver remembers it
    cut = duck._statements

    def cancelled_after_first(
        reader: pa.RecordBatchReader, rows: int
    ) -> Iterator[pa.RecordBatchReader]:
        for n, part in enumerate(cut(reader, rows)):
            if n == 1:
                drv.cancel()
            yield part

    monkeypatch.setattr(duck, "_statements", cancelled_after_first)
    ids = pa.array(range(duck.LOAD_STATEMENT_ROWS * 3), pa.int64())
    data = pa.table({"id": ids, "v": pc.cast(ids, pa.string())})
    with pytest.raises(TerminalDatabaseError, match=r"(?i)cancelled"):
        drv.load("plain", data.to_reader(max_chunksize=10_000))
    assert drv.query("SELECT count(*) FROM plain") == [(0,)]
