"""Issue 17's low items, replayed through a real `pipekit serve`: each is refused with
a clear error (never a 500) and changes nothing."""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import PASSWORD, USER, Server

LIMIT = 100_000


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home: Path = tmp_path_factory.mktemp("low")
    (home / "pipekit.yaml").write_text(
        f"database: state.db\nmax_concurrent_runs: 1\napi:\n  max_request_bytes: {LIMIT}\n"
    )
    srv = Server(home, 0)
    assert srv.cli("init").returncode == 0
    assert srv.cli("set-password", USER, input=PASSWORD + "\n").returncode == 0
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def api(live: Server) -> Iterator[httpx.Client]:
    with live.client() as c:
        c.post("/api/connections", json={"name": "src", "url": "sqlite:////tmp/low_src.db"})
        c.post("/api/groups", json={"name": "nightly", "modules": []})
        yield c


def _state(api: httpx.Client) -> list[str]:
    return [api.get(p).text for p in ("/api/connections", "/api/modules", "/api/schedules")]


@pytest.mark.parametrize("key", ["²", "١٢", "1²", "\U0001d7d9"])
def test_ids_of_non_ascii_digits_are_never_a_server_error(api: httpx.Client, key: str) -> None:
    """Every route taking an id or a name (from the OpenAPI document), with digits
    `isdigit` takes and `int` refuses: a 404 naming what is missing, or a 422."""
    before = _state(api)
    paths = api.get("/openapi.json").json()["paths"]
    tried = 0
    for path, operations in paths.items():
        if "{" not in path:
            continue
        url = re.sub(r"\{[^}]+\}", key, path)
        for method in operations:
            body = {} if method in ("post", "put", "patch") else None
            r = api.request(method.upper(), url, json=body)
            tried += 1
            # 501: documented as not built yet (JDBC drivers)
            assert r.status_code in (404, 405, 409, 422, 501), f"{method} {url}: {r.text}"
            if r.status_code == 404:
                assert r.json()["error"] == "NotFoundError", r.text
    assert tried > 30
    assert _state(api) == before


def test_deeply_nested_yaml_is_a_clear_422(api: httpx.Client) -> None:
    before = _state(api)
    for text in ("a: " + "[" * 20_000, "a:\n" + "".join(f"{' ' * i}b{i}:\n" for i in range(1, 60))):
        r = api.post("/api/apply", content=text, headers={"Content-Type": "application/yaml"})
        assert r.status_code == 422, r.text[:300]
        assert "levels deep" in r.json()["detail"][0]["msg"]
    assert _state(api) == before


def test_a_request_over_the_size_limit_is_413_before_it_is_read(api: httpx.Client) -> None:
    before = _state(api)
    big = "connections:\n" + "".join(
        f"  c{i}:\n    url: sqlite:////tmp/c{i}.db\n" for i in range(LIMIT // 20)
    )
    assert len(big) > LIMIT
    r = api.post("/api/apply", content=big, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 413, r.text[:300]
    assert r.json()["error"] == "RequestTooLargeError"
    assert "api.max_request_bytes" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for i in range(0, len(big), 8192):
            yield big[i : i + 8192].encode()

    r = api.post("/api/apply", content=chunks(), headers={"Content-Type": "application/yaml"})
    assert r.status_code == 413, r.text[:300]
    assert _state(api) == before


@pytest.mark.parametrize("cron", ["0 0 * * * *", "0 0 2 * * * 2026"])
def test_six_and_seven_field_crons_are_refused(api: httpx.Client, cron: str) -> None:
    before = _state(api)
    r = api.post("/api/schedules", json={"group": "nightly", "cron_expr": cron})
    assert r.status_code == 422, r.text
    assert "fields given; expected five fields" in r.text
    r = api.post(
        "/api/modules",
        json={
            "name": "cronned",
            "source": "src",
            "dest": "src",
            "dest_table": "t2",
            "source_query": "SELECT 1 AS id",
            "merge_strategy": "full",
            "full_refresh_cron": cron,
        },
    )
    assert r.status_code == 422, r.text
    assert _state(api) == before


def test_a_nul_character_in_any_text_is_refused_and_not_stored(api: httpx.Client) -> None:
    spec = {
        "name": "nul",
        "source": "src",
        "dest": "src",
        "dest_table": "t3",
        "source_query": "SELECT 1 AS id\x00; DROP TABLE x",
        "merge_strategy": "full",
    }
    r = api.post("/api/modules", json=spec)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "source_query"]
    assert "NUL character" in r.json()["detail"][0]["msg"]
    assert api.get("/api/modules/nul").status_code == 404

    r = api.post("/api/modules", json={**spec, "source_query": "SELECT 1 AS id"})
    assert r.status_code == 201, r.text
    for change in ({"source_query": "SELECT\x00 1 AS id"}, {"dest_table": "t\x00"}):
        r = api.put("/api/modules/nul", json=change)
        assert r.status_code == 422, r.text
    r = api.post("/api/modules/nul/checks", json={"name": "c", "sql": "SELECT 1\x00"})
    assert r.status_code == 422, r.text
    r = api.post("/api/hooks", json={"module": "nul", "sql": "DELETE\x00 FROM t"})
    assert r.status_code == 422, r.text
    r = api.post(
        "/api/modules/nul/watermarks",
        json={"name": "w", "connection": "src", "resolver_sql": "SELECT\x00 1"},
    )
    assert r.status_code == 422, r.text
    assert api.get("/api/modules/nul/hooks").json() == []
    shown = api.get("/api/modules/nul").json()
    assert shown["source_query"] == "SELECT 1 AS id" and shown["dest_table"] == "t3"
    assert api.get("/api/modules/nul/checks").json() == []
    r = api.post("/api/connections", json={"name": "nulc", "url": "sqlite:////tmp/a\x00.db"})
    assert r.status_code == 422, r.text
    assert api.get("/api/connections/nulc").status_code == 404


def test_the_state_database_is_private_and_doctor_warns_about_looser_modes(
    live: Server,
) -> None:
    state = live.home / "state.db"
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    r = live.cli("secrets", "set", "K", input="v4lue\n")
    assert r.returncode == 0, r.stderr
    secrets = live.home / "secrets.env"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    out = live.cli("doctor").stdout
    assert "has mode" not in out
    try:
        state.chmod(0o644)
        secrets.chmod(0o640)
        r = live.cli("doctor")
        assert f"state database {state} has mode 0644" in r.stdout, r.stdout
        assert f"secrets file {secrets} has mode 0640" in r.stdout, r.stdout
        assert f"chmod 600 {state}" in r.stdout
    finally:
        state.chmod(0o600)
        secrets.chmod(0o600)
