"""Settings: the notification settings from the bootstrap config (read-only) and a
"send a test notification" button. Same service calls as ``/api/settings/...``."""

from __future__ import annotations

from fastapi import Request, Response

from pipekit.errors import PipekitError
from pipekit.web.render import page
from pipekit.web.routing import problems, web_router
from pipekit.web.security import WebUser, requires

router = web_router()


@router.get("/settings")
def settings(request: Request, user: WebUser = requires("admin")) -> Response:
    s = user.sv.notifications.settings()
    return page(request, "settings.html", title="Settings", s=s, result=None, errors=[])


@router.post("/settings/test-notification")
def test_notification(request: Request, user: WebUser = requires("admin")) -> Response:
    s = user.sv.notifications.settings()
    try:
        result, errors = user.sv.notifications.send_test(), []
    except PipekitError as exc:
        result, errors = None, problems(exc)
    return page(
        request,
        "settings.html",
        title="Settings",
        s=s,
        result=result,
        errors=errors,
        status_code=422 if errors else 200,
    )
