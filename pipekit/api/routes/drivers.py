"""Drivers: the database kinds this build can use."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from pipekit.api import deps, schemas
from pipekit.services import Services
from pipekit.services.drivers import DriverView

router = APIRouter(tags=["drivers"])
NOT_BUILT: dict[int | str, dict[str, Any]] = {
    501: {"model": schemas.NotBuiltOut, "description": "not built yet"}
}


@router.get("/drivers", response_model=list[DriverView])
def list_drivers(sv: Services = deps.VIEWER) -> Any:
    """Each kind, its URL schemes, its Python packages and whether they are installed."""
    return sv.connections.drivers()


def _no_jdbc() -> Response:
    return Response(
        schemas.NotBuiltOut(detail="JDBC drivers not supported yet").model_dump_json(),
        status_code=501,
        media_type="application/json",
    )


@router.post(
    "/drivers",
    status_code=501,
    response_model=schemas.NotBuiltOut,
    responses=NOT_BUILT,
    dependencies=[deps.ADMIN],  # a driver jar is code the server runs
)
def add_driver() -> Any:
    """Registering JDBC driver jars: not supported yet (always 501)."""
    return _no_jdbc()


@router.delete(
    "/drivers/{id}",
    status_code=501,
    response_model=schemas.NotBuiltOut,
    responses=NOT_BUILT,
    dependencies=[deps.ADMIN],
)
def remove_driver(id: str) -> Any:
    """Removing JDBC driver jars: not supported yet (always 501)."""
    return _no_jdbc()
