"""The dashboard: what runs now, what failed, what is late, what fires next, and the
rows moved and run time of the last days. ``GET /api/dashboard`` and the web
console's ``/`` show the same ``DashboardView``.

A module is **late** when it is an enabled member of a group with an enabled
schedule and has had no successful run for more than ``LATE_INTERVALS`` of that
schedule's intervals (the gap between its next two fire times; the shortest when
several schedules run it). A module that never succeeded counts from its creation.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipekit.errors import InvalidError
from pipekit.services.runs import RunView, run_view
from pipekit.status import RunStatus
from pipekit.store.run_queries import RunQueries

if TYPE_CHECKING:
    from pipekit.services import Services

#: a module is late after this many schedule intervals without a success
LATE_INTERVALS = 2
#: how long the totals of past days are reused (seconds); today's are always counted
PAST_DAYS_TTL_S = 300.0
DAYS_MAX = 90


@dataclass(frozen=True)
class LateModule:
    module: str
    module_id: int
    group: str
    schedule_id: int
    cron_expr: str
    interval_s: float
    last_success_at: dt.datetime | None
    #: how long past the allowed gap it is (seconds)
    overdue_s: float


@dataclass(frozen=True)
class NextFire:
    schedule_id: int
    group: str
    cron_expr: str
    at: dt.datetime


@dataclass(frozen=True)
class DayView:
    day: str
    runs: int
    failed: int
    rows: int
    seconds: float


@dataclass(frozen=True)
class DashboardView:
    running: list[RunView]
    failures: list[RunView]
    late: list[LateModule]
    next_fires: list[NextFire]
    days: list[DayView]


#: totals of past days, per (state store, first day, today): (expiry, totals)
_PAST: dict[tuple[str, str, str], tuple[float, list[Any]]] = {}
_PAST_LOCK = threading.Lock()


class DashboardService:
    def __init__(self, sv: Services) -> None:
        self._sv = sv
        self._store = sv.store
        self._queries = RunQueries(sv.store)

    def show(self, *, days: int = 14, failures: int = 10, fires: int = 5) -> DashboardView:
        now = self._sv.schedules.now()
        times = self._fire_times(now, max(fires, 2))
        return DashboardView(
            running=self.running(),
            failures=self.failures(failures),
            late=self.late_modules(now, times),
            next_fires=self.next_fires(fires, now, times),
            days=self.days(days, now),
        )

    def _fire_times(self, now: dt.datetime, count: int) -> list[tuple[Any, list[dt.datetime]]]:
        """Each enabled schedule with its next `count` fire times (croniter is slow enough
        that the dashboard asks once for both its uses)."""
        from pipekit.runtime.scheduler import fire_times

        tz = self._sv.schedules.tz
        return [
            (s, fire_times(s, tz, now=now, count=count))
            for s in self._store.schedules.list()
            if s.enabled
        ]

    def running(self, limit: int = 100) -> list[RunView]:
        """Runs going on now, newest first, then those queued for a worker."""
        going = self._queries.page(status=RunStatus.RUNNING, limit=limit)
        waiting = self._queries.page(status=RunStatus.QUEUED, limit=limit)
        return [run_view(r) for r in [*going, *waiting][:limit]]

    def failures(self, limit: int = 10) -> list[RunView]:
        """The latest failed runs, newest first."""
        return [run_view(r) for r in self._queries.page(status=RunStatus.ERROR, limit=limit)]

    def next_fires(
        self,
        count: int = 5,
        now: dt.datetime | None = None,
        times: list[tuple[Any, list[dt.datetime]]] | None = None,
    ) -> list[NextFire]:
        """The next `count` fires of all enabled schedules together, soonest first."""
        now = now or self._sv.schedules.now()
        if times is None:
            times = self._fire_times(now, count)
        fires = [NextFire(s.id, s.group, s.cron_expr, at) for s, ats in times for at in ats[:count]]
        return sorted(fires, key=lambda f: f.at)[:count]

    def late_modules(
        self,
        now: dt.datetime | None = None,
        times: list[tuple[Any, list[dt.datetime]]] | None = None,
    ) -> list[LateModule]:
        """Late modules (see the module docstring), the most overdue first."""
        now = now or self._sv.schedules.now()
        if times is None:
            times = self._fire_times(now, 2)
        # the shortest interval of an enabled schedule, per group
        shortest: dict[str, tuple[float, Any]] = {}
        for s, ats in times:
            first, second = ats[0], ats[1]
            gap = (second - first).total_seconds()
            if s.group not in shortest or gap < shortest[s.group][0]:
                shortest[s.group] = (gap, s)
        if not shortest:
            return []
        late: dict[str, LateModule] = {}
        for m in self._queries.scheduled_members():
            if m.group not in shortest:
                continue
            gap, sched = shortest[m.group]
            since = m.last_success or m.created_at
            overdue = (now - since).total_seconds() - LATE_INTERVALS * gap
            if overdue <= 0 or (m.module in late and late[m.module].interval_s <= gap):
                continue
            late[m.module] = LateModule(
                m.module,
                m.module_id,
                m.group,
                sched.id,
                sched.cron_expr,
                gap,
                m.last_success,
                overdue,
            )
        return sorted(late.values(), key=lambda x: -x.overdue_s)

    def _past_days(self, start: dt.datetime, today: dt.datetime) -> list[Any]:
        """The totals of the days before today: summing a few hundred thousand runs
        costs more than a page may, and past days change only when a run that started
        then ends late, so they are kept ``PAST_DAYS_TTL_S`` seconds in this process."""
        key = (self._store.display(), start.isoformat(), today.isoformat())
        clock = time.monotonic()
        with _PAST_LOCK:
            hit = _PAST.get(key)
        if hit is not None and hit[0] > clock:
            return hit[1]
        totals = [
            d for d in self._queries.daily_totals(start) if d.day < today.strftime("%Y-%m-%d")
        ]
        with _PAST_LOCK:
            for old in [k for k, (expiry, _) in _PAST.items() if expiry <= clock]:
                del _PAST[old]
            _PAST[key] = (clock + PAST_DAYS_TTL_S, totals)
        return totals

    def days(self, days: int = 14, now: dt.datetime | None = None) -> list[DayView]:
        """Runs, failures, rows and run time per UTC day for the last `days` days
        (days without runs included, as zeros), oldest first."""
        if not 1 <= days <= DAYS_MAX:
            raise InvalidError(f"days {days} is out of range; ask for 1 to {DAYS_MAX}", path="days")
        now = (now or self._sv.schedules.now()).astimezone(dt.UTC)
        start = (now - dt.timedelta(days=days - 1)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        found = {d.day: d for d in self._past_days(start, today)}
        found.update({d.day: d for d in self._queries.daily_totals(today)})
        out = []
        for i in range(days):
            key = (start + dt.timedelta(days=i)).strftime("%Y-%m-%d")
            d = found.get(key)
            out.append(
                DayView(key, d.runs, d.failed, d.rows, d.seconds)
                if d
                else DayView(key, 0, 0, 0, 0.0)
            )
        return out
