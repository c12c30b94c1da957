"""Schedules: a cron expression that runs a group. Identified by id.

Cron expressions are checked with ``croniter`` when saved, so a typo is
refused at ``pipekit schedules add`` rather than discovered at 2 a.m.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection as SAConnection
from sqlalchemy import Row, select

from pipekit.errors import (
    NotFoundError,
    PipekitError,
    ScheduleSpecError,
)
from pipekit.store import schema
from pipekit.store.repo import UNSET, _Unset, inserted_id
from pipekit.store.types import utcnow

if TYPE_CHECKING:
    from pipekit.store.store import Store

_t = schema.schedule
_g = schema.grp
_f = schema.schedule_firing


def check_cron(
    expr: str,
    what: str,
    error: type[PipekitError] = ScheduleSpecError,
    *,
    path: str | None = None,
) -> str:
    """`expr` stripped, or `error` (about field `path`) saying which cron field is wrong."""
    from pipekit.cron import cron_problem

    text = expr.strip() if isinstance(expr, str) else ""
    problem = cron_problem(text)
    if problem is not None:
        raise error(f"{what} {expr!r}: {problem}", path=path)
    return text


@dataclass(frozen=True)
class Schedule:
    id: int
    group: str
    group_id: int
    cron_expr: str
    enabled: bool
    last_fired_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row[Any]) -> Schedule:
        m = row._mapping
        return cls(
            id=m["id"],
            group=m["group"],
            group_id=m["group_id"],
            cron_expr=m["cron_expr"],
            enabled=bool(m["enabled"]),
            last_fired_at=m["last_fired_at"],
            created_at=m["created_at"],
        )


def _select() -> Any:
    return select(_t, _g.c.name.label("group")).join(_g, _g.c.id == _t.c.group_id)


def _group_id(conn: SAConnection, group: str) -> int:
    from pipekit.store.groups import require_group

    return int(require_group(conn, group).id)


class ScheduleRepo:
    """CRUD for schedules (by id) plus ``mark_fired`` for the scheduler."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, group: str, cron_expr: str, enabled: bool = True) -> Schedule:
        """Schedule `group`; NotFoundError for an unknown group, ScheduleSpecError for bad cron."""
        expr = check_cron(cron_expr, "cron expression", path="cron_expr")
        with self._store.write() as conn:
            gid = _group_id(conn, group)
            new_id = inserted_id(
                conn.execute(
                    _t.insert().values(
                        group_id=gid, cron_expr=expr, enabled=bool(enabled), created_at=utcnow()
                    )
                )
            )
            return Schedule.from_row(self._require(conn, new_id))

    def get(self, schedule_id: int) -> Schedule:
        with self._store.read() as conn:
            return Schedule.from_row(self._require(conn, schedule_id))

    def list(self, group: str | None = None, enabled: bool | None = None) -> list[Schedule]:
        """Schedules by group name then id; filtered by group / enabled when given."""
        query = _select().order_by(_g.c.name, _t.c.id)
        if enabled is not None:
            query = query.where(_t.c.enabled == enabled)
        with self._store.read() as conn:
            if group is not None:
                query = query.where(_t.c.group_id == _group_id(conn, group))
            return [Schedule.from_row(r) for r in conn.execute(query).all()]

    def update(
        self,
        schedule_id: int,
        *,
        group: str | _Unset = UNSET,
        cron_expr: str | _Unset = UNSET,
        enabled: bool | _Unset = UNSET,
    ) -> Schedule:
        changes: dict[str, Any] = {}
        if cron_expr is not UNSET:
            changes["cron_expr"] = check_cron(cron_expr, "cron expression", path="cron_expr")
        if enabled is not UNSET:
            changes["enabled"] = bool(enabled)
        with self._store.write() as conn:
            self._require(conn, schedule_id)
            if group is not UNSET:
                changes["group_id"] = _group_id(conn, group)
            if changes:
                conn.execute(_t.update().where(_t.c.id == schedule_id).values(**changes))
            return Schedule.from_row(self._require(conn, schedule_id))

    def set_enabled(self, schedule_id: int, enabled: bool) -> Schedule:
        return self.update(schedule_id, enabled=enabled)

    def mark_fired(self, schedule_id: int, at: datetime) -> None:
        """Record that the scheduler started the schedule's group at `at` (aware UTC)."""
        with self._store.write() as conn:
            self._require(conn, schedule_id)
            conn.execute(_t.update().where(_t.c.id == schedule_id).values(last_fired_at=at))

    def claim_slot(self, schedule_id: int, slot_at: datetime, at: datetime, by: str) -> bool:
        """Record that `by` fires the schedule's slot `slot_at` now (`at`), and set its
        ``last_fired_at``; False (nothing written) when a server sharing the store has
        fired that slot already. The unique (schedule, slot) row decides: of several
        servers ticking at once exactly one inserts it. Rows older than a week go."""
        row = {"schedule_id": schedule_id, "slot_at": slot_at, "fired_at": at, "fired_by": by[:255]}
        if self._store.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt: Any = pg_insert(_f).values(row).on_conflict_do_nothing().returning(_f.c.id)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(_f).values(row).on_conflict_do_nothing().returning(_f.c.id)
        with self._store.write() as conn:
            self._require(conn, schedule_id)
            if conn.execute(stmt).first() is None:  # the slot's row was there already
                return False
            conn.execute(_t.update().where(_t.c.id == schedule_id).values(last_fired_at=at))
            conn.execute(
                _f.delete().where(
                    _f.c.schedule_id == schedule_id, _f.c.slot_at < slot_at - timedelta(days=7)
                )
            )
            return True

    def remove(self, schedule_id: int) -> None:
        with self._store.write() as conn:
            self._require(conn, schedule_id)
            conn.execute(_t.delete().where(_t.c.id == schedule_id))

    @staticmethod
    def _require(conn: SAConnection, schedule_id: int) -> Row[Any]:
        row = conn.execute(_select().where(_t.c.id == schedule_id)).first()
        if row is None:
            raise NotFoundError(f"no schedule with id {schedule_id}; see `pipekit schedules list`")
        return row
