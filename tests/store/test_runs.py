"""Run log, group runs and the module lock, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from pipekit.errors import NotFoundError
from pipekit.store import Store
from pipekit.store.runs import LockHolder


@pytest.fixture
def mod(store: Store) -> Store:
    store.modules.add("orders")
    return store


def _target(store: Store) -> Path | str:
    return store.target.path or store.target.url.render_as_string(hide_password=False)


def _start(store: Store, module: str = "orders", **kw: object) -> int:
    args = {"triggered_by": "manual", "pid": 123, "host": "h1", **kw}
    return store.runs.start(module, **args)  # type: ignore[arg-type]


def test_start_finish_get_list(mod: Store) -> None:
    store = mod
    store.modules.add("customers")
    r1 = _start(store, merge_strategy="incremental")
    run = store.runs.get(r1)
    assert (run.status, run.module_name, run.pid, run.host) == ("running", "orders", 123, "h1")
    assert (run.merge_strategy, run.finished_at, run.cancel_requested) == (
        "incremental",
        None,
        False,
    )
    done = store.runs.finish(
        r1,
        "success",
        rows_read=10,
        rows_inserted=9,
        rows_deleted=1,
        source_query="SELECT 1",
        merge_sql="INSERT ...",
        hook_sql="ANALYZE",
        watermarks_json='{"since": "1"}',
        schema_changes="added column x",
    )
    assert (done.status, done.rows_read, done.rows_inserted, done.rows_deleted) == (
        "success",
        10,
        9,
        1,
    )
    assert done.finished_at is not None and done.finished_at >= done.started_at
    assert store.runs.get(r1) == done
    r2 = _start(store, "customers")
    ended = store.runs.finish(r2, "error", error="boom")
    r3 = _start(store)
    assert [r.id for r in store.runs.list()] == [r3, r2, r1]
    assert [r.id for r in store.runs.list(module="orders")] == [r3, r1]
    assert [r.id for r in store.runs.list(status="error")] == [r2]
    assert [r.id for r in store.runs.list(limit=1, offset=1)] == [r2]
    assert store.runs.request_cancel(r3) is True and store.runs.get(r3).cancel_requested
    assert store.runs.request_cancel(r1) is False  # finished
    store.runs.finish(r3, "cancelled")
    # a run ended elsewhere first (unlocked by hand) keeps that ending; what its process
    # knew when it stopped is still recorded
    again = store.runs.finish(r2, "success", error=None, rows_read=7, committed=False)
    assert (again.status, again.error, again.rows_read) == ("error", "boom", 7)
    assert again.finished_at == ended.finished_at
    store.modules.remove("orders")  # the log outlives the module
    assert store.runs.get(r1).module_id is None and store.runs.get(r1).module_name == "orders"

    with pytest.raises(NotFoundError, match="no run with id 999"):
        store.runs.get(999)
    with pytest.raises(NotFoundError, match="no module named 'nope'"):
        _start(store, "nope")
    with pytest.raises(
        ValueError, match="run status 'done' is not one of queued, running, success"
    ):
        store.runs.finish(r2, "done")
    with pytest.raises(TypeError, match="unknown run field"):
        store.runs.finish(r2, "error", colour="red")


def test_group_runs(mod: Store) -> None:
    store = mod
    store.groups.add("nightly", members=["orders"])
    g1 = store.runs.start_group("nightly", triggered_by="schedule:1")
    r = _start(store, group_run_id=g1)
    assert [x.id for x in store.runs.list(group_run_id=g1)] == [r]
    gr = store.runs.get_group(g1)
    assert (gr.group_name, gr.status, gr.triggered_by) == ("nightly", "running", "schedule:1")
    done = store.runs.finish_group(g1, "error", error="1 of 1 module failed")
    assert (done.status, done.error) == ("error", "1 of 1 module failed")
    g2 = store.runs.start_group("nightly", triggered_by="manual")
    assert [x.id for x in store.runs.list_group()] == [g2, g1]
    assert [x.id for x in store.runs.list_group("nightly", limit=1)] == [g2]
    store.groups.remove("nightly")
    assert store.runs.get_group(g1).group_id is None
    with pytest.raises(NotFoundError, match="no group run with id 999"):
        store.runs.get_group(999)
    with pytest.raises(NotFoundError, match="no group named 'x'"):
        store.runs.start_group("x", triggered_by="manual")


def test_lock_refuses_a_second_holder(mod: Store) -> None:
    store = mod
    r1, r2 = _start(store), _start(store)
    assert store.runs.lock_holder("orders") is None
    assert store.runs.try_lock("orders", r1, 123, "h1") is True
    assert store.runs.try_lock("orders", r2, 456, "h2") is False
    holder = store.runs.lock_holder("orders")
    assert holder is not None and (holder.run_id, holder.pid, holder.host) == (r1, 123, "h1")
    assert store.modules.get("orders").running is True
    assert store.runs.unlock("orders", r2) is False  # not the holder: nothing changes
    assert store.runs.lock_holder("orders") == holder
    assert store.runs.unlock("orders", r1) is True
    assert store.runs.lock_holder("orders") is None
    assert store.runs.try_lock("orders", r2, 456, "h2") is True


def test_lock_race_between_stores_and_threads(mod: Store) -> None:
    stores = [Store.open(_target(mod)) for _ in range(6)]  # separate engines and connections
    run_ids = [_start(mod) for _ in stores]
    barrier = threading.Barrier(len(stores))
    results: dict[int, bool] = {}

    def attempt(store: Store, run_id: int) -> None:
        barrier.wait()
        results[run_id] = store.runs.try_lock("orders", run_id, run_id, "h")

    threads = [threading.Thread(target=attempt, args=a) for a in zip(stores, run_ids, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    winners = [rid for rid, ok in results.items() if ok]
    assert len(results) == len(stores) and len(winners) == 1
    holder = mod.runs.lock_holder("orders")
    assert holder is not None and holder.run_id == winners[0]


def test_recover_stale_locks(mod: Store) -> None:
    store = mod
    store.modules.add("alive")
    dead, live = _start(store, pid=111), _start(store, "alive", pid=222)
    store.runs.try_lock("orders", dead, 111, "h1")
    store.runs.try_lock("alive", live, 222, "h1")
    seen: list[tuple[int | None, str | None]] = []

    def is_alive(pid: int | None, host: str | None) -> bool:
        seen.append((pid, host))
        return pid == 222

    freed = store.runs.recover_stale_locks(is_alive)
    assert sorted(seen) == [(111, "h1"), (222, "h1")]
    assert [(f.module, f.run_id, f.pid) for f in freed] == [("orders", dead, 111)]
    assert isinstance(freed[0], LockHolder)
    run = store.runs.get(dead)
    assert (run.status, run.error) == ("error", "interrupted")
    assert run.finished_at is not None
    assert store.runs.lock_holder("orders") is None
    assert store.runs.get(live).status == "running"
    assert store.runs.lock_holder("alive") is not None
    assert store.runs.recover_stale_locks(lambda p, h: False)[0].module == "alive"
    assert store.runs.recover_stale_locks(lambda p, h: False) == []


def test_live_log_is_readable_from_another_store_while_running(mod: Store) -> None:
    store = mod
    run_id = _start(store)
    with Store.open(_target(store)) as other:
        assert other.runs.get(run_id).live_log is None
        store.runs.append_live(run_id, "batch 1: 1000 rows")
        assert other.runs.get(run_id).live_log == "batch 1: 1000 rows\n"
        store.runs.append_live(run_id, "batch 2: 500 rows\n")
        run = other.runs.get(run_id)
        assert run.live_log == "batch 1: 1000 rows\nbatch 2: 500 rows\n"
        assert run.status == "running"
    with pytest.raises(NotFoundError, match="no run with id 999"):
        store.runs.append_live(999, "x")


def test_lock_race_between_threads_of_one_store(mod: Store) -> None:
    run_ids = [_start(mod) for _ in range(4)]
    barrier = threading.Barrier(len(run_ids))
    results: list[bool] = []

    def attempt(run_id: int) -> None:
        barrier.wait()
        results.append(mod.runs.try_lock("orders", run_id, run_id, "h"))

    threads = [threading.Thread(target=attempt, args=(rid,)) for rid in run_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
