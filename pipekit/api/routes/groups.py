"""Groups: modules run in order, and their members."""

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


# groups ----------------------------------------------------------------------


def _members(s: Store, group_id: int | None = None, member_id: int | None = None) -> list[Any]:
    import sqlalchemy as sa

    from pipekit.store import schema as t

    q = (
        sa.select(
            t.group_member.c.id,
            t.group_member.c.group_id,
            t.grp.c.name.label("grp"),
            t.module.c.name.label("module"),
            t.group_member.c.run_order,
        )
        .join(t.module, t.module.c.id == t.group_member.c.module_id)
        .join(t.grp, t.grp.c.id == t.group_member.c.group_id)
        .order_by(t.group_member.c.run_order, t.group_member.c.id)
    )
    if group_id is not None:
        q = q.where(t.group_member.c.group_id == group_id)
    if member_id is not None:
        q = q.where(t.group_member.c.id == member_id)
    with s.read() as conn:
        return list(conn.execute(q))


def _group_out(s: Store, g: Any) -> schemas.GroupOut:
    members = [
        schemas.MemberOut(id=r.id, module=r.module, run_order=r.run_order)
        for r in _members(s, group_id=g.id)
    ]
    return schemas.GroupOut(id=g.id, name=g.name, description=g.description, members=members)


@router.get("/groups", response_model=list[schemas.GroupOut], tags=["groups"])
def list_groups(s: Store = S) -> Any:
    return [_group_out(s, g) for g in s.groups.list()]


@router.post("/groups", response_model=schemas.GroupOut, status_code=201, tags=["groups"])
def add_group(body: schemas.GroupIn, s: Store = S) -> Any:
    members = [deps.module(s, m).name for m in body.members]
    return _group_out(s, s.groups.add(body.name, description=body.description, members=members))


@router.get("/groups/{id}", response_model=schemas.GroupOut, tags=["groups"])
def get_group(id: str, s: Store = S) -> Any:
    return _group_out(s, deps.group(s, id))


@router.delete("/groups/{id}", response_model=schemas.Deleted, tags=["groups"])
def remove_group(id: str, s: Store = S) -> Any:
    s.groups.remove(deps.group(s, id).name)
    return schemas.Deleted()


@router.post(
    "/groups/{id}/members", response_model=schemas.GroupOut, status_code=201, tags=["groups"]
)
def add_member(id: str, body: schemas.MemberIn, s: Store = S) -> Any:
    """Add a module (last, or at `position`; an existing member moves there)."""
    g = deps.group(s, id)
    m = deps.module(s, body.module)
    return _group_out(s, s.groups.add_member(g.name, m.name, position=body.position))


@router.delete("/groups/members/{id}", response_model=schemas.GroupOut, tags=["groups"])
def remove_member(id: IntId, s: Store = S) -> Any:
    """Remove a membership by its id (`members[].id` of GET /api/groups/{id})."""
    rows = _members(s, member_id=id)
    if not rows:
        raise NotFoundError(f"group member {id} does not exist")
    return _group_out(s, s.groups.remove_member(rows[0].grp, rows[0].module))
