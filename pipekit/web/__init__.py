"""The web console: server-rendered pages (Jinja2 + htmx) at ``/``, beside the API.

``mount(app)`` adds to the app made by ``pipekit.server.app.create_app``:

- the session middleware (every path but ``/api``, ``/health``, ``/static`` and the
  API's docs): reads the signed cookie into ``request.state.session``, gives a new
  visitor an anonymous session, and writes the cookie back when it changed;
- the page routers of ``pipekit.web.routes`` (left out of the OpenAPI document);
- ``/static``: htmx (vendored, see ``static/VENDORED.md``), the stylesheet, the
  console's one script;
- answers for ``LoginRequired`` (GET: redirect to the login form) and
  ``CsrfRefused`` (403).

Pages call services only (``pipekit.services``), the same calls as their ``/api``
twins; see docs/web.md.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from pipekit.throttle import LoginThrottle
from pipekit.web.render import HERE, page
from pipekit.web.security import (
    SESSION_COOKIE,
    CsrfRefused,
    LoginRequired,
    Session,
    SessionCodec,
    WebSecurity,
)

__all__ = ["mount"]

#: paths the session middleware leaves alone (JSON API, health, assets, API docs)
NOT_PAGES = ("/api", "/health", "/static", "/docs", "/redoc", "/openapi.json")

#: security headers on every page: nothing but our own scripts, styles and images
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


async def security_of(app: FastAPI) -> WebSecurity:
    """The app's ``WebSecurity``, made on first use (the key is read from the state DB,
    which need not exist when the app is built)."""
    sec: WebSecurity | None = getattr(app.state, "web_security", None)
    if sec is None:
        secret = await run_in_threadpool(app.state.services.users.session_secret)
        # the server's one login throttle, shared with the API's Basic auth
        throttle = getattr(app.state, "throttle", None) or LoginThrottle()
        sec = app.state.web_security = WebSecurity(SessionCodec(secret), throttle=throttle)
    return sec


def set_session_cookie(request: Request, response: Response, sec: WebSecurity, s: Session) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        sec.codec.dumps(s),
        max_age=int(sec.codec.max_age_s),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def mount(app: FastAPI) -> None:
    """Add the web console to `app` (see the module docstring)."""
    from pipekit.web.routes import routers

    @app.middleware("http")
    async def web_session(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.url.path.startswith(NOT_PAGES):
            return await call_next(request)
        sec = await security_of(request.app)
        session = sec.read(request.cookies.get(SESSION_COOKIE))
        fresh = session is None
        request.state.session = session or Session.anonymous(time.time())
        request.state.new_session = None
        response = await call_next(request)
        new: Session | None = request.state.new_session
        if new is not None or fresh:
            set_session_cookie(request, response, sec, new or request.state.session)
        for name, value in PAGE_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    async def login_required(request: Request, exc: Exception) -> Response:
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return HTMLResponse("log in first: <a href='/login'>/login</a>", status_code=401)

    async def csrf_refused(request: Request, exc: Exception) -> Response:
        return page(
            request,
            "error.html",
            status_code=403,
            title="Refused",
            message="This form has no valid CSRF token (it may be from an old page or "
            "another site). Reload the page and try again; nothing was changed.",
        )

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(CsrfRefused, csrf_refused)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for router in routers():
        app.include_router(router)
