"""The console enforces the role each page declares: a viewer reads, but a form that
changes something answers 403 naming the role, and nothing changes."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.helpers import Server, csrf_of, unique_name, web_login


@pytest.fixture(scope="module")
def viewer(server: Server) -> tuple[str, str]:
    name = unique_name("viewer")
    r = server.cli("users", "add", name, "--role", "viewer", input="pw-viewer\n")
    assert r.returncode == 0, r.stderr
    return name, "pw-viewer"


def _logged_in(server: Server, user: str, password: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=server.url, timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
    assert token is not None
    r = c.post("/login", data={"username": user, "password": password, "csrf_token": token[1]})
    assert r.status_code == 303, r.text
    page = c.get("/groups").text  # a page a viewer may read, with the new session's token
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None, page[:500]
    return c, token[1]


def test_a_viewer_reads_but_cannot_post_changes(
    server: Server, api: httpx.Client, viewer: tuple[str, str]
) -> None:
    c, token = _logged_in(server, *viewer)
    name = unique_name("g")
    try:
        assert c.get("/").status_code == 200
        r = c.post("/groups", data={"name": name, "csrf_token": token})
        assert r.status_code == 403
        assert "needs the role" in r.text and "editor" in r.text
        r = c.post("/settings/test-notification", data={"csrf_token": token})
        assert r.status_code == 403 and "admin" in r.text
        r = c.post("/modules/anything/unlock", data={"csrf_token": token})
        assert r.status_code == 403 and "admin" in r.text
    finally:
        c.close()
    assert name not in [g["name"] for g in api.get("/api/groups").json()]


def test_a_viewer_in_the_browser_is_refused_with_the_role(
    anon_page: Any, server: Server, api: httpx.Client, viewer: tuple[str, str], console: Any
) -> None:
    page = anon_page
    console.expect(403)
    web_login(page, server.url, *viewer)
    name = unique_name("g")
    refused = page.request.post(
        f"{server.url}/groups", form={"name": name, "csrf_token": csrf_of(page)}
    )
    assert refused.status == 403
    assert "needs the role" in refused.text() and "editor" in refused.text()
    assert name not in [g["name"] for g in api.get("/api/groups").json()]
    page.goto(f"{server.url}/connections/new")  # an admin page: the error page says why
    assert "needs the role" in page.inner_text("main")
