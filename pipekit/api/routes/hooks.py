"""Hooks: SQL run on the destination after a module's merge."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from pipekit.api import deps, schemas
from pipekit.api.deps import IntId
from pipekit.store import Store

router = APIRouter()
S = Depends(deps.store)
NOT_BUILT = {501: {"model": schemas.NotBuiltOut, "description": "not built yet"}}
UNPROCESSABLE = {422: {"description": "invalid definition, one entry per bad field"}}


def _engine(request: Request, s: Store) -> Any:
    from pipekit.engine.run import Engine

    return Engine.from_config(s, request.app.state.config)


# hooks -----------------------------------------------------------------------


@router.get("/modules/{id}/hooks", response_model=list[schemas.HookOut], tags=["hooks"])
def list_hooks(id: str, s: Store = S) -> Any:
    return s.hooks.list(deps.module(s, id).name)


@router.post("/hooks", response_model=schemas.HookOut, status_code=201, tags=["hooks"])
def add_hook(body: schemas.HookIn, s: Store = S) -> Any:
    m = deps.module(s, body.module)
    return s.hooks.add(
        m.name, body.sql, run_on=body.run_on, run_order=body.run_order, changed_by="api"
    )


@router.delete("/hooks/{id}", response_model=schemas.Deleted, tags=["hooks"])
def remove_hook(id: IntId, s: Store = S) -> Any:
    s.hooks.get(id)
    s.hooks.remove(id)
    return schemas.Deleted()
