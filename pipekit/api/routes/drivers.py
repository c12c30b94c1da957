"""Drivers: the database kinds this build can use."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from pipekit.api import deps, schemas
from pipekit.store import Store

router = APIRouter()
S = Depends(deps.store)
NOT_BUILT = {501: {"model": schemas.NotBuiltOut, "description": "not built yet"}}
UNPROCESSABLE = {422: {"description": "invalid definition, one entry per bad field"}}


def _engine(request: Request, s: Store) -> Any:
    from pipekit.engine.run import Engine

    return Engine.from_config(s, request.app.state.config)


# drivers ---------------------------------------------------------------------


@router.get("/drivers", response_model=list[schemas.DriverOut], tags=["drivers"])
def list_drivers() -> Any:
    from pipekit.drivers import driver_status

    return [
        schemas.DriverOut(
            kind=d.kind,
            schemes=list(d.schemes),
            packages=list(d.packages),
            missing=list(d.missing),
            install=d.install,
            available=d.available,
        )
        for d in driver_status()
    ]


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
    tags=["drivers"],
)
def add_driver() -> Any:
    """Registering JDBC driver jars: not supported yet (always 501)."""
    return _no_jdbc()


@router.delete(
    "/drivers/{id}",
    status_code=501,
    response_model=schemas.NotBuiltOut,
    responses=NOT_BUILT,
    tags=["drivers"],
)
def remove_driver(id: str) -> Any:
    """Removing JDBC driver jars: not supported yet (always 501)."""
    return _no_jdbc()
