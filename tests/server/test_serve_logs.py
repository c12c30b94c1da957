"""`pipekit serve` says what it does: its URL at start, each run's start and end,
as text or as JSON lines (`--log-format json`), with no secret in them."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import PASSWORD, USER, Server, wait_done

SECRET = "hunter2-very-secret"


def _server(tmp_path: Path, *serve_args: str) -> Server:
    home = tmp_path / "home"
    home.mkdir()
    (home / "pipekit.yaml").write_text("database: state.db\nmax_concurrent_runs: 2\n")
    srv = Server(home, 0, serve_args=serve_args)
    assert srv.cli("init").returncode == 0
    assert srv.cli("set-password", USER, input=f"{PASSWORD}\n").returncode == 0
    r = srv.cli("secrets", "set", "SRC_PW", SECRET)
    assert r.returncode == 0, r.stderr
    return srv


@pytest.fixture
def json_server(tmp_path: Path) -> Iterator[Server]:
    srv = _server(tmp_path, "--log-format", "json")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def _lines(srv: Server) -> list[dict[str, Any]]:
    found = []
    for line in (srv.home / "serve.log").read_text().splitlines():
        assert line.startswith("{"), f"not a JSON line: {line!r}"
        found.append(json.loads(line))
    return found


def _add(api: httpx.Client, home: Path, name: str, query: str) -> None:
    db = home / "data.db"
    r = api.post(
        "/api/connections",
        json={"name": f"c_{name}", "url": f"sqlite:///{db}?create=true", "password": "$SRC_PW"},
    )
    assert r.status_code == 201, r.text
    body = {
        "name": name,
        "source": f"c_{name}",
        "dest": f"c_{name}",
        "dest_table": f"t_{name}",
        "source_query": query,
    }
    assert api.post("/api/modules", json=body).status_code == 201


def test_json_lines_for_start_and_each_run(json_server: Server) -> None:
    with json_server.client() as api:
        _add(api, json_server.home, "good", "SELECT 1 AS id UNION ALL SELECT 2")
        _add(api, json_server.home, "bad", "SELECT nope FROM missing_table")
        good = api.post("/api/modules/good/run", json={}).json()["run_id"]
        bad = api.post("/api/modules/bad/run", json={}).json()["run_id"]
        assert wait_done(api, good)["status"] == "success"
        assert wait_done(api, bad)["status"] == "error"
    json_server.stop()  # the end lines are written before the pool lets go
    lines = _lines(json_server)
    started = next(x for x in lines if x.get("event") == "server_started")
    assert started["url"] == json_server.url and started["level"] == "INFO"
    assert f"{json_server.url}/docs" in started["message"]

    events = {(x.get("event"), x.get("run_id")): x for x in lines}
    assert ("run_ended", good) in events, [x for x in lines if x["logger"].startswith("pipekit")]
    assert events[("run_started", good)]["module_name"] == "good"
    assert events[("run_started", good)]["trigger"] == f"api:{USER}"
    ended = events[("run_ended", good)]
    assert ended["status"] == "success" and ended["rows"] == 2
    assert ended["duration_s"] >= 0 and ended["level"] == "INFO"
    failed = events[("run_ended", bad)]
    assert failed["level"] == "ERROR" and failed["status"] == "error"
    assert "missing_table" in failed["error"]
    assert any(x["logger"] == "uvicorn.access" for x in lines)  # requests too
    assert SECRET not in (json_server.home / "serve.log").read_text()


def test_text_lines_by_default(tmp_path: Path) -> None:
    srv = _server(tmp_path)
    srv.start()
    try:
        with srv.client() as api:
            _add(api, srv.home, "m", "SELECT 1 AS id")
            run_id = api.post("/api/modules/m/run", json={}).json()["run_id"]
            wait_done(api, run_id)
    finally:
        srv.stop()
    text = (srv.home / "serve.log").read_text()
    assert f"INFO pipekit.server: pipekit serve on {srv.url}" in text
    assert f"INFO pipekit.runs: run {run_id} started: module m, triggered by api:{USER}" in text
    assert f"INFO pipekit.runs: run {run_id} ended success: module m, 1 row read, in " in text


def test_a_bad_log_format_is_refused(tmp_path: Path) -> None:
    srv = _server(tmp_path)
    done = srv.cli("serve", "--port", "1", "--log-format", "xml")
    assert done.returncode == 1
    assert "--log-format 'xml' is not one of text, json" in done.stdout + done.stderr
    assert os.path.exists(srv.home / "state.db")
