"""Every page in a real browser: a screenshot of each (wide and at 375 px), no page that
scrolls sideways at 375 px, no console error anywhere, and one whole flow (log in,
open a module, run it) by keyboard alone."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.helpers import (
    PASSWORD,
    USER,
    Server,
    add_module,
    fast_query,
    no_sideways_scroll,
    wait_done,
)


@pytest.fixture(scope="module")
def site(server: Server, pg_url: str) -> dict[str, str]:
    """A module that ran, in a scheduled group: the paths of every kind of page."""
    with server.client() as api:
        name = add_module(api, pg_url, fast_query(20))
        module = api.get(f"/api/modules/{name}").json()
        run_id = api.post(f"/api/modules/{name}/run").json()["run_id"]
        assert wait_done(api, run_id)["status"] == "success"
        group = f"g_{uuid.uuid4().hex[:8]}"
        assert api.post("/api/groups", json={"name": group, "members": [name]}).is_success
        assert api.post("/api/schedules", json={"group": group, "cron_expr": "*/5 * * * *"})
        gid = api.post(f"/api/groups/{group}/run").json()["group_run_id"]
        conn = module["source"]
    return {
        "dashboard": "/",
        "modules": "/modules",
        "module": f"/modules/{module['id']}",
        "module-edit-375": f"/modules/{module['id']}/edit",
        "wizard": "/modules/new",
        "wizard-source": f"/modules/new?source={conn}&dest={conn}",
        "runs": "/runs",
        "run-detail": f"/runs/{run_id}",
        "group-run": f"/group-runs/{gid}",
        "groups": "/groups",
        "group-detail": f"/groups/{group}",
        "schedules": "/schedules",
        "connections": "/connections",
        "connection-detail": f"/connections/{conn}",
        "connection-new": "/connections/new",
        "connection-edit": f"/connections/{conn}/edit",
        "drivers": "/drivers",
        "settings": "/settings",
    }


def test_every_page_at_375px_has_no_sideways_scroll(
    browser: Any, server: Server, site: dict[str, str], shots: Any, console: Any
) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True)
    page = context.new_page()
    console.watch(page)
    try:
        page.goto(f"{server.url}/login")
        assert no_sideways_scroll(page)
        shots(page, "login-375")
        page.fill("input[name=username]", USER)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server.url}/")
        wide = []
        for name, path in site.items():
            page.goto(f"{server.url}{path}")
            page.wait_for_load_state("networkidle")
            if not no_sideways_scroll(page):
                wide.append(path)
            shots(page, f"{name.removesuffix('-375')}-375")
        assert wide == [], f"these pages scroll sideways at 375 px: {wide}"
    finally:
        context.close()
    assert console.unexpected() == [], console.errors


def test_every_page_renders_without_console_errors(
    page: Any, server: Server, site: dict[str, str], shots: Any
) -> None:
    for name, path in site.items():
        response = page.goto(f"{server.url}{path}")
        assert response.status == 200, (path, response.status)
        page.wait_for_load_state("networkidle")
        expect(page.locator("h1")).to_be_visible()
        if not name.endswith("-375"):
            shots(page, f"page-{name}")


def _tab_to(page: Any, test: str, limit: int = 120) -> None:
    """Press Tab until the focused element passes the JS predicate `test` (el => bool)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"({test})(document.activeElement)"):
            return
    raise AssertionError(f"Tab never reached an element where {test}")


def test_log_in_open_a_module_and_run_it_by_keyboard_alone(
    anon_page: Any, server: Server, pg_url: str, api: httpx.Client
) -> None:
    page = anon_page
    name = add_module(api, pg_url, fast_query(7))
    page.goto(f"{server.url}/login")
    page.keyboard.type(USER)  # the user name field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}/")
    _tab_to(page, "el => el.textContent.trim() === 'Modules' && el.tagName === 'A'")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}/modules")
    _tab_to(page, "el => el.tagName === 'INPUT' && el.name === 'q'")
    page.keyboard.type(name)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/modules\?.*q=.*"))
    _tab_to(page, f"el => el.tagName === 'A' && el.textContent.trim() === '{name}'")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/modules/\d+$"))
    _tab_to(page, "el => el.tagName === 'BUTTON' && el.textContent.trim() === 'Run now'")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/runs/\d+$"))
    expect(page.locator("#run-status")).to_contain_text("success", timeout=60_000)
    run_id = int(page.url.rsplit("/", 1)[1])
    assert api.get(f"/api/runs/{run_id}").json()["row_count"] == 7
