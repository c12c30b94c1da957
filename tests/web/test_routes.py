"""Every page route declares the role it needs, and refuses a request without a session:
GET pages redirect to the login form (no data), everything else is refused."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.routing import APIRoute

from pipekit.web.routes import routers
from pipekit.web.security import ANONYMOUS, ROLES, declared_role
from tests.helpers import Server

PUBLIC = {("GET", "/login"), ("POST", "/login")}


def web_routes() -> list[tuple[str, str, str | None]]:
    """(method, path, declared role) of every page route the console mounts."""
    out = []
    for router in routers():
        for route in router.routes:
            assert isinstance(route, APIRoute), route
            for method in sorted(route.methods):
                out.append((method, route.path, declared_role(route)))
    return out


def test_the_app_serves_the_console_routes(server: Server) -> None:
    # the routers walked here are the ones create_app mounts: a page answers
    assert httpx.get(f"{server.url}/login").status_code == 200
    schema = httpx.get(f"{server.url}/openapi.json").json()
    assert not [p for p in schema["paths"] if not p.startswith(("/api", "/health"))]


def test_every_page_declares_a_role() -> None:
    routes = web_routes()
    assert len(routes) > 30
    for method, path, role in routes:
        assert role is not None, f"{method} {path} declares no role (use requires(...))"
        if (method, path) in PUBLIC:
            assert role == ANONYMOUS, (method, path)
        else:
            assert role in ROLES, (method, path, role)


def _sample(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.mark.parametrize(
    "method,path", [(m, p) for m, p, _ in web_routes() if (m, p) not in PUBLIC]
)
def test_every_page_refuses_an_anonymous_request(server: Server, method: str, path: str) -> None:
    with httpx.Client(base_url=server.url, follow_redirects=False) as c:
        r = c.request(method, _sample(path))
    if method == "GET":
        assert r.status_code == 303, (path, r.status_code)
        assert r.headers["location"].startswith("/login?next=")
    else:
        # no session: the CSRF check or the login check refuses it, nothing runs
        assert r.status_code in (401, 403), (path, r.status_code)
