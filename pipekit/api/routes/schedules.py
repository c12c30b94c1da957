"""Schedules: cron expressions that run groups."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from pipekit.api import deps, schemas
from pipekit.api.deps import IntId
from pipekit.errors import NotFoundError
from pipekit.store import Store

router = APIRouter()
S = Depends(deps.store)
NOT_BUILT = {501: {"model": schemas.NotBuiltOut, "description": "not built yet"}}
UNPROCESSABLE = {422: {"description": "invalid definition, one entry per bad field"}}


def _engine(request: Request, s: Store) -> Any:
    from pipekit.engine.run import Engine

    return Engine.from_config(s, request.app.state.config)


# schedules -------------------------------------------------------------------


def _schedule(s: Store, id: IntId) -> Any:
    try:
        return s.schedules.get(id)
    except NotFoundError:
        raise
    except (KeyError, LookupError):
        raise NotFoundError(f"schedule {id} does not exist") from None


@router.get("/schedules", response_model=list[schemas.ScheduleOut], tags=["schedules"])
def list_schedules(group: str | None = None, s: Store = S) -> Any:
    return s.schedules.list(group=deps.group(s, group).name if group else None)


@router.post("/schedules", response_model=schemas.ScheduleOut, status_code=201, tags=["schedules"])
def add_schedule(body: schemas.ScheduleIn, s: Store = S) -> Any:
    """Add a schedule; an invalid cron expression is a 422."""
    return s.schedules.add(deps.group(s, body.group).name, body.cron_expr, enabled=body.enabled)


@router.get("/schedules/{id}", response_model=schemas.ScheduleOut, tags=["schedules"])
def get_schedule(id: IntId, s: Store = S) -> Any:
    return _schedule(s, id)


@router.put("/schedules/{id}", response_model=schemas.ScheduleOut, tags=["schedules"])
def update_schedule(id: IntId, body: schemas.SchedulePatch, s: Store = S) -> Any:
    _schedule(s, id)
    changes = body.model_dump(exclude_unset=True)
    for key, value in changes.items():
        if value is None:
            raise deps.field_422(key, "may not be null")
    if "group" in changes:
        changes["group"] = deps.group(s, changes["group"]).name
    if not changes:
        return _schedule(s, id)
    return s.schedules.update(id, **changes)


@router.delete("/schedules/{id}", response_model=schemas.Deleted, tags=["schedules"])
def remove_schedule(id: IntId, s: Store = S) -> Any:
    _schedule(s, id)
    s.schedules.remove(id)
    return schemas.Deleted()
