"""Runs: the CLI (`--json`, a real `pipekit` process) and the REST API answer the same
request with the same JSON, and refuse the same bad request with the same error class
and field path, against the one state DB of a running `pipekit serve`.

A real module runs (SQLite source → SQLite destination files) once through the API's
run pool and once in the CLI's process; then runs are listed, shown and followed from
both faces.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from contextlib import closing
from typing import Any

import httpx
import pytest

from tests.helpers import Server


def uid() -> str:
    return uuid.uuid4().hex[:8]


def cli_json(server: Server, *args: str) -> tuple[int, Any]:
    """Run `pipekit ARGS --json`; its exit code and the JSON on stdout."""
    r = server.cli(*args, "--json")
    assert r.stdout.strip(), f"no JSON on stdout (exit {r.returncode}): {r.stderr}"
    return r.returncode, json.loads(r.stdout)


def cli_error(server: Server, *args: str) -> tuple[str, list[str]]:
    """Run `pipekit ARGS --json` that must fail: the error class and its problems' paths."""
    r = server.cli(*args, "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout == ""
    body = json.loads(r.stderr)
    assert body["detail"]
    return body["error"], [p["path"] for p in body["problems"]]


def api_error(r: httpx.Response) -> tuple[str, list[str]]:
    """The error class and field paths of an API error body (422 entries or one error)."""
    body = r.json()
    if r.status_code == 422:
        assert all(e["loc"][0] == "body" for e in body["detail"]), body
        types = {e["type"] for e in body["detail"]}
        assert len(types) == 1, body
        return types.pop(), [".".join(map(str, e["loc"][1:])) for e in body["detail"]]
    return body["error"], [body.get("path", "")]


def wait_done(api: httpx.Client, run_id: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = api.get(f"/api/runs/{run_id}").json()
        if run["status"] not in ("queued", "running"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still running after {timeout} s")


def sse_events(api: httpx.Client, url: str, method: str = "GET") -> list[tuple[str, str]]:
    events: list[tuple[str, str]] = []
    with api.stream(method, url) as r:
        assert r.status_code == 200, r.read()
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
    return events


def without_log(run: dict) -> dict:
    return {k: v for k, v in run.items() if k != "live_log"}


@pytest.fixture(scope="module")
def shop(server: Server, api: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Module `m` (SQLite → SQLite), group `g` of it; one run through the API's pool, one
    through `pipekit run --json`, one group run through `pipekit run-group --json`."""
    folder = tmp_path_factory.mktemp("parity_runs")
    tag = uid()
    src = folder / "src.db"
    with closing(sqlite3.connect(src)) as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        db.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"v{i}") for i in range(1, 6)])
        db.commit()
    conns = {
        f"zpr_src_{tag}": f"sqlite:///{src}",
        f"zpr_dst_{tag}": f"sqlite:///{folder / 'dst.db'}?create=true",
    }
    for name, url in conns.items():
        assert api.post("/api/connections", json={"name": name, "url": url}).status_code == 201
    module, group = f"zpr_m_{tag}", f"zpr_g_{tag}"
    src_name, dst_name = conns
    r = api.post(
        "/api/modules",
        json={
            "name": module,
            "source": src_name,
            "dest": dst_name,
            "dest_table": "t",
            "source_query": "SELECT id, v FROM t",
            "merge_strategy": "upsert",
            "merge_key": "id",
        },
    )
    assert r.status_code == 201, r.text
    assert api.post("/api/groups", json={"name": group, "members": [module]}).status_code == 201

    started = api.post(f"/api/modules/{module}/run")
    assert started.status_code == 202, started.text
    assert set(started.json()) == {"run_id"}
    api_run = wait_done(api, started.json()["run_id"])
    assert api_run["status"] == "success", api_run

    code, cli_run = cli_json(server, "run", module)
    assert code == 0 and cli_run["status"] == "success", cli_run
    code, cli_group_run = cli_json(server, "run-group", group)
    assert code == 0 and cli_group_run["status"] == "success", cli_group_run
    return {
        "module": module,
        "group": group,
        "api_run": api_run,
        "cli_run": cli_run,
        "cli_group_run": cli_group_run,
    }


def test_runs_started_from_either_face_are_recorded_alike(shop: dict) -> None:
    api_run, cli_run = shop["api_run"], shop["cli_run"]
    assert api_run["triggered_by"].startswith("api:") and cli_run["triggered_by"] == "cli"
    assert set(without_log(api_run)) == set(cli_run)
    assert (api_run["rows_read"], cli_run["rows_read"]) == (5, 5)
    assert api_run["merge_strategy"] == cli_run["merge_strategy"] == "upsert"


#: operation → (CLI arguments before --json, API path), both reading `shop`
READS = {
    "list": lambda s: (
        ["runs", "list", "--module", s["module"]], f"/api/runs?module={s['module']}"
    ),
    "list by status": lambda s: (
        ["runs", "list", "-m", s["module"], "--status", "success"],
        f"/api/runs?module={s['module']}&status=success",
    ),
    "list by group": lambda s: (
        ["runs", "list", "--group", s["group"]], f"/api/runs?group={s['group']}"
    ),
    "list since, paged": lambda s: (
        ["runs", "list", "-m", s["module"], "--since", s["api_run"]["started_at"],
         "--limit", "1", "--offset", "1"],
        f"/api/runs?module={s['module']}&since={s['api_run']['started_at']}&limit=1&offset=1",
    ),
    "show": lambda s: (
        ["runs", "show", str(s["api_run"]["id"])], f"/api/runs/{s['api_run']['id']}"
    ),
    "show a CLI run": lambda s: (
        ["runs", "show", str(s["cli_run"]["id"])], f"/api/runs/{s['cli_run']['id']}"
    ),
}  # fmt: skip


@pytest.mark.parametrize("op", list(READS))
def test_reads_give_the_same_json(server: Server, api: httpx.Client, shop: dict, op: str) -> None:
    args, path = READS[op](shop)
    code, from_cli = cli_json(server, *args)
    r = api.get(path.replace("+", "%2B"))
    assert r.status_code == 200, r.text
    assert code == 0
    assert from_cli == r.json()
    if op.startswith("list"):
        assert from_cli, "the filter should find runs"
    if op == "list since, paged":
        assert len(from_cli) == 1


def test_run_answers_the_run_the_api_shows(api: httpx.Client, shop: dict) -> None:
    cli_run = shop["cli_run"]
    assert cli_run == without_log(api.get(f"/api/runs/{cli_run['id']}").json())
    assert cli_run in api.get("/api/runs", params={"module": shop["module"]}).json()


def test_run_group_answers_the_group_run_the_api_shows(api: httpx.Client, shop: dict) -> None:
    group_run = shop["cli_group_run"]
    assert group_run == api.get(f"/api/group-runs/{group_run['id']}").json()
    assert [r["module_name"] for r in group_run["runs"]] == [shop["module"]]
    listed = api.get("/api/group-runs", params={"group": shop["group"]}).json()
    assert [g["id"] for g in listed] == [group_run["id"]]
    assert listed[0] == {k: v for k, v in group_run.items() if k != "runs"}


def test_follow_ends_with_the_run_the_stream_ends_with(
    server: Server, api: httpx.Client, shop: dict
) -> None:
    run_id = shop["api_run"]["id"]
    r = server.cli("runs", "follow", str(run_id), "--json")
    assert r.returncode == 0, r.stderr
    events = sse_events(api, f"/api/runs/{run_id}/stream")
    assert [e for e, _ in events] == ["log"] * (len(events) - 1) + ["end"]
    assert json.loads(r.stdout) == json.loads(events[-1][1]) == without_log(shop["api_run"])
    log = shop["api_run"]["live_log"].rstrip("\n").split("\n")
    assert [d for e, d in events if e == "log"] == log
    assert r.stderr.rstrip("\n").split("\n") == log  # with --json the log goes to stderr
    human = server.cli("runs", "follow", str(run_id))
    assert human.returncode == 0 and human.stdout.startswith(log[0])
    assert f"run {run_id} of {shop['module']}: success" in human.stdout


def test_run_and_stream_from_the_api(api: httpx.Client, shop: dict) -> None:
    events = sse_events(api, f"/api/modules/{shop['module']}/run/stream", method="POST")
    assert events[0][0] == "run" and events[-1][0] == "end"
    run_id = json.loads(events[0][1])["run_id"]
    shown = api.get(f"/api/runs/{run_id}").json()
    assert json.loads(events[-1][1]) == without_log(shown) and shown["status"] == "success"
    assert [d for e, d in events if e == "log"] == shown["live_log"].rstrip("\n").split("\n")


#: operation → (CLI arguments before --json, API method and path, class, paths)
ERRORS = {
    "list with a bad status": lambda s: (
        ["runs", "list", "--status", "done"], ("GET", "/api/runs?status=done"),
        "InvalidError", ["status"],
    ),
    "list with a bad since": lambda s: (
        ["runs", "list", "--since", "yesterday"], ("GET", "/api/runs?since=yesterday"),
        "InvalidError", ["since"],
    ),
    "cancel a finished run": lambda s: (
        ["runs", "cancel", str(s["api_run"]["id"])],
        ("POST", f"/api/runs/{s['api_run']['id']}/cancel"), "NotRunningError", [""],
    ),
    "show no such run": lambda s: (
        ["runs", "show", "987654321"], ("GET", "/api/runs/987654321"), "NotFoundError", [""],
    ),
    "follow no such run": lambda s: (
        ["runs", "follow", "987654321"], ("GET", "/api/runs/987654321/stream"),
        "NotFoundError", [""],
    ),
    "run an unknown module": lambda s: (
        ["run", s["module"] + "x"], ("POST", f"/api/modules/{s['module']}x/run"),
        "NotFoundError", [""],
    ),
    "run an unknown group": lambda s: (
        ["run-group", s["group"] + "x"], ("POST", f"/api/groups/{s['group']}x/run"),
        "NotFoundError", [""],
    ),
}  # fmt: skip


@pytest.mark.parametrize("op", list(ERRORS))
def test_refusals_give_the_same_error_and_path(
    server: Server, api: httpx.Client, shop: dict, op: str
) -> None:
    args, (method, path), error, paths = ERRORS[op](shop)
    assert cli_error(server, *args) == (error, paths)
    r = api.request(method, path)
    assert r.status_code == {"InvalidError": 422, "NotRunningError": 409}.get(error, 404)
    assert api_error(r) == (error, paths)


def test_an_unknown_module_is_suggested_by_both_faces(
    server: Server, api: httpx.Client, shop: dict
) -> None:
    r = server.cli("run", shop["module"] + "x", "--json")
    cli_detail = json.loads(r.stderr)["detail"]
    api_detail = api.post(f"/api/modules/{shop['module']}x/run").json()["detail"]
    assert cli_detail == api_detail
    assert f"did you mean '{shop['module']}'?" in cli_detail
