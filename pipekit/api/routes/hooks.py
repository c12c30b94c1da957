"""Hooks: SQL run on the destination after a module's merge (``sv.hooks``), by numeric id."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from pipekit.api import deps, schemas
from pipekit.api.deps import IntId
from pipekit.services import Services
from pipekit.services.modules import HookView, SavedHookView

router = APIRouter()
UNPROCESSABLE: dict[int | str, dict[str, Any]] = {
    422: {"description": "invalid hook, one entry per bad field"}
}


@router.get("/modules/{id}/hooks", response_model=list[HookView], tags=["hooks"])
def list_hooks(id: str, sv: Services = deps.VIEWER) -> Any:
    return sv.hooks.list(id)


@router.post(
    "/hooks", response_model=SavedHookView, status_code=201, responses=UNPROCESSABLE, tags=["hooks"]
)
def add_hook(body: schemas.HookIn, sv: Services = deps.ADMIN) -> Any:
    """Add a hook to `module`: last, at 1-based `position` (the others move down), or
    at a raw `run_order`."""
    return sv.hooks.add(
        body.module,
        body.sql,
        run_on=body.run_on,
        position=body.position,
        run_order=body.run_order,
    )


@router.get("/hooks/{id}", response_model=HookView, tags=["hooks"])
def get_hook(id: IntId, sv: Services = deps.VIEWER) -> Any:
    return sv.hooks.show(id)


@router.put("/hooks/{id}", response_model=SavedHookView, responses=UNPROCESSABLE, tags=["hooks"])
def update_hook(id: IntId, body: schemas.HookPatch, sv: Services = deps.ADMIN) -> Any:
    """Change a hook's SQL, outcome or 1-based position (omitted or null = unchanged)."""
    return sv.hooks.update(id, sql=body.sql, run_on=body.run_on, position=body.position)


@router.delete("/hooks/{id}", response_model=schemas.Deleted, tags=["hooks"])
def remove_hook(id: IntId, sv: Services = deps.ADMIN) -> Any:
    sv.hooks.remove(id)
    return schemas.Deleted()
