"""Drivers: the database kinds this build can use, and registered JDBC jars.

Registering a jar makes the server run its code, so POST and DELETE are for
admins only (``deps.ADMIN``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from pipekit.api import deps, schemas
from pipekit.services import Services
from pipekit.services.drivers import DriverView

router = APIRouter(tags=["drivers"])
UNPROCESSABLE: dict[int | str, dict[str, Any]] = {
    422: {"description": "invalid driver, one entry per bad field"}
}


@router.get("/drivers", response_model=list[DriverView])
def list_drivers(sv: Services = deps.VIEWER) -> Any:
    """Native kinds, built-in JDBC profiles and registered drivers, each saying whether
    it can load here (`problems`: Java missing, a jar missing, a package missing)."""
    return sv.drivers.list()


@router.post("/drivers", response_model=DriverView, status_code=201, responses=UNPROCESSABLE)
def add_driver(body: schemas.DriverIn, sv: Services = deps.ADMIN) -> Any:
    """Register a JDBC driver: the jars are copied into `driver_dir`. Admins only."""
    return sv.drivers.add(
        body.name, jars=body.jars, class_name=body.class_name, url_template=body.url_template
    )


@router.delete("/drivers/{id}", response_model=DriverView)
def remove_driver(id: str, sv: Services = deps.ADMIN) -> Any:
    """Remove a registered driver and its jars (refused while a connection uses it)."""
    return sv.drivers.remove(id)
