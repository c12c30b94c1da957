"""Modules: CRUD, history, preview and the destination's columns."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from pipekit.api import deps, schemas
from pipekit.api.routes.connections import _columns
from pipekit.errors import NotFoundError
from pipekit.store import Store

router = APIRouter()
S = Depends(deps.store)
NOT_BUILT = {501: {"model": schemas.NotBuiltOut, "description": "not built yet"}}
UNPROCESSABLE = {422: {"description": "invalid definition, one entry per bad field"}}


def _engine(request: Request, s: Store) -> Any:
    from pipekit.engine.run import Engine

    return Engine.from_config(s, request.app.state.config)


# modules ---------------------------------------------------------------------

FIELDS = tuple(schemas.ModuleFields.model_fields)


def _spec(s: Store, m: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {f: getattr(m, f) for f in FIELDS}
    spec["watermarks"] = {
        w.name: {
            "connection": w.connection,
            "resolver_sql": w.resolver_sql,
            "default": w.default_value,
        }
        for w in s.watermarks.list(m.name)
    }
    spec["hooks"] = [{"sql": h.sql, "run_on": h.run_on} for h in s.hooks.list(m.name)]
    spec["checks"] = [{"name": c.name, "sql": c.sql} for c in s.checks.list(m.name)]
    return spec


def _problems(s: Store, spec: dict[str, Any]) -> list[Any]:
    """Problems that refuse `spec` (a watermark the query does not use yet is allowed)."""
    from pipekit.drivers import driver_class, kind_for_url
    from pipekit.engine.validate import module_problems, placeholders
    from pipekit.errors import PipekitError

    dialect = None
    if spec.get("source"):
        try:
            dialect = driver_class(kind_for_url(s.connections.get(spec["source"]).url)).dialect
        except PipekitError:
            dialect = None
    known = [c.name for c in s.connections.list()]
    found = module_problems(spec, source_dialect=dialect, connections=known)
    used = placeholders(f"{spec.get('source_query') or ''}\n{spec.get('key_sync_query') or ''}")
    return [
        p
        for p in found
        if not (
            p.path.startswith("watermarks.")
            and p.path.count(".") == 1
            and p.path.split(".", 1)[1] not in used
        )
    ]


@router.get("/modules", response_model=list[schemas.ModuleOut], tags=["modules"])
def list_modules(enabled: bool | None = None, s: Store = S) -> Any:
    return s.modules.list(enabled=enabled)


@router.post(
    "/modules",
    response_model=schemas.ModuleOut,
    status_code=201,
    responses=UNPROCESSABLE,
    tags=["modules"],
)
def add_module(body: schemas.ModuleIn, s: Store = S) -> Any:
    """Create a module; its definition is checked first (422 names each bad field)."""
    from pipekit.store.repo import check_name

    fields = body.model_dump(exclude={"name", "watermarks"}, exclude_none=True)
    spec = {**fields, "watermarks": {k: v.model_dump() for k, v in body.watermarks.items()}}
    spec.setdefault("merge_strategy", "full")
    problems = _problems(s, spec)
    try:
        check_name("module", body.name, ValueError)
    except ValueError as exc:
        from pipekit.engine.validate import Problem

        problems.insert(0, Problem("name", str(exc)))
    if problems:
        raise deps.problems_422(problems)
    source, dest = fields.pop("source", None), fields.pop("dest", None)
    m = s.modules.add(body.name, source=source, dest=dest, changed_by="api", **fields)
    if body.watermarks:
        items = [
            {
                "name": k,
                "connection": v.connection,
                "resolver_sql": v.resolver_sql,
                "default_value": v.default,
            }
            for k, v in body.watermarks.items()
        ]
        try:
            s.watermarks.replace_all(body.name, items, changed_by="api")
        except Exception:
            s.modules.remove(body.name)
            raise
        m = s.modules.get(body.name)
    return m


@router.get("/modules/{id}", response_model=schemas.ModuleOut, tags=["modules"])
def get_module(id: str, s: Store = S) -> Any:
    return deps.module(s, id)


@router.put(
    "/modules/{id}", response_model=schemas.ModuleOut, responses=UNPROCESSABLE, tags=["modules"]
)
def update_module(id: str, body: schemas.ModulePatch, s: Store = S) -> Any:
    """Change the given fields (omitted = unchanged, null = cleared); refused with 422
    when the change adds a problem to the module's definition."""
    m = deps.module(s, id)
    changes = body.model_dump(exclude_unset=True)
    before = _spec(s, m)
    after = copy.deepcopy(before)
    after.update({k: v for k, v in changes.items() if k != "name"})
    old = {str(p) for p in _problems(s, before)}
    new = [p for p in _problems(s, after) if str(p) not in old]
    if new:
        raise deps.problems_422(new)
    if "name" in changes:
        changes["new_name"] = changes.pop("name")
    if not changes:
        return m
    return s.modules.update(m.name, changed_by="api", **changes)


@router.delete("/modules/{id}", response_model=schemas.Deleted, tags=["modules"])
def remove_module(id: str, s: Store = S) -> Any:
    s.modules.remove(deps.module(s, id).name)
    return schemas.Deleted()


@router.get("/modules/{id}/history", response_model=list[schemas.HistoryOut], tags=["modules"])
def module_history(id: str, limit: int | None = Query(None, ge=1), s: Store = S) -> Any:
    return s.modules.history(deps.module(s, id).name, limit=limit)


@router.get("/modules/{id}/preview", response_model=schemas.PreviewOut, tags=["modules"])
def preview(id: str, request: Request, s: Store = S) -> Any:
    """The SQL the next run would execute: a dry run (recorded in the run log as
    `dry_run`, destination untouched). 409 while the module runs."""
    m = deps.module(s, id)
    run = _engine(request, s).run_module(m.name, dry_run=True, triggered_by="api")
    return schemas.PreviewOut(
        run_id=run.id,
        status=run.status,
        source_query=run.source_query,
        merge_sql=run.merge_sql,
        error=run.error,
    )


@router.get("/modules/{id}/dest-columns", response_model=list[schemas.ColumnOut], tags=["modules"])
def dest_columns(id: str, request: Request, s: Store = S) -> Any:
    """Columns of the module's destination table (404 before its first run creates it)."""
    m = deps.module(s, id)
    if not m.dest or not m.dest_table:
        raise NotFoundError(f"module '{m.name}' has no destination table")
    return _columns(_engine(request, s), m.dest, m.dest_table)
