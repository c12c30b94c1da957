"""Every route but /health refuses no and wrong credentials (401, nothing done)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.helpers import PASSWORD, USER, Server


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: the wrong passwords below lock out this client (the login
    throttle, test_throttle.py), which must not spill over to other tests' server."""
    home = tmp_path_factory.mktemp("auth")
    (home / "pipekit.yaml").write_text("database: state.db\n")
    srv = Server(home, 0)
    assert srv.cli("init").returncode == 0
    assert srv.cli("set-password", USER, input=PASSWORD + "\n").returncode == 0
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def _routes(api: httpx.Client) -> list[tuple[str, str]]:
    doc = api.get("/openapi.json").json()
    out = []
    for path, ops in doc["paths"].items():
        for method in ops:
            out.append((method.upper(), re.sub(r"\{[^}]+\}", "1", path)))
    return out


def test_every_api_route_refuses_without_credentials(live: Server) -> None:
    with live.client() as api:
        routes = _routes(api)
    assert len(routes) > 50
    assert {p for _, p in routes if not p.startswith("/api/")} == {"/health"}
    with live.client(auth=None) as anon:
        for method, path in routes:
            if path == "/health":
                continue
            r = anon.request(method, path)
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.headers["www-authenticate"] == 'Basic realm="pipekit"'
    assert httpx.get(f"{live.url}/health").status_code == 200


def test_every_api_route_refuses_wrong_credentials(live: Server) -> None:
    """Wrong passwords are 401 until the throttle locks this client out (429): neither
    ever reaches the route."""
    with live.client() as api:
        routes = [(m, p) for m, p in _routes(api) if p != "/health"]
    statuses = []
    with live.client(auth=None) as anon:
        for method, path in routes:
            # a fresh user name per request: the per-pair count does not lock first
            wrong = (f"u{uuid.uuid4().hex[:8]}", "wrong")
            r = anon.request(method, path, auth=wrong)
            assert r.status_code in (401, 429), (method, path, r.status_code)
            if r.status_code == 401:
                assert r.headers["www-authenticate"] == 'Basic realm="pipekit"'
            else:
                assert int(r.headers["retry-after"]) > 0
            statuses.append(r.status_code)
    assert 401 in statuses and 429 in statuses  # the client was locked out on the way
