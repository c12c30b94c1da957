"""Connections (add, edit with ``$VAR`` passwords only, test: version and latency or
the reason, delete) and the drivers this installation has. Same service calls as
``/api/connections`` and ``/api/drivers``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request, Response

from pipekit.errors import PipekitError
from pipekit.web.render import page
from pipekit.web.routing import problems, redirect, web_router
from pipekit.web.security import WebUser, requires

router = web_router()


@router.get("/connections")
def connection_list(request: Request, user: WebUser = requires("viewer")) -> Response:
    sv = user.sv
    conns = sv.connections.list()
    return page(
        request,
        "connections.html",
        title="Connections",
        connections=conns,
        kinds={c.name: _kind(sv, c.url) for c in conns},
    )


def _kind(sv: Any, url: str) -> str:
    try:
        return str(sv.connections.kind(url))
    except PipekitError:
        return "?"


def _form(
    request: Request, c: Any, v: dict[str, Any], errors: list[tuple[str, str]], code: int = 200
) -> Response:
    return page(
        request,
        "connection_form.html",
        status_code=code,
        title=f"Edit {c.name}" if c else "New connection",
        c=c,
        v=v,
        errors=errors,
    )


@router.get("/connections/new")
def new_form(request: Request, user: WebUser = requires("admin")) -> Response:
    return _form(request, None, {"supports_deletes": True}, [])


@router.post("/connections/new")
def add(
    request: Request,
    name: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    supports_deletes: Annotated[bool, Form()] = False,
    user: WebUser = requires("admin"),
) -> Response:
    v = {
        "name": name,
        "url": url,
        "user": username,
        "password": password,
        "supports_deletes": supports_deletes,
    }
    try:
        c = user.sv.connections.add(
            name.strip(),
            url.strip(),
            user=username.strip() or None,
            password=password.strip() or None,
            supports_deletes=supports_deletes,
        )
    except PipekitError as exc:
        return _form(request, None, v, problems(exc), 422)
    return redirect(f"/connections/{c.name}?added=1")


@router.get("/connections/{key}")
def connection_page(request: Request, key: str, user: WebUser = requires("viewer")) -> Response:
    c = user.sv.connections.show(key)
    missing = user.sv.connections.missing_secret(c)
    return page(
        request, "connection.html", title=c.name, c=c, missing=missing, kind=_kind(user.sv, c.url)
    )


@router.get("/connections/{key}/edit")
def edit_form(request: Request, key: str, user: WebUser = requires("admin")) -> Response:
    c = user.sv.connections.show(key)
    return _form(request, c, vars(c), [])


@router.post("/connections/{key}/edit")
def edit(
    request: Request,
    key: str,
    name: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    supports_deletes: Annotated[bool, Form()] = False,
    user: WebUser = requires("admin"),
) -> Response:
    c = user.sv.connections.show(key)
    v = {
        "name": name,
        "url": url,
        "user": username,
        "password": password,
        "supports_deletes": supports_deletes,
    }
    try:
        after = user.sv.connections.update(
            c.id,
            name=name.strip(),
            url=url.strip(),
            user=username.strip() or None,
            password=password.strip() or None,
            supports_deletes=supports_deletes,
        )
    except PipekitError as exc:
        return _form(request, c, v, problems(exc), 422)
    return redirect(f"/connections/{after.name}?saved=1")


@router.post("/connections/{key}/test")
def test(request: Request, key: str, user: WebUser = requires("operator")) -> Response:
    """Connect and report the server's version and latency, or why not (a fragment for
    htmx; a whole page without it)."""
    probe = user.sv.connections.test(key)
    if request.headers.get("HX-Request"):
        return page(request, "_probe.html", probe=probe)
    c = user.sv.connections.show(key)
    return page(
        request,
        "connection.html",
        title=c.name,
        c=c,
        probe=probe,
        missing=user.sv.connections.missing_secret(c),
        kind=_kind(user.sv, c.url),
    )


@router.post("/connections/{key}/delete")
def delete(key: str, user: WebUser = requires("admin")) -> Response:
    user.sv.connections.remove(key)
    return redirect("/connections")


@router.get("/drivers")
def drivers(request: Request, user: WebUser = requires("viewer")) -> Response:
    return page(request, "drivers.html", title="Drivers", drivers=user.sv.connections.drivers())
