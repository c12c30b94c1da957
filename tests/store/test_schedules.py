"""Schedules, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from pipekit.errors import NotFoundError
from pipekit.store import Store
from pipekit.store.schedules import ScheduleSpecError


@pytest.fixture
def groups(store: Store) -> Store:
    store.groups.add("nightly")
    store.groups.add("hourly")
    return store


def test_crud_and_mark_fired(groups: Store) -> None:
    store = groups
    s = store.schedules.add("nightly", "0 2 * * *")
    assert (s.group, s.cron_expr, s.enabled, s.last_fired_at) == (
        "nightly",
        "0 2 * * *",
        True,
        None,
    )
    h = store.schedules.add("hourly", " 5 * * * * ", enabled=False)
    assert h.cron_expr == "5 * * * *"
    assert store.schedules.get(s.id) == s
    assert [x.id for x in store.schedules.list()] == [h.id, s.id]  # by group name
    assert [x.id for x in store.schedules.list(group="nightly")] == [s.id]
    assert [x.id for x in store.schedules.list(enabled=True)] == [s.id]
    assert store.schedules.update(s.id, cron_expr="30 1 * * 1-5").cron_expr == "30 1 * * 1-5"
    assert store.schedules.update(s.id, group="hourly").group == "hourly"
    assert store.schedules.set_enabled(h.id, True).enabled is True
    at = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    store.schedules.mark_fired(s.id, at)
    assert store.schedules.get(s.id).last_fired_at == at
    store.schedules.remove(h.id)
    assert [x.id for x in store.schedules.list()] == [s.id]
    store.groups.remove("hourly")  # schedules go with their group
    assert store.schedules.list() == []


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("every day", "2 fields given; expected five fields"),
        ("61 * * * *", "the minute field 61 is out of range 0-59"),
        ("* * *", "3 fields given"),
        ("", "empty; expected five fields"),
        ("0 0 * * * 2027", "6 fields given"),
    ],
)
def test_bad_cron_is_refused(groups: Store, expr: str, problem: str) -> None:
    with pytest.raises(ScheduleSpecError, match=re.escape(f"cron expression {expr!r}: {problem}")):
        groups.schedules.add("nightly", expr)
    assert groups.schedules.list() == []


def test_errors(groups: Store) -> None:
    store = groups
    s = store.schedules.add("nightly", "0 2 * * *")
    with pytest.raises(
        ScheduleSpecError, match="'0 25 \\* \\* \\*': the hour field 25 is out of range"
    ):
        store.schedules.update(s.id, cron_expr="0 25 * * *")
    assert store.schedules.get(s.id).cron_expr == "0 2 * * *"
    with pytest.raises(NotFoundError, match=r"no group named 'x' \(known: hourly, nightly\)"):
        store.schedules.add("x", "0 2 * * *")
    with pytest.raises(NotFoundError, match="no schedule with id 999"):
        store.schedules.get(999)
    with pytest.raises(NotFoundError, match="no schedule with id 999"):
        store.schedules.mark_fired(999, datetime.now(UTC))
