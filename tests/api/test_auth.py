"""Every route but /health refuses no and wrong credentials; failures slow down."""

from __future__ import annotations

import re
import time
import uuid

import httpx

from tests.helpers import USER


def _routes(api: httpx.Client) -> list[tuple[str, str]]:
    doc = api.get("/openapi.json").json()
    out = []
    for path, ops in doc["paths"].items():
        for method in ops:
            out.append((method.upper(), re.sub(r"\{[^}]+\}", "1", path)))
    return out


def test_every_api_route_refuses_without_credentials(server, api: httpx.Client) -> None:
    routes = _routes(api)
    assert len(routes) > 50
    assert {p for _, p in routes if not p.startswith("/api/")} == {"/health"}
    with server.client(auth=None) as anon:
        for method, path in routes:
            if path == "/health":
                continue
            r = anon.request(method, path)
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.headers["www-authenticate"] == 'Basic realm="pipekit"'
            # a fresh user name per request: the failure delay counts per client and user
            wrong = (f"u{uuid.uuid4().hex[:8]}", "wrong")
            r = anon.request(method, path, auth=wrong)
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.headers["www-authenticate"] == 'Basic realm="pipekit"'
    assert httpx.get(f"{server.url}/health").status_code == 200


def test_repeated_failures_are_slowed_down(server) -> None:
    with server.client(auth=(USER, "nope")) as c:
        took = []
        for _ in range(4):
            start = time.monotonic()
            assert c.get("/api/modules").status_code == 401
            took.append(time.monotonic() - start)
    # 1st free, then 0.25, 0.5, 1.0 s
    assert took[3] >= 0.9 and took[2] >= 0.45, took
    with server.client() as ok:  # the right password still works, and resets the count
        assert ok.get("/api/modules").status_code == 200
