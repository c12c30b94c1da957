"""The scheduler, driven by an injected clock: no test sleeps for a cron slot."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipekit.config import parse_config
from pipekit.errors import ConfigError
from pipekit.runtime.scheduler import (
    PAUSED_KEY,
    Scheduler,
    fire_group_run,
    local_zone,
    next_occurrence,
)
from pipekit.store import Store
from pipekit.store.schedules import Schedule, ScheduleSpecError

BERLIN = ZoneInfo("Europe/Berlin")


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


class Fired:
    """A `fire` that records (schedule id, group, now)."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str, dt.datetime]] = []

    def __call__(self, schedule: Schedule, now: dt.datetime) -> None:
        self.calls.append((schedule.id, schedule.group, now))

    @property
    def ids(self) -> list[int]:
        return [c[0] for c in self.calls]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "state.db")
    s.init()
    s.modules.add("orders")
    s.modules.add("idle", enabled=False)
    s.groups.add("nightly", members=["orders"])
    s.groups.add("sleepy", members=["idle"])
    yield s
    s.close()


def _hour_after(t: dt.datetime) -> dt.datetime:
    """The top of the hour after `t` (local Berlin time)."""
    local = t.astimezone(BERLIN)
    return local.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)


def _scheduler(store: Store, fire: Fired, clock: Clock) -> Scheduler:
    return Scheduler(store, fire, clock=clock, tz=BERLIN)


def test_fires_once_per_due_slot_and_not_before(store: Store) -> None:
    sched = store.schedules.add("nightly", "0 * * * *")
    slot = _hour_after(sched.created_at)
    clock, fire = Clock(slot - dt.timedelta(seconds=1)), Fired()
    scheduler = _scheduler(store, fire, clock)

    assert scheduler.tick() == [] and fire.calls == []  # one second early
    clock.now = slot
    assert [s.id for s in scheduler.tick()] == [sched.id]
    assert fire.calls == [(sched.id, "nightly", slot)]
    assert store.schedules.get(sched.id).last_fired_at == slot.astimezone(dt.UTC)

    clock.advance(seconds=59)  # the next minute's tick, same slot
    assert scheduler.tick() == []
    clock.now = slot + dt.timedelta(hours=1)  # the next slot
    scheduler.tick()
    assert fire.ids == [sched.id, sched.id]


def test_last_fired_at_is_written_before_fire(store: Store) -> None:
    sched = store.schedules.add("nightly", "0 * * * *")
    clock = Clock(_hour_after(sched.created_at))
    seen: list[dt.datetime | None] = []
    scheduler = Scheduler(
        store,
        lambda s, now: seen.append(store.schedules.get(s.id).last_fired_at),
        clock=clock,
        tz=BERLIN,
    )
    scheduler.tick()
    assert seen == [clock.now.astimezone(dt.UTC)]


def test_never_twice_across_a_restart(store: Store, tmp_path: Path) -> None:
    sched = store.schedules.add("nightly", "0 * * * *")
    slot = _hour_after(sched.created_at)
    fire = Fired()
    _scheduler(store, fire, Clock(slot + dt.timedelta(seconds=5))).tick()
    # the server restarts: a new Store and a new Scheduler on the same database
    with Store.open(tmp_path / "state.db") as again:
        restarted = _scheduler(again, fire, Clock(slot + dt.timedelta(seconds=30)))
        assert restarted.tick() == []
        assert restarted.due(slot + dt.timedelta(minutes=59)) == []
    assert fire.ids == [sched.id]


def test_a_fire_that_runs_long_or_restarts_midway_does_not_refire(store: Store) -> None:
    sched = store.schedules.add("nightly", "0 * * * *")
    clock = Clock(_hour_after(sched.created_at))

    class Died(BaseException):
        """Not an Exception: nothing catches it, as when the process is killed."""

    def crash(schedule: Schedule, now: dt.datetime) -> None:
        raise Died("the process died while starting the run")

    with pytest.raises(Died):  # the firing was recorded before the run started
        Scheduler(store, crash, clock=clock, tz=BERLIN).tick()
    fire = Fired()
    _scheduler(store, fire, clock).tick()
    assert fire.calls == []


def test_once_after_downtime_spanning_many_slots(store: Store) -> None:
    sched = store.schedules.add("nightly", "*/5 * * * *")
    clock, fire = Clock(sched.created_at + dt.timedelta(days=3, minutes=2)), Fired()
    scheduler = _scheduler(store, fire, clock)
    scheduler.tick()
    scheduler.tick()
    assert fire.ids == [sched.id]
    # the next slot counts from the catch-up, not from the missed ones
    fired_at = clock.now
    nxt = scheduler.next_fire(store.schedules.get(sched.id))
    assert fired_at < nxt <= fired_at + dt.timedelta(minutes=5)


def test_honours_disabled_schedules(store: Store) -> None:
    on = store.schedules.add("nightly", "0 * * * *")
    off = store.schedules.add("nightly", "0 * * * *", enabled=False)
    clock, fire = Clock(_hour_after(on.created_at)), Fired()
    scheduler = _scheduler(store, fire, clock)
    scheduler.tick()
    assert fire.ids == [on.id]
    # disabled after firing: later slots do not fire
    store.schedules.set_enabled(on.id, False)
    clock.advance(hours=3)
    assert scheduler.tick() == []
    # re-enabled: the slots missed while disabled fire once, like downtime
    store.schedules.set_enabled(off.id, True)
    scheduler.tick()
    assert fire.ids == [on.id, off.id]


def test_group_without_enabled_members_uses_up_the_slot_without_firing(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    sched = store.schedules.add("sleepy", "0 * * * *")
    clock, fire = Clock(_hour_after(sched.created_at)), Fired()
    with caplog.at_level(logging.INFO, logger="pipekit.scheduler"):
        assert _scheduler(store, fire, clock).tick() == []
    assert fire.calls == []
    assert store.schedules.get(sched.id).last_fired_at == clock.now.astimezone(dt.UTC)
    assert "no enabled module" in caplog.text


def test_a_failing_fire_is_logged_and_does_not_stop_the_others(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    store.groups.add("second", members=["orders"])
    first = store.schedules.add("nightly", "0 * * * *")
    second = store.schedules.add("second", "0 * * * *")
    calls: list[int] = []

    def fire(schedule: Schedule, now: dt.datetime) -> None:
        calls.append(schedule.id)
        if schedule.id == first.id:
            raise RuntimeError("pool is full")

    clock = Clock(_hour_after(second.created_at))
    scheduler = Scheduler(store, fire, clock=clock, tz=BERLIN)
    with caplog.at_level(logging.ERROR, logger="pipekit.scheduler"):
        fired = scheduler.tick()
    assert sorted(calls) == sorted([first.id, second.id])
    assert [s.id for s in fired] == [second.id]
    assert "pool is full" in caplog.text
    assert "pool is full" in (scheduler.health()["last_error"] or "")
    # the failed one is not retried for the same slot (it was recorded first)
    clock.advance(seconds=60)
    assert scheduler.tick() == []


def test_paused_scheduler_fires_nothing(store: Store) -> None:
    sched = store.schedules.add("nightly", "0 * * * *")
    clock, fire = Clock(_hour_after(sched.created_at)), Fired()
    scheduler = _scheduler(store, fire, clock)
    store.settings.set(PAUSED_KEY, "1")
    assert scheduler.tick() == []
    store.settings.set(PAUSED_KEY, "0")
    scheduler.tick()
    assert fire.ids == [sched.id]


def test_invalid_cron_cannot_be_saved(store: Store) -> None:
    with pytest.raises(ScheduleSpecError, match="the hour field 25 is out of range 0-23"):
        store.schedules.add("nightly", "0 25 * * *")
    sched = store.schedules.add("nightly", "0 2 * * *")
    with pytest.raises(ScheduleSpecError):
        store.schedules.update(sched.id, cron_expr="every night")
    assert store.schedules.get(sched.id).cron_expr == "0 2 * * *"


def test_cron_reads_local_time(store: Store) -> None:
    # 02:00 in Berlin is 01:00 UTC in winter
    base = dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.UTC)
    nxt = next_occurrence("0 2 * * *", base, BERLIN)
    assert nxt == dt.datetime(2026, 1, 11, 1, 0, tzinfo=dt.UTC)
    assert nxt.astimezone(BERLIN).hour == 2


def test_dst_spring_forward_fires_the_skipped_slot_once_at_three() -> None:
    # 2026-03-29 02:00 CET -> 03:00 CEST: 02:30 does not exist that day
    base = dt.datetime(2026, 3, 28, 2, 30, 10, tzinfo=BERLIN)
    first = next_occurrence("30 2 * * *", base, BERLIN)
    assert first.astimezone(BERLIN).replace(tzinfo=None) == dt.datetime(2026, 3, 29, 3, 0)
    second = next_occurrence("30 2 * * *", first, BERLIN)
    assert second.astimezone(BERLIN).replace(tzinfo=None) == dt.datetime(2026, 3, 30, 2, 30)


def test_dst_fall_back_fires_a_repeated_wall_time_once() -> None:
    # 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 happens twice; it fires once
    base = dt.datetime(2026, 10, 24, 2, 30, 10, tzinfo=BERLIN)
    first = next_occurrence("30 2 * * *", base, BERLIN)
    assert first == dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)  # the first 02:30 (CEST)
    fired_at = first + dt.timedelta(seconds=20)
    second = next_occurrence("30 2 * * *", fired_at, BERLIN)
    assert second.astimezone(BERLIN).replace(tzinfo=None) == dt.datetime(2026, 10, 26, 2, 30)
    # hourly: the repeated 02:00 is skipped, the next slot is 03:00 CET
    hourly = next_occurrence("0 * * * *", dt.datetime(2026, 10, 25, 0, 0, 5, tzinfo=dt.UTC), BERLIN)
    assert hourly == dt.datetime(2026, 10, 25, 2, 0, tzinfo=dt.UTC)


def test_run_loop_survives_errors_and_stops(store: Store) -> None:
    ticks: list[int] = []

    class Flaky(Scheduler):
        def tick(self) -> list[Schedule]:
            ticks.append(1)
            if len(ticks) == 1:
                raise ConnectionError("state store unreachable")
            if len(ticks) >= 3:
                stop.set()
            return []

    stop = threading.Event()
    scheduler = Flaky(store, Fired(), tz=BERLIN)
    scheduler.run(stop, interval_s=0.01)
    assert len(ticks) == 3
    assert "state store unreachable" in (scheduler.health()["last_error"] or "")


def test_start_stop_and_health(store: Store) -> None:
    sched = store.schedules.add("nightly", "0 * * * *")
    clock, fire = Clock(_hour_after(sched.created_at)), Fired()
    scheduler = _scheduler(store, fire, clock)
    assert scheduler.health()["alive"] is False and scheduler.health()["ok"] is False
    thread = scheduler.start(interval_s=0.01)
    assert scheduler.start(interval_s=0.01) is thread  # one thread per scheduler
    assert thread.daemon
    for _ in range(500):
        if fire.calls:
            break
        threading.Event().wait(0.01)
    health = scheduler.health()
    scheduler.stop()
    assert not thread.is_alive()
    assert fire.ids == [sched.id]
    assert health["alive"] is True and health["last_tick_at"] and health["last_error"] is None
    assert health["ok"] is True and health["stale"] is False and health["paused"] is False
    assert health["timezone"] == "Europe/Berlin"
    assert scheduler.health()["alive"] is False


def test_fire_group_run_with_a_callable_passes_the_trigger(store: Store) -> None:
    sched = store.schedules.add("nightly", "0 * * * *")
    submitted: list[tuple[str, str]] = []
    fire = fire_group_run(lambda group, *, triggered_by: submitted.append((group, triggered_by)))
    clock = Clock(_hour_after(sched.created_at))
    Scheduler(store, fire, clock=clock, tz=BERLIN).tick()
    assert submitted == [("nightly", f"schedule:{sched.id}")]


def test_fire_group_run_with_an_engine_records_a_group_run(store: Store) -> None:
    from pipekit.engine.run import Engine

    store.groups.add("empty")
    sched = store.schedules.add("empty", "0 * * * *")
    fire = fire_group_run(Engine(store))
    fire(sched, dt.datetime.now(dt.UTC))  # an empty group: a group run with no members
    (group_run,) = store.runs.list_group("empty")
    assert group_run.triggered_by == f"schedule:{sched.id}"
    assert group_run.status == "success"


def test_local_zone_follows_tz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    assert local_zone() == ZoneInfo("Asia/Tokyo")
    monkeypatch.setenv("TZ", "No/Such_Zone")
    assert local_zone() is not None  # falls back to the system zone or offset


def test_scheduler_settings_are_checked() -> None:
    assert parse_config({}, None)["scheduler.interval_s"] == 60
    assert parse_config({"scheduler": {"interval_s": 0.5}}, None)["scheduler.interval_s"] == 0.5
    for bad, message in (
        ({"scheduler": {"interval_s": 0}}, "must be more than 0"),
        ({"scheduler": {"interval_s": True}}, "must be a number"),
        ({"notify": {"webhook_url": "hooks.example.com"}}, "http:// or https:// URL"),
        ({"server": {"base_url": "ftp://x"}}, "http:// or https:// URL"),
    ):
        with pytest.raises(ConfigError, match=message):
            parse_config(bad, None)
