"""Runs over HTTP against real PostgreSQL: run, live log, SSE to the end, 409 on a double
run, cancel mid-run (destination unchanged), group runs, and restart recovery."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import (
    PASSWORD,
    USER,
    Server,
    add_module,
    fast_query,
    pg_rows,
    slow_query,
    wait_done,
    wait_live,
)


def test_run_answers_at_once_and_the_live_log_follows(api, pg_url) -> None:
    name = add_module(api, pg_url, fast_query(50))
    r = api.post(f"/api/modules/{name}/run")
    assert r.status_code == 202, r.text
    run_id = r.json()["run_id"]
    offset, text = 0, ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        live = api.get(f"/api/runs/{run_id}/live", params={"after": offset}).json()
        text += live["text"]
        assert live["offset"] >= offset
        offset = live["offset"]
        if live["finished"]:
            break
        time.sleep(0.1)
    run = api.get(f"/api/runs/{run_id}").json()
    assert run["status"] == "success", run
    assert text == run["live_log"]
    assert len(pg_rows(pg_url, f"public.{name}")) == 50
    assert [x["id"] for x in api.get("/api/runs", params={"module": name}).json()] == [run_id]
    assert api.get("/api/runs", params={"module": name, "status": "error"}).json() == []
    assert api.get("/api/runs", params={"since": "2999-01-01T00:00:00Z"}).json() == []


def test_run_stream_sends_the_live_log_until_the_end(server: Server, pg_url) -> None:
    with server.client() as api:
        name = add_module(api, pg_url, fast_query(20))
        events: list[tuple[str, str]] = []
        with api.stream("POST", f"/api/modules/{name}/run/stream") as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            event, data = None, []
            for line in r.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line == "" and event:
                    events.append((event, "\n".join(data)))
                    event, data = None, []
        assert events[0][0] == "run"
        run_id = json.loads(events[0][1])["run_id"]
        assert events[-1][0] == "end"
        assert json.loads(events[-1][1])["status"] == "success"
        logged = "\n".join(d for e, d in events if e == "log")
        assert logged.strip() == api.get(f"/api/runs/{run_id}").json()["live_log"].strip()


def test_double_run_is_409_and_cancel_leaves_the_destination(api, pg_url) -> None:
    name = add_module(api, pg_url, fast_query(5))
    first = api.post(f"/api/modules/{name}/run").json()["run_id"]
    assert wait_done(api, first)["status"] == "success"
    before = pg_rows(pg_url, f"public.{name}")
    r = api.put(f"/api/modules/{name}", json={"source_query": slow_query(2000, 0.01)})
    assert r.status_code == 200, r.text

    run_id = api.post(f"/api/modules/{name}/run").json()["run_id"]
    r = api.post(f"/api/modules/{name}/run")
    assert r.status_code == 409, r.text
    assert r.json()["run_id"] == run_id
    assert api.get(f"/api/modules/{name}").json()["running"] is True

    wait_live(api, run_id, "staging")
    r = api.post(f"/api/runs/{run_id}/cancel")
    assert r.status_code == 202, r.text
    run = wait_done(api, run_id)
    assert run["status"] == "cancelled", run
    assert pg_rows(pg_url, f"public.{name}") == before
    assert api.get(f"/api/modules/{name}").json()["running"] is False
    assert api.post(f"/api/runs/{run_id}/cancel").status_code == 409


def test_group_run_and_group_runs(api, pg_url) -> None:
    a = add_module(api, pg_url, fast_query(3))
    b = add_module(api, pg_url, fast_query(4))
    group = f"g_{uuid.uuid4().hex[:8]}"
    assert api.post("/api/groups", json={"name": group, "members": [a, b]}).status_code == 201
    r = api.post(f"/api/groups/{group}/run")
    assert r.status_code == 202, r.text
    gid = r.json()["group_run_id"]
    deadline = time.monotonic() + 60
    while api.get(f"/api/group-runs/{gid}").json()["status"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    detail = api.get(f"/api/group-runs/{gid}").json()
    assert detail["status"] == "success", detail
    assert [x["module_name"] for x in detail["runs"]] == [a, b]
    assert gid in [g["id"] for g in api.get("/api/group-runs", params={"group": group}).json()]
    assert len(api.get("/api/runs", params={"group": group}).json()) == 2


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    (tmp_path / "pipekit.yaml").write_text("database: state.db\n")
    srv = Server(tmp_path, 0)
    assert srv.cli("init").returncode == 0
    assert srv.cli("set-password", USER, input=PASSWORD + "\n").returncode == 0
    try:
        yield srv
    finally:
        if srv.proc and srv.proc.poll() is None:
            os.killpg(srv.proc.pid, signal.SIGKILL)
            srv.proc.wait()


def test_restart_after_kill_marks_the_run_interrupted(own_server: Server, pg_url) -> None:
    srv = own_server
    srv.start()
    with srv.client() as api:
        name = add_module(api, pg_url, slow_query(2000, 0.01))
        run_id = api.post(f"/api/modules/{name}/run").json()["run_id"]
        wait_live(api, run_id, "staging")
        worker = api.get(f"/api/runs/{run_id}").json()["pid"]
    # kill -9 the server and the process carrying out the run (a crash or power loss)
    os.killpg(srv.proc.pid, signal.SIGKILL)
    if worker:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker, signal.SIGKILL)
    srv.proc.wait()
    time.sleep(0.5)
    srv.start()
    with srv.client() as api:
        run = wait_done(api, run_id, timeout=30)
        assert run["status"] == "error" and run["error"] == "interrupted", run
        assert api.get(f"/api/modules/{name}").json()["running"] is False
        again = api.put(f"/api/modules/{name}", json={"source_query": fast_query(3)})
        assert again.status_code == 200
        r = api.post(f"/api/modules/{name}/run")
        assert r.status_code == 202, r.text
        assert wait_done(api, r.json()["run_id"])["status"] == "success"
    srv.stop()
    holders = srv.cli("runs", "list")
    assert holders.returncode == 0
