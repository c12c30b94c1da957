"""A module's checks (``sv.checks``); ``{id}`` is the module's id or name."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from pipekit.api import deps, schemas
from pipekit.services import Services
from pipekit.services.modules import CheckView, SavedCheckView

router = APIRouter()
UNPROCESSABLE: dict[int | str, dict[str, Any]] = {
    422: {"description": "refused: one entry per problem, with its path"}
}


@router.get("/modules/{id}/checks", response_model=list[CheckView], tags=["checks"])
def list_checks(id: str, sv: Services = deps.VIEWER) -> Any:
    return sv.checks.list(id)


@router.post(
    "/modules/{id}/checks",
    response_model=SavedCheckView,
    status_code=201,
    responses=UNPROCESSABLE,
    tags=["checks"],
)
def add_check(id: str, body: schemas.CheckIn, sv: Services = deps.EDITOR) -> Any:
    return sv.checks.add(id, body.name, body.sql, run_order=body.run_order)


@router.get("/modules/{id}/checks/{name}", response_model=CheckView, tags=["checks"])
def get_check(id: str, name: str, sv: Services = deps.VIEWER) -> Any:
    return sv.checks.show(id, name)


@router.put(
    "/modules/{id}/checks/{name}",
    response_model=SavedCheckView,
    responses=UNPROCESSABLE,
    tags=["checks"],
)
def update_check(id: str, name: str, body: schemas.CheckPatch, sv: Services = deps.EDITOR) -> Any:
    return sv.checks.update(id, name, **body.model_dump(exclude_unset=True))


@router.delete("/modules/{id}/checks/{name}", response_model=schemas.Deleted, tags=["checks"])
def remove_check(id: str, name: str, sv: Services = deps.EDITOR) -> Any:
    sv.checks.remove(id, name)
    return schemas.Deleted()
