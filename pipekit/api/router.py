"""Every route under ``/api`` (HTTP Basic auth on each), and ``/health`` (none)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from pipekit.api import schemas
from pipekit.api.auth import require_user
from pipekit.api.routes import (
    checks,
    connections,
    dashboard,
    drivers,
    groups,
    hooks,
    manifest,
    modules,
    runs,
    schedules,
    watermarks,
)
from pipekit.services.health import HealthView

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": schemas.ErrorOut, "description": "refused"},
    401: {"model": schemas.ErrorOut, "description": "no or wrong credentials"},
    404: {"model": schemas.ErrorOut, "description": "no such object"},
    409: {"model": schemas.BusyOut, "description": "name taken, in use, or running"},
}

router = APIRouter(dependencies=[Depends(require_user)], responses=ERRORS)
for _module in (
    connections,
    drivers,
    modules,
    hooks,
    watermarks,
    checks,
    groups,
    schedules,
    manifest,
    runs,
    dashboard,
):
    router.include_router(_module.router)

health_router = APIRouter()


@health_router.get("/health", response_model=HealthView, tags=["health"])
def health(request: Request) -> Any:
    """State DB, scheduler and run-pool health. No authentication."""
    return request.app.state.services.health()
