"""Modules: CRUD, history, preview and the destination's columns (``sv.modules``).

``{id}`` is a module's numeric id or its name.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from pipekit.api import deps, schemas
from pipekit.services import Services
from pipekit.services.connections import ColumnView
from pipekit.services.module_edit import ColumnMapView
from pipekit.services.module_list import MODULE_STATES
from pipekit.services.modules import (
    HistoryView,
    MappingView,
    ModuleView,
    PreviewView,
    SavedModuleView,
    UnlockView,
)

router = APIRouter()
UNPROCESSABLE: dict[int | str, dict[str, Any]] = {
    422: {"description": "invalid definition, one entry per bad field"}
}


@router.get("/modules", response_model=list[ModuleView], tags=["modules"])
def list_modules(
    enabled: bool | None = None,
    connection: str | None = Query(None, description="source or destination connection name"),
    group: str | None = Query(None, description="member of this group (name)"),
    status: str | None = Query(
        None,
        description=f"module state: one of {', '.join(MODULE_STATES)}",
        json_schema_extra={"enum": list(MODULE_STATES)},
    ),
    q: str | None = Query(None, description="text in the name or destination table"),
    sv: Services = deps.VIEWER,
) -> Any:
    """Modules by name; the filters are the web console's module list's."""
    if connection is None and group is None and status is None and q is None:
        return sv.modules.list(enabled=enabled)
    rows = sv.modules.browse(connection=connection, group=group, status=status, text=q)
    return [r.module for r in rows if enabled is None or r.module.enabled == enabled]


@router.post(
    "/modules",
    response_model=SavedModuleView,
    status_code=201,
    responses=UNPROCESSABLE,
    tags=["modules"],
)
def add_module(body: schemas.ModuleIn, sv: Services = deps.EDITOR) -> Any:
    """Create a module; its definition is checked first (422 names each bad field).
    `warnings` says what is allowed but probably not finished (a watermark the
    query does not use yet)."""
    fields = body.model_dump(exclude={"name", "watermarks"}, exclude_none=True)
    marks = {k: v.model_dump() for k, v in body.watermarks.items()}
    return sv.modules.add(body.name, watermarks=marks, **fields)


@router.get("/modules/{id}", response_model=ModuleView, tags=["modules"])
def get_module(id: str, sv: Services = deps.VIEWER) -> Any:
    return sv.modules.show(id)


@router.put(
    "/modules/{id}", response_model=SavedModuleView, responses=UNPROCESSABLE, tags=["modules"]
)
def update_module(id: str, body: schemas.ModulePatch, sv: Services = deps.EDITOR) -> Any:
    """Change the given fields (omitted = unchanged, null = cleared); refused with 422
    when the change adds a problem to the module's definition."""
    return sv.modules.update(id, **body.model_dump(exclude_unset=True))


@router.delete("/modules/{id}", response_model=schemas.Deleted, tags=["modules"])
def remove_module(id: str, sv: Services = deps.EDITOR) -> Any:
    sv.modules.remove(id)
    return schemas.Deleted()


# admin: it frees a lock another run may hold, and ends that run
@router.post("/modules/{id}/unlock", response_model=UnlockView, tags=["modules"])
def unlock_module(id: str, sv: Services = deps.ADMIN) -> Any:
    """Free the module's lock by hand. The run holding it ends: `cancelled` if it was
    queued, `error` ("interrupted") if it ran; it is not retried. 409 when not locked."""
    return sv.modules.unlock(id)


@router.get("/modules/{id}/history", response_model=list[HistoryView], tags=["modules"])
def module_history(
    id: str, limit: int | None = Query(None, ge=1), sv: Services = deps.VIEWER
) -> Any:
    return sv.modules.history(id, limit=limit)


@router.get("/modules/{id}/preview", response_model=PreviewView, tags=["modules"])
def preview(id: str, sv: Services = deps.VIEWER) -> Any:
    """The SQL the next run would execute, planned like a dry run but recorded nowhere
    (no run, no lock); the destination is only read. `error` when it cannot be planned."""
    return sv.modules.preview(id)


@router.get("/modules/{id}/columns", response_model=ColumnMapView, tags=["modules"])
def column_map(id: str, sv: Services = deps.VIEWER) -> Any:
    """Destination column <- source expression, parsed from the source query (no connection
    is opened); `error` says why a query cannot be mapped."""
    return sv.modules.column_map(id)


@router.get("/modules/{id}/dest-columns", response_model=list[ColumnView], tags=["modules"])
def dest_columns(id: str, sv: Services = deps.VIEWER) -> Any:
    """Columns of the module's destination table (404 before its first run creates it)."""
    return sv.modules.dest_columns(id)


@router.get("/modules/{id}/mapping", response_model=MappingView, tags=["modules"])
def mapping(id: str, sv: Services = deps.VIEWER) -> Any:
    """The source query's column mapping (each destination column, the source column it
    reads, whether it is trimmed) and the staging table. Parsed, not run: nothing
    connects."""
    return sv.modules.mapping(id)
