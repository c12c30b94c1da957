"""A module's named watermarks and checks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from pipekit.api import deps, schemas
from pipekit.errors import NotFoundError
from pipekit.store import Store

router = APIRouter()
S = Depends(deps.store)
NOT_BUILT = {501: {"model": schemas.NotBuiltOut, "description": "not built yet"}}
UNPROCESSABLE = {422: {"description": "invalid definition, one entry per bad field"}}


def _engine(request: Request, s: Store) -> Any:
    from pipekit.engine.run import Engine

    return Engine.from_config(s, request.app.state.config)


# watermarks and checks -------------------------------------------------------


def _part(repo: Any, module: str, name: str, kind: str) -> Any:
    try:
        return repo.get(module, name)
    except NotFoundError:
        raise
    except KeyError:
        raise NotFoundError(f"{kind} '{name}' of module '{module}' does not exist") from None


@router.get(
    "/modules/{id}/watermarks", response_model=list[schemas.WatermarkOut], tags=["watermarks"]
)
def list_watermarks(id: str, s: Store = S) -> Any:
    return s.watermarks.list(deps.module(s, id).name)


@router.post(
    "/modules/{id}/watermarks",
    response_model=schemas.WatermarkOut,
    status_code=201,
    tags=["watermarks"],
)
def add_watermark(id: str, body: schemas.WatermarkIn, s: Store = S) -> Any:
    m = deps.module(s, id)
    return s.watermarks.add(
        m.name,
        body.name,
        connection=body.connection,
        resolver_sql=body.resolver_sql,
        default_value=body.default_value,
        changed_by="api",
    )


@router.get(
    "/modules/{id}/watermarks/{name}", response_model=schemas.WatermarkOut, tags=["watermarks"]
)
def get_watermark(id: str, name: str, s: Store = S) -> Any:
    return _part(s.watermarks, deps.module(s, id).name, name, "watermark")


@router.put(
    "/modules/{id}/watermarks/{name}", response_model=schemas.WatermarkOut, tags=["watermarks"]
)
def update_watermark(id: str, name: str, body: schemas.WatermarkPatch, s: Store = S) -> Any:
    m = deps.module(s, id)
    _part(s.watermarks, m.name, name, "watermark")
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes:
        if changes["name"] is None:
            raise deps.field_422("name", "may not be null")
        changes["new_name"] = changes.pop("name")
    return s.watermarks.update(m.name, name, changed_by="api", **changes)


@router.delete(
    "/modules/{id}/watermarks/{name}", response_model=schemas.Deleted, tags=["watermarks"]
)
def remove_watermark(id: str, name: str, s: Store = S) -> Any:
    m = deps.module(s, id)
    _part(s.watermarks, m.name, name, "watermark")
    s.watermarks.remove(m.name, name, changed_by="api")
    return schemas.Deleted()


@router.get("/modules/{id}/checks", response_model=list[schemas.CheckOut], tags=["checks"])
def list_checks(id: str, s: Store = S) -> Any:
    return s.checks.list(deps.module(s, id).name)


@router.post(
    "/modules/{id}/checks", response_model=schemas.CheckOut, status_code=201, tags=["checks"]
)
def add_check(id: str, body: schemas.CheckIn, s: Store = S) -> Any:
    m = deps.module(s, id)
    extra = {"run_order": body.run_order} if body.run_order is not None else {}
    return s.checks.add(m.name, body.name, sql=body.sql, changed_by="api", **extra)


@router.get("/modules/{id}/checks/{name}", response_model=schemas.CheckOut, tags=["checks"])
def get_check(id: str, name: str, s: Store = S) -> Any:
    return _part(s.checks, deps.module(s, id).name, name, "check")


@router.put("/modules/{id}/checks/{name}", response_model=schemas.CheckOut, tags=["checks"])
def update_check(id: str, name: str, body: schemas.CheckPatch, s: Store = S) -> Any:
    m = deps.module(s, id)
    _part(s.checks, m.name, name, "check")
    changes = body.model_dump(exclude_unset=True)
    for key in ("name", "sql"):
        if key in changes and changes[key] is None:
            raise deps.field_422(key, "may not be null")
    if "name" in changes:
        changes["new_name"] = changes.pop("name")
    return s.checks.update(m.name, name, changed_by="api", **changes)


@router.delete("/modules/{id}/checks/{name}", response_model=schemas.Deleted, tags=["checks"])
def remove_check(id: str, name: str, s: Store = S) -> Any:
    m = deps.module(s, id)
    _part(s.checks, m.name, name, "check")
    s.checks.remove(m.name, name, changed_by="api")
    return schemas.Deleted()
