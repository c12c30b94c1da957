"""Schedules: cron expressions that run groups."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from pipekit.api import deps, schemas
from pipekit.api.deps import IntId
from pipekit.services import Services
from pipekit.services.schedules import UNSET, ScheduleView

router = APIRouter()


@router.get("/schedules", response_model=list[ScheduleView], tags=["schedules"])
def list_schedules(group: str | None = None, sv: Services = deps.VIEWER) -> Any:
    """Schedules (of one group, by id or name), with when the scheduler next fires each."""
    return sv.schedules.list(group=group)


@router.post("/schedules", response_model=ScheduleView, status_code=201, tags=["schedules"])
def add_schedule(body: schemas.ScheduleIn, sv: Services = deps.EDITOR) -> Any:
    """Add a schedule; an invalid cron expression is a 422 naming `cron_expr`."""
    return sv.schedules.add(body.group, body.cron_expr, body.enabled)


@router.get("/schedules/{id}", response_model=ScheduleView, tags=["schedules"])
def get_schedule(id: IntId, sv: Services = deps.VIEWER) -> Any:
    return sv.schedules.show(id)


@router.put("/schedules/{id}", response_model=ScheduleView, tags=["schedules"])
def update_schedule(id: IntId, body: schemas.SchedulePatch, sv: Services = deps.EDITOR) -> Any:
    """Change the group, the cron expression or `enabled` (the fields given; null is a 422)."""
    changes = body.model_dump(exclude_unset=True)
    return sv.schedules.update(
        id, **{k: changes.get(k, UNSET) for k in ("group", "cron_expr", "enabled")}
    )


@router.delete("/schedules/{id}", response_model=schemas.Deleted, tags=["schedules"])
def remove_schedule(id: IntId, sv: Services = deps.EDITOR) -> Any:
    sv.schedules.remove(id)
    return schemas.Deleted()
