"""The server's run pool (issue 4, "Runs in the background"): real child processes,
a real SQLite state store and real PostgreSQL source and destination, no mocks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pipekit.drivers import connect
from pipekit.errors import ModuleBusyError, NotFoundError, PipekitError
from pipekit.runtime.pool import QUEUED, RunPool
from pipekit.store import Store
from pipekit.store.runs import Run


def slow_query(n: int, sleep: float = 0.005) -> str:
    """`n` rows, each costing `sleep` seconds on the PostgreSQL source."""
    return (
        f"SELECT g AS id, 'v' || g AS v FROM generate_series(1, {n}) g "
        f"WHERE pg_sleep({sleep}) IS NOT NULL"
    )


def fast_query(n: int, prefix: str = "v") -> str:
    return f"SELECT g AS id, '{prefix}' || g AS v FROM generate_series(1, {n}) g"


@dataclass
class Env:
    """A config file with its SQLite state store, connections `src` and `dw` on the test
    module's PostgreSQL database, and the pools the test opened (shut down afterwards)."""

    config: Path
    store: Store
    pg_url: str
    finished: list[tuple[int | None, int | None]] = field(default_factory=list)
    pools: list[RunPool] = field(default_factory=list)

    def pool(self, max_workers: int = 2, **kwargs: Any) -> RunPool:
        pool = RunPool(
            self.config,
            max_workers=max_workers,
            on_finished=lambda r, g: self.finished.append((r, g)),
            **kwargs,
        )
        self.pools.append(pool)
        return pool

    def module(self, query: str, **config: Any) -> str:
        name = f"m_{uuid.uuid4().hex[:8]}"
        config.setdefault("merge_strategy", "incremental")
        config.setdefault("merge_key", "id")
        self.store.modules.add(
            name, source="src", dest="dw", dest_table=f"sync.{name}", source_query=query, **config
        )
        return name

    def rows(self, module: str) -> list[tuple[Any, ...]] | None:
        with connect(self.pg_url, user="postgres") as d:
            from pipekit.drivers.base import TableRef

            ref = TableRef.parse(f"sync.{module}")
            if not d.table_exists(ref):
                return None
            return [tuple(r) for r in d.query(f"SELECT id, v FROM sync.{module} ORDER BY id")]

    def run(self, run_id: int) -> Run:
        return self.store.runs.get(run_id)

    def wait_run(self, run_id: int, timeout: float = 20) -> Run:
        return wait_for(lambda: _done(self.run(run_id)), timeout, f"run {run_id} to end")

    def lock_free(self, module: str) -> bool:
        return self.store.runs.lock_holder(module) is None


def _done(run: Run) -> Run | None:
    return run if run.status not in ("queued", "running") else None


def wait_for(pred: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def adopted(env: Env, run_id: int) -> int:
    """Wait until a worker process has adopted the run; returns the worker's pid."""
    run = wait_for(
        lambda: (r := env.run(run_id)).pid not in (None, os.getpid()) and r, 15, "adoption"
    )
    return int(run.pid)


@pytest.fixture
def env(tmp_path: Path, pg_url: str) -> Iterator[Env]:
    config = tmp_path / "pipekit.yaml"
    config.write_text("database: state.db\n")
    store = Store.open(tmp_path / "state.db")
    store.init()
    store.connections.add("src", pg_url, user="postgres")
    store.connections.add("dw", pg_url, user="postgres")
    e = Env(config, store, pg_url)
    yield e
    for pool in e.pools:
        pool.shutdown(grace_s=0)
    store.close()


def test_submit_returns_at_once_and_a_second_submit_is_busy(env: Env) -> None:
    name = env.module(fast_query(300))
    pool = env.pool()
    results: list[Any] = []

    def submit() -> None:  # like concurrent API requests: exactly one gets the run
        started = time.monotonic()
        try:
            results.append(pool.submit_module(name, triggered_by="api"))
        except ModuleBusyError as exc:
            results.append(exc)
        results.append(time.monotonic() - started)

    threads = [threading.Thread(target=submit) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(took < 2.0 for took in results if isinstance(took, float))
    (run_id,) = [r for r in results if isinstance(r, int)]
    assert [r.run_id for r in results if isinstance(r, ModuleBusyError)] == [run_id, run_id]
    run = env.run(run_id)
    assert run.status == "running" and run.triggered_by == "api"
    assert pool.running() == [run_id]
    with pytest.raises(ModuleBusyError) as busy:
        pool.submit_module(name)
    assert busy.value.run_id == run_id
    with pytest.raises(NotFoundError):
        pool.submit_module("no_such_module")

    run = env.wait_run(run_id)
    assert (run.status, run.error, run.rows_read) == ("success", None, 300)
    assert "started" in (run.live_log or "") and "committed" in (run.live_log or "")
    assert pool.join(5)  # the worker frees the lock just after it records the run
    assert env.lock_free(name)
    assert env.rows(name) == [(i, f"v{i}") for i in range(1, 301)]
    assert env.finished == [(run_id, None)]
    assert pool.running() == []
    assert env.store.runs.list(module=name) == [env.run(run_id)]  # refused submits left no trace


def test_one_worker_queues_jobs_fifo_and_a_queued_one_can_be_cancelled(env: Env) -> None:
    first, second, third = (env.module(fast_query(n)) for n in (3, 5, 7))
    pool = env.pool(max_workers=1)
    a, b, c = (pool.submit_module(m) for m in (first, second, third))
    queued = env.run(b)
    assert queued.status == "queued" and QUEUED in (queued.live_log or "")
    assert env.store.runs.lock_holder(second).run_id == b  # a queued run holds its lock
    assert pool.health()["queued"] == 2 and pool.health()["running"] == 1
    assert pool.cancel(c)
    assert (env.run(c).status, env.run(c).error) == ("cancelled", "cancelled")
    assert env.lock_free(third)
    assert not pool.cancel(c)
    assert pool.join(30)
    ra, rb = env.run(a), env.run(b)
    assert (ra.status, rb.status) == ("success", "success")
    assert rb.started_at <= ra.finished_at  # opened at submit ...
    assert "queued" not in (ra.live_log or "")
    assert env.finished == [(c, None), (a, None), (b, None)]  # ... carried out after a
    assert env.rows(second) == [(i, f"v{i}") for i in range(1, 6)]
    assert env.rows(third) is None


def test_cancel_mid_run_leaves_the_destination_unchanged(env: Env) -> None:
    name = env.module(slow_query(4000), merge_strategy="full")
    with connect(env.pg_url, user="postgres") as d:
        d.execute("CREATE SCHEMA IF NOT EXISTS sync")
        d.execute(f"CREATE TABLE sync.{name} (id bigint PRIMARY KEY, v text)")
        d.execute(f"INSERT INTO sync.{name} VALUES (1, 'old1'), (2, 'old2'), (3, 'old3')")
    pool = env.pool()
    run_id = pool.submit_module(name)
    adopted(env, run_id)
    wait_for(lambda: "reading" in (env.run(run_id).live_log or ""), 10, "staging")
    asked = time.monotonic()
    assert pool.cancel(run_id)
    run = env.wait_run(run_id, timeout=10)
    took = time.monotonic() - asked
    assert (run.status, run.error) == ("cancelled", "cancelled")
    assert took < 5, f"the cancel took {took:.1f} s"
    assert pool.join(5)
    assert env.rows(name) == [(i, f"old{i}") for i in (1, 2, 3)]
    assert env.lock_free(name)
    assert not pool.cancel(run_id)


def test_a_killed_worker_fails_its_run_and_the_pool_goes_on(env: Env) -> None:
    name = env.module(slow_query(4000))
    pool = env.pool(max_workers=1)
    run_id = pool.submit_module(name)
    pid = adopted(env, run_id)
    assert pool.health()["workers_alive"] == 1
    os.kill(pid, signal.SIGKILL)
    run = env.wait_run(run_id, timeout=10)
    assert run.status == "error"
    assert run.error == "worker process killed by signal 9 (SIGKILL)"
    assert "killed by signal 9" in (run.live_log or "")
    wait_for(lambda: env.lock_free(name), 5, "the lock to be freed")
    assert env.rows(name) is None

    env.store.modules.update(name, source_query=fast_query(4))
    again = pool.submit_module(name)
    assert env.wait_run(again).status == "success"
    assert env.rows(name) == [(i, f"v{i}") for i in range(1, 5)]
    assert pool.join(5)
    assert env.finished == [(run_id, None), (again, None)]


def test_a_worker_out_of_memory_does_not_touch_the_server(env: Env) -> None:
    """A worker under a 64 MiB address-space limit runs out of memory loading the
    engine (MemoryError, or the loader cannot map pyarrow): the child dies, its run
    is recorded as failed with the child's last words, the pool lives on."""
    name = env.module(fast_query(3))
    pool = env.pool(memory_limit_mb=64)
    run_id = pool.submit_module(name)
    run = env.wait_run(run_id)
    assert run.status == "error"
    assert run.error.startswith("worker process exited with code 1")
    assert run.error.split(": ", 1)[1]  # the child's last words: MemoryError, or mmap refused
    assert pool.join(5)
    assert env.lock_free(name)
    # the parent (this test process) is fine and the pool takes the next job
    health = pool.health()
    assert health["ok"] and health["accepting"]
    assert (health["workers_alive"], health["running"], health["queued"]) == (0, 0, 0)
    assert env.wait_run(pool.submit_module(name)).status == "error"


def test_group_runs_its_members_in_order(env: Env) -> None:
    a, b = env.module(fast_query(3)), env.module(fast_query(4))
    env.store.groups.add("nightly", members=[b, a])
    pool = env.pool()
    started = time.monotonic()
    group_run_id = pool.submit_group("nightly", triggered_by="schedule:1")
    assert time.monotonic() - started < 1.0
    assert env.store.runs.get_group(group_run_id).status == "running"
    assert pool.running_groups() == [group_run_id]
    with pytest.raises(NotFoundError):
        pool.submit_group("no_such_group")
    assert pool.join(30)
    group = env.store.runs.get_group(group_run_id)
    assert (group.status, group.error) == ("success", None)
    members = sorted(env.store.runs.list(group_run_id=group_run_id), key=lambda r: r.id)
    assert [m.module_name for m in members] == [b, a]
    assert all(m.status == "success" and m.triggered_by == "schedule:1" for m in members)
    assert members[0].finished_at <= members[1].started_at
    assert env.finished == [(None, group_run_id)]


def test_a_killed_group_worker_fails_the_group_and_its_member(env: Env) -> None:
    slow = env.module(slow_query(4000))
    env.store.groups.add("g", members=[slow])
    pool = env.pool()
    group_run_id = pool.submit_group("g")
    member = wait_for(lambda: env.store.runs.list(group_run_id=group_run_id), 10, "the member run")[
        0
    ]
    pid = adopted(env, member.id)
    os.kill(pid, signal.SIGKILL)
    assert pool.join(10)
    assert env.run(member.id).error == "worker process killed by signal 9 (SIGKILL)"
    group = env.store.runs.get_group(group_run_id)
    assert (group.status, group.error) == ("error", "worker process killed by signal 9 (SIGKILL)")
    assert env.lock_free(slow)


def test_cancel_group_stops_the_running_member_and_the_rest(env: Env) -> None:
    slow, fast = env.module(slow_query(4000)), env.module(fast_query(3))
    env.store.groups.add("g", members=[slow, fast])
    pool = env.pool()
    group_run_id = pool.submit_group("g")
    member = wait_for(lambda: env.store.runs.list(group_run_id=group_run_id), 10, "the member run")[
        0
    ]
    adopted(env, member.id)
    assert member.id in pool.running()
    assert pool.cancel_group(group_run_id)
    assert pool.join(10)
    assert env.store.runs.get_group(group_run_id).status == "cancelled"
    assert [(r.module_name, r.status) for r in env.store.runs.list(group_run_id=group_run_id)] == [
        (slow, "cancelled")
    ]
    assert env.lock_free(slow) and env.lock_free(fast)
    assert not pool.cancel_group(group_run_id)


def test_shutdown_waits_for_a_short_run_and_cancels_a_long_one(env: Env) -> None:
    short, long, queued = (
        env.module(slow_query(100)),
        env.module(slow_query(4000)),
        env.module(fast_query(2)),
    )
    env.store.modules.update(long, merge_strategy="full")
    pool = env.pool(max_workers=2)
    s, lg, q = (pool.submit_module(m) for m in (short, long, queued))
    adopted(env, lg)
    adopted(env, s)
    started = time.monotonic()
    pool.shutdown(grace_s=4)
    took = time.monotonic() - started
    assert took < 12, f"shutdown took {took:.1f} s"
    assert env.run(s).status == "success"
    assert (env.run(lg).status, env.run(lg).error) == ("cancelled", "cancelled")
    # the queued run stays queued in the state store, holding its lock, for a restart
    assert env.run(q).status == "queued"
    assert env.lock_free(short) and env.lock_free(long) and not env.lock_free(queued)
    assert env.rows(long) is None and env.rows(queued) is None
    assert sorted(env.finished) == sorted([(s, None), (lg, None)])
    with pytest.raises(PipekitError, match="shutting down"):
        pool.submit_module(short)
    assert pool.health()["accepting"] is False and pool.health()["ok"] is False
    restarted = env.pool(max_workers=1)
    assert restarted.dispatch() == 1 and restarted.join(30)
    assert env.run(q).status == "success" and env.lock_free(queued)
    assert env.rows(queued) == [(1, "v1"), (2, "v2")]


def test_recover_marks_runs_of_a_dead_process_interrupted(env: Env) -> None:
    name = env.module(fast_query(2))
    env.store.groups.add("g", members=[name])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(dead.stdout)
    import socket

    group_run_id = env.store.runs.start_group("g", triggered_by="api")
    run_id = env.store.runs.begin(
        name, group_run_id=group_run_id, triggered_by="api", pid=pid, host=socket.gethostname()
    )
    live = env.module(fast_query(2))
    live_run = env.store.runs.begin(
        live, triggered_by="cli", pid=os.getpid(), host=socket.gethostname()
    )
    pool = env.pool()
    recovered = pool.recover(settle_s=0)
    assert {(r.kind, r.id) for r in recovered} == {("run", run_id), ("group", group_run_id)}
    assert (env.run(run_id).status, env.run(run_id).error) == ("error", "interrupted")
    assert env.store.runs.get_group(group_run_id).status == "error"
    assert env.lock_free(name)
    assert env.run(live_run).status == "running"  # its process (this one) is alive
    assert not env.lock_free(live)
    assert pool.recover(settle_s=0) == []
    env.store.runs.finish(live_run, "success")
    env.store.runs.unlock(live, live_run)
