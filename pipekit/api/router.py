"""Every route under ``/api`` (HTTP Basic auth on each, the request guard, and the role
each route declares), and ``/health`` (none).

The role a route declares (``deps.VIEWER`` ... ``deps.ADMIN``) is written into its
OpenAPI operation as ``x-required-role`` and into its description, so the document
says who may call what (``tests/api/test_roles.py`` checks every operation has one).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.routing import APIRoute

from pipekit.api import schemas
from pipekit.api.auth import declared_role, require_user
from pipekit.api.guard import check_request
from pipekit.api.routes import (
    audit,
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
    users,
    watermarks,
)
from pipekit.services.health import HealthView

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": schemas.ErrorOut, "description": "refused"},
    401: {"model": schemas.ErrorOut, "description": "no or wrong credentials"},
    403: {
        "model": schemas.ErrorOut,
        "description": "the user's role is too weak (the body names the role needed), "
        "or a cross-site request",
    },
    404: {"model": schemas.ErrorOut, "description": "no such object"},
    409: {"model": schemas.BusyOut, "description": "name taken, in use, or running"},
    415: {"model": schemas.ErrorOut, "description": "a body that is not JSON (or YAML for apply)"},
    429: {
        "model": schemas.ErrorOut,
        "description": "too many failed logins; try again after `Retry-After` seconds",
    },
}

router = APIRouter(dependencies=[Depends(require_user), Depends(check_request)], responses=ERRORS)
#: the routers of the resources, each route declaring its role
RESOURCES = (
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
    users,
    audit,
)


def _document_role(route: APIRoute) -> None:
    role = declared_role(route)
    if role is not None:
        route.openapi_extra = {**(route.openapi_extra or {}), "x-required-role": role}
        route.description = f"Role: **{role}** or above. {route.description or ''}".strip()


for _module in RESOURCES:
    for _route in _module.router.routes:
        if isinstance(_route, APIRoute):
            _document_role(_route)
    router.include_router(_module.router)


health_router = APIRouter()


@health_router.get("/health", response_model=HealthView, tags=["health"])
def health(request: Request) -> Any:
    """State DB, scheduler and run-pool health. No authentication."""
    return request.app.state.services.health()
