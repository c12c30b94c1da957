"""The schedules service on a real state database: next fire times are the scheduler's
own (checked with an injected zone and clock across both daylight-saving changes),
bad cron expressions and unknown groups are refused with their field path."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipekit.config import parse_config
from pipekit.errors import NotFoundError, ScheduleSpecError, ValidationError
from pipekit.runtime.scheduler import Scheduler, local_zone, next_occurrence
from pipekit.services import Services
from pipekit.services.schedules import ScheduleService, ScheduleView
from pipekit.services.views import to_json

AMS = ZoneInfo("Europe/Amsterdam")
UTC = dt.UTC


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def sv(tmp_path: Path) -> Iterator[Services]:
    """Services over a SQLite state DB with groups nightly (one module) and hourly."""
    config = parse_config({"database": "state.db"}, tmp_path / "pipekit.yaml")
    with Services.open(config) as services:
        services.store.init()
        services.store.modules.add("orders")
        services.groups.add("nightly", members=["orders"])
        services.groups.add("hourly", members=["orders"])
        yield services


def with_scheduler(sv: Services, clock: Clock, fired: list[int]) -> Services:
    """The services as the server has them: with a scheduler (zone Amsterdam, `clock`)."""
    scheduler = Scheduler(sv.store, lambda s, now: fired.append(s.id), clock=clock, tz=AMS)
    return Services(sv.store, sv.config, sv.secrets, scheduler=scheduler)


def local(when: dt.datetime) -> dt.datetime:
    return when.astimezone(AMS).replace(tzinfo=None)


def test_views_and_json(sv: Services) -> None:
    before = dt.datetime.now(UTC)
    on = sv.schedules.add("nightly", " 0 2 * * * ")
    after = dt.datetime.now(UTC)
    off = sv.schedules.add("hourly", "15 * * * *", enabled=False)
    assert isinstance(on, ScheduleView)
    assert (on.group, on.cron_expr, on.enabled, on.last_fired_at) == (
        "nightly",
        "0 2 * * *",
        True,
        None,
    )
    # no scheduler in this process: the machine's zone, as `pipekit serve` would use
    zone = local_zone()
    assert on.next_fire_at in {
        next_occurrence("0 2 * * *", before, zone),
        next_occurrence("0 2 * * *", after, zone),
    }
    assert off.next_fire_at is None
    assert sv.schedules.list() == [sv.schedules.show(off.id), sv.schedules.show(on.id)]
    assert sv.schedules.list(group="nightly") == [on]
    assert sv.schedules.list(group=str(on.group_id)) == [on]
    body = to_json(on)
    assert list(body) == [
        "id",
        "group",
        "group_id",
        "cron_expr",
        "enabled",
        "last_fired_at",
        "created_at",
        "next_fire_at",
    ]
    assert dt.datetime.fromisoformat(body["next_fire_at"]) == on.next_fire_at


def test_next_fire_is_the_schedulers_across_spring_forward(sv: Services) -> None:
    """2027-03-28 02:00 CET -> 03:00 CEST in Amsterdam: 02:30 does not exist that day.
    The service shows the slot the scheduler fires (03:00 CEST, once), and the
    scheduler fires exactly then, not a second earlier."""
    fired: list[int] = []
    clock = Clock(dt.datetime(2027, 3, 27, 12, 0, tzinfo=AMS))
    server = with_scheduler(sv, clock, fired)
    s = server.schedules.add("nightly", "30 2 * * *")
    server.store.schedules.mark_fired(s.id, dt.datetime(2027, 3, 27, 1, 30, 4, tzinfo=UTC))

    shown = server.schedules.show(s.id).next_fire_at
    assert shown == server.scheduler.next_fire(server.store.schedules.get(s.id))
    assert shown == dt.datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert local(shown) == dt.datetime(2027, 3, 28, 3, 0)
    assert [local(t) for t in server.schedules.next_fires(s.id, 3)] == [
        dt.datetime(2027, 3, 28, 3, 0),
        dt.datetime(2027, 3, 29, 2, 30),
        dt.datetime(2027, 3, 30, 2, 30),
    ]

    clock.now = shown - dt.timedelta(seconds=1)
    assert server.scheduler.tick() == [] and fired == []
    clock.now = shown
    server.scheduler.tick()
    assert fired == [s.id]
    # after firing, the service and the scheduler agree on the next slot again
    after = server.schedules.show(s.id).next_fire_at
    assert after == server.scheduler.next_fire(server.store.schedules.get(s.id))
    assert local(after) == dt.datetime(2027, 3, 29, 2, 30)


def test_next_fire_is_the_schedulers_across_fall_back(sv: Services) -> None:
    """2027-10-31 03:00 CEST -> 02:00 CET: 02:30 happens twice and fires once. Seen
    during the repeated hour, after the first 02:30 fired, the next slot is the
    next day's, as the scheduler counts it, not the second 02:30."""
    fired: list[int] = []
    first = dt.datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # 02:30 CEST
    clock = Clock(first + dt.timedelta(seconds=20))
    server = with_scheduler(sv, clock, fired)
    s = server.schedules.add("nightly", "30 2 * * *")
    server.store.schedules.mark_fired(s.id, clock.now)
    clock.now = dt.datetime(2027, 10, 31, 1, 10, tzinfo=UTC)  # 02:10 CET, the second pass
    shown = server.schedules.show(s.id).next_fire_at
    assert shown == server.scheduler.next_fire(server.store.schedules.get(s.id))
    assert local(shown) == dt.datetime(2027, 11, 1, 2, 30)
    clock.now = dt.datetime(2027, 10, 31, 1, 30, tzinfo=UTC)  # the second 02:30
    assert server.scheduler.tick() == [] and fired == []


def test_an_overdue_schedule_shows_its_next_slot_after_now(sv: Services) -> None:
    """Missed slots (no scheduler ticked) fire once at the next tick; the time shown is
    the slot after that."""
    clock = Clock(dt.datetime(2027, 6, 10, 12, 0, tzinfo=AMS))
    service = ScheduleService(sv, tz=AMS, clock=clock)
    s = service.add("nightly", "0 2 * * *")
    sv.store.schedules.mark_fired(s.id, dt.datetime(2027, 6, 1, 0, 0, tzinfo=UTC))
    shown = service.show(s.id).next_fire_at
    assert shown == next_occurrence("0 2 * * *", clock.now, AMS)
    assert local(shown) == dt.datetime(2027, 6, 11, 2, 0)


def test_bad_cron_is_refused_with_its_path(sv: Services) -> None:
    s = sv.schedules.add("nightly", "0 2 * * *")
    for bad in ("0 25 * * *", "every day", ""):
        with pytest.raises(ScheduleSpecError, match=r"expected five fields|out of range") as info:
            sv.schedules.add("nightly", bad)
        assert info.value.path == "cron_expr"
        with pytest.raises(ScheduleSpecError) as info:
            sv.schedules.update(s.id, cron_expr=bad)
        assert info.value.path == "cron_expr"
    assert [x.cron_expr for x in sv.schedules.list()] == ["0 2 * * *"]


def test_unknown_group_and_id(sv: Services) -> None:
    with pytest.raises(NotFoundError, match="did you mean 'nightly'") as info:
        sv.schedules.add("nigthly", "0 2 * * *")
    assert info.value.path == "group"
    with pytest.raises(NotFoundError, match="did you mean 'hourly'"):
        sv.schedules.list(group="hourlyy")
    for call in (sv.schedules.show, sv.schedules.remove, sv.schedules.enable):
        with pytest.raises(NotFoundError, match="no schedule with id 999"):
            call(999)
    assert sv.schedules.list() == []


def test_update_enable_disable_remove(sv: Services) -> None:
    s = sv.schedules.add("nightly", "0 2 * * *")
    moved = sv.schedules.update(s.id, group="hourly", cron_expr="30 3 * * 1-5")
    assert (moved.group, moved.cron_expr, moved.enabled) == ("hourly", "30 3 * * 1-5", True)
    off = sv.schedules.disable(s.id)
    assert not off.enabled and off.next_fire_at is None
    assert sv.schedules.disable(s.id) == off  # already off: no change
    assert sv.schedules.enable(s.id).next_fire_at is not None
    with pytest.raises(ValidationError) as info:
        sv.schedules.update(s.id, cron_expr=None, enabled=None)  # type: ignore[arg-type]
    assert [p.path for p in info.value.problems] == ["cron_expr", "enabled"]
    assert sv.schedules.update(s.id) == sv.schedules.show(s.id)  # nothing given
    removed = sv.schedules.remove(s.id)
    assert (removed.id, removed.group) == (s.id, "hourly")
    assert sv.schedules.list() == []


def test_fired_lately_tells_a_scheduler_that_fires_its_schedules(sv: Services) -> None:
    """What the Dagster integration reads to refuse firing a group Pipekit's scheduler
    fires: enabled schedules fired at one of their last two slots (by the given clock)."""
    now = dt.datetime(2026, 3, 10, 12, 7, tzinfo=UTC)
    schedules = ScheduleService(sv, tz=AMS, clock=Clock(now))
    hourly = schedules.add("hourly", "5 * * * *")  # slots 12:05 and 11:05 UTC before now
    nightly = schedules.add("nightly", "0 2 * * *")
    assert schedules.fired_lately() == []  # never fired
    sv.store.schedules.mark_fired(hourly.id, dt.datetime(2026, 3, 10, 11, 5, tzinfo=UTC))
    sv.store.schedules.mark_fired(nightly.id, dt.datetime(2026, 3, 8, 1, 0, tzinfo=UTC))
    assert [s.id for s in schedules.fired_lately()] == [hourly.id]  # nightly: 3 slots ago
    sv.store.schedules.mark_fired(hourly.id, dt.datetime(2026, 3, 10, 10, 5, tzinfo=UTC))
    assert schedules.fired_lately() == []
    sv.store.schedules.mark_fired(nightly.id, dt.datetime(2026, 3, 9, 1, 0, tzinfo=UTC))
    assert [s.id for s in schedules.fired_lately()] == [nightly.id]
    schedules.disable(nightly.id)  # a disabled schedule fires nowhere
    assert schedules.fired_lately() == []
