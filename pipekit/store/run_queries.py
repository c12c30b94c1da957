"""Read-only run-log queries for overviews that must stay fast with a million runs.

- ``page``: runs newest first, a page at a time by keyset (``before`` = the last run
  id of the previous page), never by OFFSET, so page 1,000 costs what page 1 does;
- ``latest_by_module``: every module's latest run, one index probe per module;
- ``last_success``: every module's last successful start, one index probe per module;
- ``daily_totals``: rows moved, run time and failures per UTC day;
- ``after``: runs by id order after a cursor, for readers that follow the run log
  (the Dagster sensor).

The indexes these rely on are made by migration 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, literal_column, or_, select

from pipekit.store import schema
from pipekit.store.runs import Run

if TYPE_CHECKING:
    from pipekit.store.store import Store

_r, _g, _mod = schema.run_log, schema.group_run, schema.module
_grp, _member, _sched = schema.grp, schema.group_member, schema.schedule


@dataclass(frozen=True)
class LatestRun:
    module_id: int
    run_id: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    row_count: int | None
    error: str | None
    triggered_by: str | None = None
    merge_strategy: str | None = None
    rows_read: int | None = None


@dataclass(frozen=True)
class ScheduledMember:
    """An enabled module in a group that has an enabled schedule, with its last success."""

    module_id: int
    module: str
    created_at: datetime
    group: str
    last_success: datetime | None


@dataclass(frozen=True)
class DayTotal:
    day: str  # YYYY-MM-DD, UTC
    runs: int
    failed: int
    rows: int
    seconds: float


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class RunQueries:
    def __init__(self, store: Store) -> None:
        self._store = store

    def page(
        self,
        *,
        module: str | None = None,
        group: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> list[Run]:
        """Runs newest first (by start, then id) after run `before` of the previous page.

        A `before` that is no run gives the first page."""
        query = select(_r).order_by(_r.c.started_at.desc(), _r.c.id.desc())
        if module is not None:
            query = query.where(_r.c.module_name == module)
        if status is not None:
            query = query.where(_r.c.status == status)
        if group is not None:
            of_group = select(_g.c.id).where(_g.c.group_name == group)
            query = query.where(_r.c.group_run_id.in_(of_group))
        if since is not None:
            query = query.where(_r.c.started_at >= _aware(since))
        with self._store.read() as conn:
            if before is not None:
                cursor = conn.execute(select(_r.c.started_at).where(_r.c.id == before)).scalar()
                if cursor is not None:
                    # The first condition alone is an index range that the ORDER BY
                    # walks and LIMIT stops; the second only breaks ties on start time.
                    query = query.where(
                        _r.c.started_at <= cursor,
                        or_(_r.c.started_at < cursor, _r.c.id < before),
                    )
            rows = conn.execute(query.limit(limit)).all()
        return [Run.from_row(r) for r in rows]

    def after(self, run_id: int, *, also: Sequence[int] = (), limit: int = 200) -> list[Run]:
        """The first `limit` runs whose id is above `run_id`, by id, then the runs whose
        ids are in `also` (runs a follower saw still running); ids that are no run are
        left out."""
        with self._store.read() as conn:
            rows = list(
                conn.execute(select(_r).where(_r.c.id > run_id).order_by(_r.c.id).limit(limit))
            )
            wanted = sorted(set(also))
            if wanted:
                rows += conn.execute(select(_r).where(_r.c.id.in_(wanted)).order_by(_r.c.id)).all()
        return [Run.from_row(r) for r in rows]

    def latest_by_module(self) -> dict[int, LatestRun]:
        """Each module's latest run (modules that never ran are left out)."""
        latest = (
            select(_r.c.id)
            .where(_r.c.module_id == _mod.c.id)
            .order_by(_r.c.started_at.desc(), _r.c.id.desc())
            .limit(1)
            .correlate(_mod)
            .scalar_subquery()
        )
        query = select(
            _mod.c.id.label("module_id"),
            _r.c.id,
            _r.c.status,
            _r.c.started_at,
            _r.c.finished_at,
            _r.c.row_count,
            _r.c.error,
            _r.c.triggered_by,
            _r.c.merge_strategy,
            _r.c.rows_read,
        ).select_from(_mod.join(_r, _r.c.id == latest))
        with self._store.read() as conn:
            rows = conn.execute(query).all()
        return {
            r.module_id: LatestRun(
                module_id=r.module_id,
                run_id=r.id,
                status=r.status,
                started_at=r.started_at,
                finished_at=r.finished_at,
                row_count=r.row_count,
                error=r.error,
                triggered_by=r.triggered_by,
                merge_strategy=r.merge_strategy,
                rows_read=r.rows_read,
            )
            for r in rows
        }

    def last_success(self) -> dict[int, datetime | None]:
        """Each module's last successful run's start (None: never succeeded)."""
        last = (
            select(func.max(_r.c.started_at))
            .where(_r.c.module_id == _mod.c.id, _r.c.status == "success")
            .correlate(_mod)
            .scalar_subquery()
        )
        with self._store.read() as conn:
            rows = conn.execute(select(_mod.c.id, last.label("at"))).all()
        return {r.id: (_aware(r.at) if isinstance(r.at, datetime) else _parse(r.at)) for r in rows}

    def scheduled_members(self) -> list[ScheduledMember]:
        """Enabled modules of groups with an enabled schedule, each with its last success
        (one index probe per module), in one query."""
        last = (
            select(func.max(_r.c.started_at))
            .where(_r.c.module_id == _mod.c.id, _r.c.status == "success")
            .correlate(_mod)
            .scalar_subquery()
        )
        scheduled = select(_sched.c.group_id).where(_sched.c.enabled == True)  # noqa: E712
        query = (
            select(
                _mod.c.id,
                _mod.c.name,
                _mod.c.created_at,
                _grp.c.name.label("grp"),
                last.label("at"),
            )
            .select_from(
                _member.join(_grp, _grp.c.id == _member.c.group_id).join(
                    _mod, _mod.c.id == _member.c.module_id
                )
            )
            .where(_mod.c.enabled == True, _grp.c.id.in_(scheduled))  # noqa: E712
        )
        with self._store.read() as conn:
            rows = conn.execute(query).all()
        return [
            ScheduledMember(
                r.id,
                r.name,
                _aware(r.created_at),
                r.grp,
                _aware(r.at) if isinstance(r.at, datetime) else _parse(r.at),
            )
            for r in rows
        ]

    def memberships(self) -> dict[int, list[str]]:
        """The groups of every module that is in one (module id -> group names)."""
        query = (
            select(_member.c.module_id, _grp.c.name)
            .select_from(_member.join(_grp, _grp.c.id == _member.c.group_id))
            .order_by(_grp.c.name)
        )
        out: dict[int, list[str]] = {}
        with self._store.read() as conn:
            for module_id, name in conn.execute(query).all():
                out.setdefault(module_id, []).append(name)
        return out

    def daily_totals(self, since: datetime) -> list[DayTotal]:
        """Per UTC day since `since`: runs, failed runs, rows moved, seconds of run time."""
        if self._store.dialect == "postgresql":
            day: Any = func.to_char(
                func.timezone("UTC", _r.c.started_at), literal_column("'YYYY-MM-DD'")
            )
            secs: Any = func.extract("epoch", _r.c.finished_at - _r.c.started_at)
        else:
            day = func.substr(_r.c.started_at, 1, 10)
            secs = (func.julianday(_r.c.finished_at) - func.julianday(_r.c.started_at)) * 86400.0
        query = (
            select(
                day.label("day"),
                func.count().label("runs"),
                func.sum(case((_r.c.status == "error", 1), else_=0)).label("failed"),
                func.coalesce(func.sum(_r.c.row_count), 0).label("rows"),
                func.coalesce(func.sum(secs), 0).label("seconds"),
            )
            .where(_r.c.started_at >= _aware(since))
            .group_by(day)
            .order_by(day)
        )
        with self._store.read() as conn:
            rows = conn.execute(query).all()
        return [
            DayTotal(str(r.day), int(r.runs), int(r.failed), int(r.rows), float(r.seconds or 0))
            for r in rows
        ]


def _parse(value: Any) -> datetime | None:
    """A MAX() over a SQLite timestamp comes back as its text."""
    if value is None:
        return None
    return _aware(datetime.fromisoformat(str(value)))
