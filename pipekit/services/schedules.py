"""Schedules: cron expressions (the server's local time) that run a group.

A schedule's next fire time comes from the scheduler's own code
(``pipekit.runtime.scheduler.fire_times``), in the scheduler's zone and by its
clock when the server runs one, else in the machine's zone, so what a face
shows is when the scheduler fires, daylight-saving changes included.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipekit.errors import NotFoundError, Problem, ValidationError
from pipekit.services.lookup import find

if TYPE_CHECKING:
    from pipekit.services import Services

GROUP_FIX = "add one with `pipekit groups add` (POST /api/groups)"


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: default of ``update()`` arguments: leave the field as it is
UNSET: Any = _Unset()


@dataclass(frozen=True)
class ScheduleView:
    id: int
    group: str
    group_id: int
    cron_expr: str
    enabled: bool
    last_fired_at: dt.datetime | None
    created_at: dt.datetime
    #: when the scheduler next fires it (UTC); None while it is disabled
    next_fire_at: dt.datetime | None


class ScheduleService:
    def __init__(
        self,
        sv: Services,
        *,
        tz: dt.tzinfo | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._sv = sv
        self._store = sv.store
        scheduler = sv.scheduler
        self._tz = tz or (scheduler.tz if scheduler is not None else None)
        self._clock = clock or (scheduler.clock if scheduler is not None else None)

    # -- time ------------------------------------------------------------------

    @property
    def tz(self) -> dt.tzinfo:
        """The zone cron expressions are read in: the scheduler's."""
        if self._tz is None:
            from pipekit.runtime.scheduler import local_zone

            self._tz = local_zone()
        return self._tz

    def now(self) -> dt.datetime:
        return self._clock() if self._clock is not None else dt.datetime.now(self.tz)

    def _times(self, schedule: Any, count: int, now: dt.datetime) -> list[dt.datetime]:
        # croniter is imported with the scheduler, only when a time is asked for
        from pipekit.runtime.scheduler import fire_times

        return fire_times(schedule, self.tz, now=now, count=count)

    def _view(self, s: Any, now: dt.datetime) -> ScheduleView:
        nxt = self._times(s, 1, now)[0] if s.enabled else None
        return ScheduleView(
            s.id, s.group, s.group_id, s.cron_expr, s.enabled, s.last_fired_at, s.created_at, nxt
        )

    # -- reading ---------------------------------------------------------------

    def list(self, group: str | int | None = None) -> list[ScheduleView]:
        """Schedules by group name then id; only group `group` (id or name) when given."""
        name = self._group(group) if group is not None else None
        now = self.now()
        return [self._view(s, now) for s in self._store.schedules.list(group=name)]

    def show(self, schedule_id: int) -> ScheduleView:
        """One schedule; NotFoundError naming the id."""
        return self._view(self._store.schedules.get(schedule_id), self.now())

    def next_fires(self, schedule_id: int, count: int = 3) -> builtins.list[dt.datetime]:
        """The next `count` fire times (UTC), as if enabled when it is not."""
        return self._times(self._store.schedules.get(schedule_id), count, self.now())

    def fired_lately(self, slots: int = 2) -> builtins.list[ScheduleView]:
        """Enabled schedules that a Pipekit scheduler fired at one of their last `slots`
        cron slots: the sign that a server's scheduler is on and fires them (another
        orchestrator, such as Dagster, must then not fire the same group too)."""
        from croniter import croniter

        now = self.now()
        local = now.astimezone(self.tz)
        lately: builtins.list[ScheduleView] = []
        for s in self._store.schedules.list(enabled=True):
            if s.last_fired_at is None:
                continue
            it = croniter(s.cron_expr, local)
            slot = local
            for _ in range(slots):
                slot = it.get_prev(dt.datetime)
            if s.last_fired_at >= slot:
                lately.append(self._view(s, now))
        return lately

    # -- writing ---------------------------------------------------------------

    def add(self, group: str | int, cron_expr: str, enabled: bool = True) -> ScheduleView:
        """Run `group` (id or name) on `cron_expr`; ScheduleSpecError (cron_expr) when invalid."""
        from pipekit.store.schedules import check_cron

        expr = check_cron(cron_expr, "cron expression", path="cron_expr")
        with self._store.transaction():
            s = self._store.schedules.add(self._group(group), expr, enabled=enabled)
            return self._view(s, self.now())

    def update(
        self,
        schedule_id: int,
        *,
        group: str | int = UNSET,
        cron_expr: str = UNSET,
        enabled: bool = UNSET,
    ) -> ScheduleView:
        """Change the group, the cron expression and/or the enabled flag (None is refused)."""
        from pipekit.store import UNSET as STORE_UNSET
        from pipekit.store.schedules import check_cron

        given = {"group": group, "cron_expr": cron_expr, "enabled": enabled}
        nulls = [k for k, v in given.items() if v is None]
        if nulls:
            raise ValidationError(
                [Problem(k, "may not be null; leave it out to keep the value") for k in nulls],
                "the schedule",
            )
        expr = (
            STORE_UNSET
            if cron_expr is UNSET
            else check_cron(cron_expr, "cron expression", path="cron_expr")
        )
        with self._store.transaction():
            self._store.schedules.get(schedule_id)
            s = self._store.schedules.update(
                schedule_id,
                group=STORE_UNSET if group is UNSET else self._group(group),
                cron_expr=expr,
                enabled=STORE_UNSET if enabled is UNSET else bool(enabled),
            )
            return self._view(s, self.now())

    def enable(self, schedule_id: int) -> ScheduleView:
        return self.update(schedule_id, enabled=True)

    def disable(self, schedule_id: int) -> ScheduleView:
        return self.update(schedule_id, enabled=False)

    def remove(self, schedule_id: int) -> ScheduleView:
        """Delete a schedule (its group stays); returns what it was."""
        with self._store.transaction():
            s = self._view(self._store.schedules.get(schedule_id), self.now())
            self._store.schedules.remove(schedule_id)
        return s

    def _group(self, key: str | int) -> str:
        """The name of group `key` (id or name); NotFoundError about the field `group`."""
        try:
            return find(self._store.groups.list(), key, "group", GROUP_FIX).name
        except NotFoundError as exc:
            exc.path = "group"
            raise
