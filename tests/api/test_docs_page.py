"""`/docs` works offline: Swagger UI comes from the package, never from a CDN."""

from __future__ import annotations

import re

import httpx

from tests.helpers import Server


def test_docs_page_loads_swagger_ui_from_the_server(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        page = c.get("/docs")
        assert page.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert assets, page.text
        assert all(a.startswith("/") for a in assets), f"external asset on /docs: {assets}"
        assert "/openapi.json" in page.text
        js = c.get("/static/swagger-ui/swagger-ui-bundle.js")
        assert js.status_code == 200
        assert "javascript" in js.headers["content-type"]
        assert len(js.content) > 500_000  # the real bundle, not a placeholder
        css = c.get("/static/swagger-ui/swagger-ui.css")
        assert css.status_code == 200 and "text/css" in css.headers["content-type"]
        assert c.get("/openapi.json").status_code == 200


def test_no_redoc_and_no_directory_listing(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.get("/redoc").status_code == 404
        assert c.get("/static/swagger-ui/").status_code == 404
        assert c.get("/static/swagger-ui/../../app.py").status_code == 404
