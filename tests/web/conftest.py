"""Browser fixtures: one Chromium per test worker (Debian's, driven by Playwright), a
fresh browser context per test that records console errors, and screenshots.

Every test that uses ``page`` fails if the browser logged a console error or an
uncaught page error: the console must be clean on every page it visits.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import CHROMIUM, CHROMIUM_ARGS, WEB_ARTIFACTS, Server, web_login


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Console:
    """Console errors and page errors seen by one browser context.

    A page answered with a refusal on purpose (a wrong password's 401, a refused form's
    422) makes Chromium log "Failed to load resource"; a test that expects one says so
    with ``console.expect(status)``. Anything else logged as an error fails the test."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.expected: set[int] = set()

    def expect(self, status: int) -> None:
        self.expected.add(status)

    def unexpected(self) -> list[str]:
        allowed = [f"status of {s} " for s in self.expected]
        return [
            e
            for e in self.errors
            if not (e.startswith("error: Failed to load resource") and any(a in e for a in allowed))
        ]

    def watch(self, page: Any) -> None:
        page.on(
            "console",
            lambda m: self.errors.append(f"{m.type}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def anon_page(browser: Any, console: Console) -> Iterator[Any]:
    """A page in a new browser context (no cookies), 1280x900."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    console.watch(page)
    page.on("dialog", lambda d: d.accept())
    try:
        yield page
    finally:
        context.close()
    assert console.unexpected() == [], console.errors


@pytest.fixture
def page(anon_page: Any, server: Server) -> Any:
    """`anon_page`, logged in as the test user (on the dashboard)."""
    web_login(anon_page, server.url)
    return anon_page


@pytest.fixture(scope="session")
def shots() -> Any:
    """``shots(page, name)``: a full-page screenshot in tests/web/artifacts/NAME.png."""
    WEB_ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def shot(page: Any, name: str) -> None:
        path = WEB_ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")

    return shot
