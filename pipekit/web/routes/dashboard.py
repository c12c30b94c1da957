"""The dashboard (``/``): runs in progress (live), recent failures, late modules,
next fires, rows and run time per day. Same service call as ``GET /api/dashboard``."""

from __future__ import annotations

from fastapi import Request, Response

from pipekit.web.render import page
from pipekit.web.routing import web_router
from pipekit.web.security import WebUser, requires

router = web_router()


@router.get("/")
def dashboard(request: Request, user: WebUser = requires("viewer")) -> Response:
    return page(request, "dashboard.html", title="Dashboard", d=user.sv.dashboard.show())


@router.get("/dashboard/running")
def running(request: Request, user: WebUser = requires("viewer")) -> Response:
    """The runs-in-progress panel, polled by htmx every 2 s."""
    return page(request, "_running.html", running=user.sv.dashboard.running())
