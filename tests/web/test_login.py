"""Logging in and out in a real browser, the session cookie's flags, the throttle's
immediate 429, and CSRF refusals."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from tests.helpers import PASSWORD, USER, Server, csrf_of, web_login


def test_login_dashboard_logout(
    anon_page: Any, own_server: Server, shots: Any, console: Any
) -> None:
    page, server = anon_page, own_server
    console.expect(401)  # the wrong password below
    page.goto(f"{server.url}/modules")
    assert page.url.startswith(f"{server.url}/login?next=")
    shots(page, "login")
    page.fill("input[name=username]", USER)
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert "Wrong user name or password" in page.inner_text("main")
    web_login(page, server.url)
    assert page.locator("h1").inner_text() == "Dashboard"
    cookie = next(c for c in page.context.cookies() if c["name"] == "pipekit_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False  # plain HTTP here; Secure under TLS
    shots(page, "dashboard")
    page.click("text=Log out")
    page.wait_for_url(f"{server.url}/login")
    page.goto(f"{server.url}/")
    assert page.url.startswith(f"{server.url}/login")


def test_the_old_session_is_dead_after_logout(anon_page: Any, server: Server) -> None:
    web_login(anon_page, server.url)
    cookie = next(c for c in anon_page.context.cookies() if c["name"] == "pipekit_session")
    anon_page.click("text=Log out")
    anon_page.wait_for_url(f"{server.url}/login")
    r = httpx.get(
        f"{server.url}/", cookies={"pipekit_session": cookie["value"]}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def _login_form(client: httpx.Client) -> str:
    r = client.get("/login")
    return re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]


def test_failed_logins_get_an_immediate_429_with_retry_after(own_server: Server) -> None:
    server = own_server
    user = f"nobody{time.monotonic_ns()}"
    with httpx.Client(base_url=server.url) as c:
        token = _login_form(c)
        codes = []
        for _ in range(6):
            r = c.post("/login", data={"username": user, "password": "x", "csrf_token": token})
            codes.append(r.status_code)
        assert codes[:5] == [401] * 5
        assert codes[5] == 429
        assert int(r.headers["Retry-After"]) > 0
        started = time.monotonic()
        r = c.post("/login", data={"username": user, "password": "x", "csrf_token": token})
        assert r.status_code == 429
        assert time.monotonic() - started < 1.0  # answered at once, no sleep
        # the right password is refused too while locked out (it is not even checked)
        r = c.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 429


def test_login_without_csrf_token_is_refused(server: Server) -> None:
    with httpx.Client(base_url=server.url) as c:
        _login_form(c)
        r = c.post("/login", data={"username": USER, "password": PASSWORD})
        assert r.status_code == 403
        assert "pipekit_session" not in r.headers.get("set-cookie", "") or "/login" in r.text
        assert c.get("/", follow_redirects=False).status_code == 303  # not logged in


def test_a_post_without_csrf_changes_nothing(page: Any, server: Server, api: httpx.Client) -> None:
    token = csrf_of(page)
    name = f"g{time.monotonic_ns()}"
    refused = page.request.post(f"{server.url}/groups", form={"name": name})
    assert refused.status == 403
    wrong = page.request.post(f"{server.url}/groups", form={"name": name, "csrf_token": "nope"})
    assert wrong.status == 403
    assert name not in [g["name"] for g in api.get("/api/groups").json()]
    ok = page.request.post(f"{server.url}/groups", form={"name": name, "csrf_token": token})
    assert ok.status == 200
    assert name in [g["name"] for g in api.get("/api/groups").json()]
