"""The durable run queue, leases and schedule-slot claims, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from pipekit.errors import ModuleBusyError, NotFoundError
from pipekit.store import Store
from pipekit.store.queue import Claimed
from pipekit.store.runs import Lease

T0 = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)


def _target(store: Store) -> Path | str:
    return store.target.path or store.target.url.render_as_string(hide_password=False)


@pytest.fixture
def mods(store: Store) -> Store:
    for name in ("a", "b", "c", "d", "e", "f"):
        store.modules.add(name)
    store.groups.add("g", members=["a"])
    return store


def lease(owner: str = "h:1:x", at: dt.datetime = T0) -> Lease:
    return Lease.for_(owner, at, 60)


def test_queued_runs_are_claimed_in_order_once(mods: Store) -> None:
    store = mods
    a = store.queue.enqueue_module("a", triggered_by="api:ann", dry_run=True)
    g = store.queue.enqueue_group("g", triggered_by="schedule:1")
    b = store.queue.enqueue_module("b", triggered_by="api", full_refresh=True)
    assert store.runs.get(a).status == "queued" and store.runs.get_group(g).status == "queued"
    assert store.queue.count() == 3 and store.queue.queued_run_ids() == [a, b]
    holder = store.runs.lock_holder("a")
    assert holder is not None and holder.run_id == a and holder.lease_expires_at is None
    with pytest.raises(ModuleBusyError, match=f"run {a}"):
        store.queue.enqueue_module("a", triggered_by="api")  # a queued run holds the lock

    claims = [store.queue.claim(lease()) for _ in range(4)]
    assert claims == [
        Claimed("module", a, "a", "api:ann", True, False),
        Claimed("group", g, "g", "schedule:1", False, False),
        Claimed("module", b, "b", "api", False, True),
        None,
    ]
    assert store.runs.get(a).status == "running" and store.runs.get_group(g).status == "running"
    claimed = store.runs.lock_holder("a")
    assert claimed is not None and claimed.lease_owner == "h:1:x"
    assert claimed.lease_expires_at == T0 + dt.timedelta(seconds=60)


def test_a_queued_run_is_never_recovered_and_cancels_out_of_the_queue(mods: Store) -> None:
    store = mods
    run_id = store.queue.enqueue_module("a", triggered_by="api")
    far = T0 + dt.timedelta(days=365)
    assert store.runs.recover_stale_locks(lambda *_: False, now=far) == []
    assert store.runs.get(run_id).status == "queued"
    assert store.queue.cancel_run(run_id, "cancelled before it started")
    run = store.runs.get(run_id)
    assert (run.status, run.error) == ("cancelled", "cancelled")
    assert "cancelled before it started" in (run.live_log or "")
    assert store.runs.lock_holder("a") is None and store.queue.count() == 0
    assert not store.queue.cancel_run(run_id, "again")  # not queued any more
    gid = store.queue.enqueue_group("g", triggered_by="api")
    assert store.queue.cancel_group(gid, "no") and store.runs.get_group(gid).status == "cancelled"
    assert store.queue.claim(lease()) is None


def test_claims_race_between_stores_and_each_run_goes_to_one(mods: Store) -> None:
    store = mods
    queued = [store.queue.enqueue_module(m, triggered_by="api") for m in "abcdef"]
    stores = [Store.open(_target(store)) for _ in range(4)]
    got: list[tuple[int, int]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(stores))

    def claim_all(i: int, s: Store) -> None:
        barrier.wait()
        while (c := s.queue.claim(lease(f"server{i}"))) is not None:
            with lock:
                got.append((i, c.id))

    threads = [threading.Thread(target=claim_all, args=(i, s)) for i, s in enumerate(stores)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        for s in stores:
            s.close()
    assert sorted(run_id for _, run_id in got) == queued  # each exactly once
    for i in range(len(stores)):  # each server saw its claims in queue order
        mine = [run_id for who, run_id in got if who == i]
        assert mine == sorted(mine)
    assert store.queue.count() == 0


def test_an_expired_lease_is_stale_and_a_heartbeat_keeps_it(mods: Store) -> None:
    store = mods
    run_id = store.runs.begin("a", triggered_by="api", pid=1, host="far", lease=lease("far:1:x"))
    alive = lambda *_: True  # noqa: E731 - another host: only the lease tells
    assert store.runs.recover_stale_locks(alive, now=T0 + dt.timedelta(seconds=59)) == []
    assert store.runs.heartbeat(run_id, lease("far:1:x", T0 + dt.timedelta(seconds=50)))
    assert store.runs.recover_stale_locks(alive, now=T0 + dt.timedelta(seconds=100)) == []
    assert not store.runs.heartbeat(run_id, lease("thief:2:y"))  # only its owner renews
    (freed,) = store.runs.recover_stale_locks(alive, now=T0 + dt.timedelta(seconds=111))
    assert (freed.run_id, freed.lease_owner) == (run_id, "far:1:x")
    run = store.runs.get(run_id)
    assert (run.status, run.error) == ("error", "interrupted")
    assert not store.runs.heartbeat(run_id, lease("far:1:x"))  # the holder learns it lost it


def test_force_unlock(mods: Store) -> None:
    store = mods
    assert store.runs.force_unlock("a", by="ann") is None
    run_id = store.runs.begin("a", triggered_by="api", pid=1, host="far", lease=lease())
    store.runs.set_sessions(run_id, '[{"connection": "c", "kind": "postgresql", "session": "1@x"}]')
    holder = store.runs.force_unlock("a", by="ann")
    assert holder is not None and holder.run_id == run_id and "1@x" in (holder.sessions_json or "")
    run = store.runs.get(run_id)
    assert (run.status, run.error, run.cancel_requested) == (
        "error",
        "interrupted: module unlocked by ann",
        True,
    )
    assert store.runs.lock_holder("a") is None
    # a queued run holding the lock is cancelled and leaves the queue
    queued = store.queue.enqueue_module("a", triggered_by="api")
    assert store.runs.force_unlock("a", by="ann") is not None
    run = store.runs.get(queued)
    assert (run.status, run.error) == ("cancelled", "cancelled: unlocked by ann")
    assert store.queue.count() == 0 and store.queue.claim(lease()) is None
    with pytest.raises(NotFoundError):
        store.runs.force_unlock("nope", by="ann")


def test_a_schedule_slot_is_claimed_once(mods: Store) -> None:
    store = mods
    schedule = store.schedules.add("g", "*/5 * * * *")
    slot = T0
    assert store.schedules.claim_slot(schedule.id, slot, T0, "s1")
    assert not store.schedules.claim_slot(schedule.id, slot, T0 + dt.timedelta(seconds=5), "s2")
    assert store.schedules.get(schedule.id).last_fired_at == T0  # the loser wrote nothing
    assert store.schedules.claim_slot(schedule.id, slot + dt.timedelta(minutes=5), T0, "s2")
    with pytest.raises(NotFoundError):
        store.schedules.claim_slot(999, slot, T0, "s1")
