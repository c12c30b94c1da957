"""Groups: modules run in order, and their members."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from pipekit.api import deps, schemas
from pipekit.api.deps import IntId
from pipekit.services import Services
from pipekit.services.groups import UNSET, GroupView

router = APIRouter()


@router.get("/groups", response_model=list[GroupView], tags=["groups"])
def list_groups(sv: Services = deps.VIEWER) -> Any:
    return sv.groups.list()


@router.post("/groups", response_model=GroupView, status_code=201, tags=["groups"])
def add_group(body: schemas.GroupIn, sv: Services = deps.EDITOR) -> Any:
    """Create a group; `members` are module ids or names, in run order."""
    return sv.groups.add(body.name, body.description, body.members)


@router.get("/groups/{id}", response_model=GroupView, tags=["groups"])
def get_group(id: str, sv: Services = deps.VIEWER) -> Any:
    return sv.groups.show(id)


@router.put("/groups/{id}", response_model=GroupView, tags=["groups"])
def update_group(id: str, body: schemas.GroupPatch, sv: Services = deps.EDITOR) -> Any:
    """Rename, change the description ("" or null clears it) or replace the members."""
    changes = body.model_dump(exclude_unset=True)
    return sv.groups.update(
        id,
        name=changes.get("name", UNSET),
        description=changes.get("description", UNSET),
        members=changes.get("members", UNSET),
    )


@router.delete("/groups/{id}", response_model=schemas.Deleted, tags=["groups"])
def remove_group(id: str, sv: Services = deps.EDITOR) -> Any:
    """Remove a group with its schedules; its modules and group runs stay."""
    sv.groups.remove(id)
    return schemas.Deleted()


@router.post("/groups/{id}/members", response_model=GroupView, status_code=201, tags=["groups"])
def add_member(id: str, body: schemas.MemberIn, sv: Services = deps.EDITOR) -> Any:
    """Add a module (last, or at `position` from 0; an existing member moves there)."""
    return sv.groups.add_member(id, body.module, body.position)


@router.delete("/groups/members/{id}", response_model=GroupView, tags=["groups"])
def remove_member(id: IntId, sv: Services = deps.EDITOR) -> Any:
    """Remove a membership by its id (`members[].id` of GET /api/groups/{id})."""
    return sv.groups.remove_membership(id)
