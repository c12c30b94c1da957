"""What every page route shares: the route class that answers errors with a page,
the router factory, redirects, and reading a ``PipekitError`` for a form.

A ``PipekitError`` a page does not handle itself becomes the error page, with the
status of its class (the same classes the API maps; a face maps them itself).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from pipekit.errors import (
    PipekitError,
    http_status,
)
from pipekit.web.render import page


def status_of(exc: PipekitError) -> int:
    return http_status(exc)


def error_page(request: Request, exc: PipekitError) -> Response:
    """The error page for `exc` (a fragment with the message for an htmx request)."""
    status = status_of(exc)
    if request.headers.get("HX-Request"):
        return page(request, "_error.html", status_code=status, errors=problems(exc))
    return page(
        request,
        "error.html",
        status_code=status,
        title="Not found" if status == 404 else "Refused",
        message=exc.message,
        errors=problems(exc),
    )


def problems(exc: PipekitError) -> list[tuple[str, str]]:
    """(path, message) for every problem of `exc`, for a form to show beside its fields."""
    return [(p.path or "", p.message) for p in exc.problems]


class WebRoute(APIRoute):
    """A page route: a ``PipekitError`` it lets through is answered with the error page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except PipekitError as exc:
                return error_page(request, exc)

        return handler


def web_router() -> APIRouter:
    """A router of pages: HTML answers, left out of the API's OpenAPI document."""
    return APIRouter(
        route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse
    )


def redirect(url: str) -> Response:
    """After a form post: see the result at `url` (303, so the browser GETs it)."""
    return RedirectResponse(url, status_code=303)


def htmx(request: Request) -> bool:
    return bool(request.headers.get("HX-Request"))
