"""A module's named watermarks (``sv.watermarks``); ``{id}`` is the module's id or name.

Removing or renaming a watermark the module's query still uses is refused (422,
``loc`` ``["body", "watermarks", NAME]``), as `pipekit watermarks rm` refuses it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from pipekit.api import deps, schemas
from pipekit.services import Services
from pipekit.services.modules import SavedWatermarkView, WatermarkView

router = APIRouter()
UNPROCESSABLE: dict[int | str, dict[str, Any]] = {
    422: {"description": "refused: one entry per problem, with its path"}
}


@router.get("/modules/{id}/watermarks", response_model=list[WatermarkView], tags=["watermarks"])
def list_watermarks(id: str, sv: Services = deps.VIEWER) -> Any:
    return sv.watermarks.list(id)


@router.post(
    "/modules/{id}/watermarks",
    response_model=SavedWatermarkView,
    status_code=201,
    responses=UNPROCESSABLE,
    tags=["watermarks"],
)
def add_watermark(id: str, body: schemas.WatermarkIn, sv: Services = deps.EDITOR) -> Any:
    """Add a watermark; one the query does not use yet is allowed, named in `warnings`."""
    return sv.watermarks.add(
        id,
        body.name,
        connection=body.connection,
        resolver_sql=body.resolver_sql,
        default_value=body.default_value,
    )


@router.get("/modules/{id}/watermarks/{name}", response_model=WatermarkView, tags=["watermarks"])
def get_watermark(id: str, name: str, sv: Services = deps.VIEWER) -> Any:
    return sv.watermarks.show(id, name)


@router.put(
    "/modules/{id}/watermarks/{name}",
    response_model=SavedWatermarkView,
    responses=UNPROCESSABLE,
    tags=["watermarks"],
)
def update_watermark(
    id: str, name: str, body: schemas.WatermarkPatch, sv: Services = deps.EDITOR
) -> Any:
    return sv.watermarks.update(id, name, **body.model_dump(exclude_unset=True))


@router.delete(
    "/modules/{id}/watermarks/{name}",
    response_model=schemas.Deleted,
    responses=UNPROCESSABLE,
    tags=["watermarks"],
)
def remove_watermark(id: str, name: str, sv: Services = deps.EDITOR) -> Any:
    sv.watermarks.remove(id, name)
    return schemas.Deleted()
