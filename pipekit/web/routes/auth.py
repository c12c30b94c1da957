"""Logging in and out: the login form, the throttle's 429, a new session on login."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Form, Request, Response
from starlette.concurrency import run_in_threadpool

from pipekit.web.render import page
from pipekit.web.routing import redirect, web_router
from pipekit.web.security import ANONYMOUS, Session, WebUser, requires, session_of

router = web_router()


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no ``//host``, no scheme) is followed after login."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login")
def login_form(request: Request, next: str = "/", _: None = requires(ANONYMOUS)) -> Response:
    if session_of(request).user is not None:
        return redirect(_safe_next(next))
    return page(request, "login.html", next=_safe_next(next), error=None)


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
    _: None = requires(ANONYMOUS),
) -> Response:
    from pipekit.web import security_of

    sec = await security_of(request.app)
    client = request.client.host if request.client else "?"
    wait = sec.throttle.start(client, username)
    if wait is not None:
        response = page(
            request,
            "login.html",
            status_code=429,
            next=_safe_next(next),
            error=f"Too many failed logins. Try again in {wait} seconds.",
        )
        response.headers["Retry-After"] = str(wait)
        return response
    users = request.app.state.services.users
    ok = bool(username) and await run_in_threadpool(users.verify, username, password)
    if not ok:
        sec.throttle.failed(client, username)
        return page(
            request,
            "login.html",
            status_code=401,
            next=_safe_next(next),
            error="Wrong user name or password.",
        )
    sec.throttle.succeeded(client, username)
    # A new session id and CSRF token: a session fixed before login is worth nothing.
    request.state.new_session = Session.login(username, time.time())
    return redirect(_safe_next(next))


@router.post("/logout")
async def logout(request: Request, user: WebUser = requires("viewer")) -> Response:
    from pipekit.web import security_of

    sec = await security_of(request.app)
    sec.logout(session_of(request))
    request.state.new_session = Session.anonymous(time.time())
    return redirect("/login")
