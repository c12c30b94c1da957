"""The scheduler: fires each enabled schedule's group on its cron (DESIGN 8).

A ``Scheduler`` only decides *when*: each ``tick()`` finds the schedules whose
next cron occurrence (local server time) after ``last_fired_at`` — or after
``created_at`` when it never fired — has come, records ``last_fired_at`` in the
state store and only then calls ``fire(schedule, now)``. How the group run
executes (in this thread, a pool, a child process) is the caller's business:
``fire_group_run`` builds the usual ``fire``.

Because ``last_fired_at`` is written first and the next slot is counted from
it, a slow run or a restart never fires a slot twice, and a schedule missed
while nothing was ticking fires once, not once per missed slot. Several
servers may share one state store: each records the slot it fires as a unique
(schedule, slot) row in the same transaction (``schedules.claim_slot``), so of
several schedulers due at once exactly one fires the slot. The semantics are
written up in docs/scheduler.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

if TYPE_CHECKING:
    from pipekit.engine.run import Engine
    from pipekit.store import Store
    from pipekit.store.schedules import Schedule

log = logging.getLogger("pipekit.scheduler")

#: ``store.settings`` key; "1" pauses every schedule (ticks fire nothing)
PAUSED_KEY = "scheduler_paused"

FireFn = Callable[["Schedule", dt.datetime], None]


def local_zone() -> dt.tzinfo:
    """The server's time zone, as an IANA zone when it can be found (so cron
    times follow daylight saving), else the current fixed UTC offset."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text().strip())
    for name in candidates:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return dt.datetime.now().astimezone().tzinfo or dt.UTC


def next_occurrence(cron_expr: str, after: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The first slot of `cron_expr` in zone `tz` strictly after `after`, in UTC.

    A wall-clock time that occurs twice (the hour repeated when daylight saving
    ends) counts once: a slot whose local wall time is not later than `after`'s
    is skipped.
    """
    base = after.astimezone(tz)
    it = croniter(cron_expr, base)
    nxt: dt.datetime = it.get_next(dt.datetime)
    wall = base.replace(tzinfo=None)
    for _ in range(10_000):  # a repeated hour holds at most 60 minute slots
        if nxt.replace(tzinfo=None) > wall:
            break
        nxt = it.get_next(dt.datetime)
    # UTC: an aware time in a repeated hour never compares equal across zones
    return nxt.astimezone(dt.UTC)


def fire_times(
    schedule: Schedule,
    tz: dt.tzinfo,
    *,
    now: dt.datetime | None = None,
    count: int = 1,
) -> list[dt.datetime]:
    """The next `count` slots at which the scheduler fires `schedule` (in zone `tz`), in UTC.

    The first is the first slot after ``last_fired_at`` (``created_at`` when it
    never fired): a tick at or after it fires the schedule. Given `now`, a slot
    already past (missed while no scheduler ticked, or while the schedule was
    disabled) is left out: the scheduler fires such a slot once, at its next tick,
    and counts on from then, so the slots it fires after that are the ones after
    `now`. Each further slot is the first after the one before, exactly as the
    scheduler counts from the ``last_fired_at`` it records.

    ``Scheduler.next_fire`` (when a schedule is due) and the schedules service (the
    ``next_fire_at`` every face shows) both call this, so they cannot differ, not
    even across a daylight-saving change.
    """
    slot = next_occurrence(schedule.cron_expr, schedule.last_fired_at or schedule.created_at, tz)
    if now is not None and slot <= now:
        # Due already: the next tick fires it and records about `now` as last_fired_at.
        slot = next_occurrence(schedule.cron_expr, now, tz)
    out = [slot]
    while len(out) < count:
        out.append(next_occurrence(schedule.cron_expr, out[-1], tz))
    return out


class Scheduler:
    """Fires due schedules of one state store; see the module docstring."""

    def __init__(
        self,
        store: Store,
        fire: FireFn,
        *,
        clock: Callable[[], dt.datetime] | None = None,
        tz: dt.tzinfo | None = None,
        owner: str | None = None,
    ) -> None:
        from pipekit.engine.leases import owner_id

        self.store = store
        #: who fires, recorded with each slot (host:pid:random unless given)
        self.owner = owner or owner_id()
        self.fire = fire
        self.tz = tz or local_zone()
        self.clock = clock or (lambda: dt.datetime.now(self.tz))
        self._lock = threading.Lock()  # one tick at a time
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.interval_s: float | None = None
        self.last_tick_at: dt.datetime | None = None
        self._last_tick_mono: float | None = None
        self.last_error: str | None = None
        self.last_error_at: dt.datetime | None = None
        self.fired = 0
        #: False when this server's scheduler is off (``scheduler.enabled: false``)
        self.enabled = True

    # -- deciding ----------------------------------------------------------------

    def next_fire(self, schedule: Schedule) -> dt.datetime:
        """When `schedule` is next due: its first slot after last_fired_at/created_at."""
        return fire_times(schedule, self.tz)[0]

    def due(self, now: dt.datetime) -> list[Schedule]:
        """Enabled schedules whose next slot after last_fired_at (or created_at) is <= now."""
        due = []
        for schedule in self.store.schedules.list(enabled=True):
            try:
                if self.next_fire(schedule) <= now:
                    due.append(schedule)
            except Exception as exc:  # a bad row must not stop the others
                self._error(f"schedule {schedule.id}: cannot compute its next slot: {exc}", now)
        return due

    def paused(self) -> bool:
        return self.store.settings.get(PAUSED_KEY) == "1"

    # -- firing --------------------------------------------------------------------

    def tick(self) -> list[Schedule]:
        """One pass: mark each due schedule fired, then fire it. Returns those fired.

        A schedule whose group has no enabled member is marked (its slot is
        used up) but not fired. A ``fire`` that raises is logged; the others
        still fire.
        """
        with self._lock:
            now = self.clock()
            self.last_tick_at = now
            self._last_tick_mono = time.monotonic()
            if self.paused():
                return []
            fired: list[Schedule] = []
            for schedule in self.due(now):
                try:
                    slot = self.next_fire(schedule)
                    mine = self.store.schedules.claim_slot(
                        schedule.id, slot, now.astimezone(dt.UTC), self.owner
                    )
                except Exception as exc:  # not recorded: do not fire, try again next tick
                    self._error(f"schedule {schedule.id}: cannot record the firing: {exc}", now)
                    continue
                if not mine:
                    log.info("schedule %s: slot %s fired by another server", schedule.id, slot)
                    continue
                try:
                    if not self.store.groups.enabled_modules(schedule.group):
                        log.info(
                            "schedule %s: group %r has no enabled module; slot skipped",
                            schedule.id,
                            schedule.group,
                        )
                        continue
                    log.info(
                        "schedule %s (%s): firing group %r",
                        schedule.id,
                        schedule.cron_expr,
                        schedule.group,
                        extra={
                            "event": "schedule_fired",
                            "schedule_id": schedule.id,
                            "cron": schedule.cron_expr,
                            "group_name": schedule.group,
                        },
                    )
                    self.fire(schedule, now)
                except Exception as exc:
                    self._error(f"schedule {schedule.id} (group {schedule.group!r}): {exc}", now)
                    continue
                self.fired += 1
                fired.append(schedule)
            return fired

    def _error(self, message: str, now: dt.datetime) -> None:
        log.error("scheduler: %s", message, exc_info=True)
        self.last_error = message
        self.last_error_at = now

    # -- the loop ------------------------------------------------------------------

    def run(self, stop: threading.Event, interval_s: float = 60) -> None:
        """tick() every `interval_s` seconds until `stop` is set; never dies of an error."""
        self.interval_s = interval_s
        while not stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # e.g. the state store unreachable: retry next tick
                try:
                    now = self.clock()
                except Exception:
                    now = dt.datetime.now(dt.UTC)
                self._error(f"tick failed: {exc}", now)
            stop.wait(interval_s)

    def start(self, interval_s: float = 60) -> threading.Thread:
        """Run the loop in a daemon thread (at most one per Scheduler)."""
        if self._thread is not None and self._thread.is_alive():
            return self._thread
        self._stop = threading.Event()
        self.interval_s = interval_s
        self._thread = threading.Thread(
            target=self.run, args=(self._stop, interval_s), name="pipekit-scheduler", daemon=True
        )
        self._thread.start()
        return self._thread

    def stop(self, timeout: float | None = 10) -> None:
        """Stop the loop (a tick in progress finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def health(self) -> dict[str, Any]:
        """For GET /health: is the thread alive, when did it last tick, last error.

        ``ok`` is false when the thread is not running or has not started a tick
        for three intervals (at least five minutes): a stuck store or a ``fire``
        that blocks. A past error alone does not make it false.
        """

        def iso(value: dt.datetime | None) -> str | None:
            return value.isoformat() if value else None

        alive = self._thread is not None and self._thread.is_alive()
        limit = max(3 * (self.interval_s or 60), 300)
        stale = self._last_tick_mono is not None and time.monotonic() - self._last_tick_mono > limit
        try:
            paused: bool | None = self.paused()
        except Exception:
            paused = None
        return {
            # a scheduler turned off is healthy: another server sharing the store fires
            "ok": (alive and not stale) or not self.enabled,
            "enabled": self.enabled,
            "alive": alive,
            "stale": stale,
            "paused": paused,
            "interval_s": self.interval_s,
            "last_tick_at": iso(self.last_tick_at),
            "last_error": self.last_error,
            "last_error_at": iso(self.last_error_at),
            "fired": self.fired,
            "timezone": str(self.tz),
        }


def fire_group_run(target: Engine | Callable[..., Any]) -> FireFn:
    """A ``fire`` for Scheduler that starts the schedule's group with
    ``triggered_by="schedule:{id}"``.

    `target` is either a callable ``target(group_name, *, triggered_by)`` — the
    server passes one that submits ``run_group`` to its run pool and returns at
    once — or an Engine, whose group then runs right here, in the scheduler's
    thread (fine for a one-process CLI loop, blocking for a server).
    """
    from pipekit.engine.run import Engine, run_group

    def fire(schedule: Schedule, now: dt.datetime) -> None:
        triggered_by = f"schedule:{schedule.id}"
        if isinstance(target, Engine):
            run_group(target, schedule.group, triggered_by=triggered_by)
        else:
            target(schedule.group, triggered_by=triggered_by)

    return fire
