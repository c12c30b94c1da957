"""Connections: the CLI (`--json`, a real `pipekit` process) and the REST API answer the
same request with the same JSON, and refuse the same bad request with the same error
class and field path, against the one state DB of a running `pipekit serve`.

Each operation is done by one face and read back by the other (or done by both on the
same object, for reads), on a SQLite source and a DuckDB destination file.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import Server


def uid() -> str:
    return uuid.uuid4().hex[:8]


def cli_json(server: Server, *args: str, code: int = 0) -> Any:
    """Run `pipekit ARGS --json`; the JSON on stdout (the exit code must be `code`)."""
    r = server.cli(*args, "--json")
    assert r.returncode == code, r.stdout + r.stderr
    return json.loads(r.stdout)


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
        types = {e["type"] for e in body["detail"]}
        assert len(types) == 1, body
        return types.pop(), [".".join(map(str, e["loc"][1:])) for e in body["detail"]]
    return body["error"], [body.get("path", "")]


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


class World:
    """A SQLite source (`src`, table t) and a DuckDB destination (`dst`), as connections."""

    def __init__(self, server: Server, api: httpx.Client, folder: Path) -> None:
        self.server, self.api, self.folder, self.tag = server, api, folder, uid()
        with closing(sqlite3.connect(folder / "src.db")) as db:
            db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, qty INTEGER)")
            db.executemany("INSERT INTO t VALUES (?, ?, ?)", [(1, "a", 5), (2, "b", 7)])
            db.commit()
        self.src = self.add(f"zpc_src_{self.tag}", f"sqlite:///{folder / 'src.db'}")
        self.dst = self.add(f"zpc_dst_{self.tag}", f"duckdb:///{folder / 'dst.duckdb'}?create=true")

    def add(self, name: str, url: str) -> str:
        ok(self.api.post("/api/connections", json={"name": name, "url": url}), 201)
        return name

    def cli(self, *args: str, code: int = 0) -> Any:
        return cli_json(self.server, *args, code=code)


# -- operations: each returns (what the CLI printed, what the API answered) -------------------


def op_create(w: World) -> tuple[Any, Any]:
    by_cli = f"zpc_cli_{w.tag}"
    printed = w.cli("connections", "add", by_cli, f"sqlite:///{w.folder / 'c.db'}", "-u", "me")
    assert printed["name"] == by_cli and printed["user"] == "me"
    return printed, ok(w.api.get(f"/api/connections/{by_cli}"))


def op_create_by_api(w: World) -> tuple[Any, Any]:
    body = ok(
        w.api.post(
            "/api/connections",
            json={"name": f"zpc_api_{w.tag}", "url": "postgresql://h/db", "password": "$PW"},
        ),
        201,
    )
    return w.cli("connections", "show", str(body["id"])), body


def op_show(w: World) -> tuple[Any, Any]:
    return w.cli("connections", "show", w.src), ok(w.api.get(f"/api/connections/{w.src}"))


def op_list(w: World) -> tuple[Any, Any]:
    printed = w.cli("connections", "list")
    assert {w.src, w.dst} <= {c["name"] for c in printed}
    return printed, ok(w.api.get("/api/connections"))


def op_update(w: World) -> tuple[Any, Any]:
    renamed = f"zpc_ren_{w.tag}"
    printed = w.cli("connections", "edit", w.src, "--name", renamed, "--no-deletes", "-u", "etl")
    assert (printed["name"], printed["supports_deletes"], printed["user"]) == (
        renamed,
        False,
        "etl",
    )
    return printed, ok(w.api.get(f"/api/connections/{printed['id']}"))


def op_update_by_api(w: World) -> tuple[Any, Any]:
    body = ok(w.api.put(f"/api/connections/{w.dst}", json={"password": "$DST_PW", "user": "x"}))
    assert body["password"] == "$DST_PW"
    return w.cli("connections", "show", w.dst), body


def op_delete(w: World) -> tuple[Any, Any]:
    gone = w.add(f"zpc_gone_{w.tag}", "sqlite:////tmp/gone.db")
    printed = w.cli("connections", "rm", gone)
    assert w.api.get(f"/api/connections/{gone}").status_code == 404
    other = w.add(f"zpc_gone2_{w.tag}", "sqlite:////tmp/gone.db")
    return printed, ok(w.api.delete(f"/api/connections/{other}"))


def op_test(w: World) -> tuple[Any, Any]:
    printed = w.cli("connections", "test", w.src)
    served = ok(w.api.post(f"/api/connections/{w.src}/test"))
    assert printed["ok"] is True and printed["latency_ms"] >= 0 and served["latency_ms"] >= 0
    printed["latency_ms"] = served["latency_ms"] = None  # timing differs run to run
    return printed, served


def op_test_failing(w: World) -> tuple[Any, Any]:
    closed = w.add(f"zpc_closed_{w.tag}", "postgresql://postgres@127.0.0.1:1/x")
    printed = w.cli("connections", "test", closed, code=1)
    served = ok(w.api.post(f"/api/connections/{closed}/test"))
    assert printed["ok"] is False and "refused" in printed["error"].lower()
    return printed, served


def op_schemas(w: World) -> tuple[Any, Any]:
    printed = w.cli("browse", w.src)
    assert printed == ["main"]
    return printed, ok(w.api.get(f"/api/connections/{w.src}/schemas"))


def op_tables(w: World) -> tuple[Any, Any]:
    import duckdb

    with duckdb.connect(str(w.folder / "dst.duckdb")) as db:
        db.execute("CREATE TABLE main.facts AS SELECT range AS id FROM range(321)")
    printed = w.cli("browse", w.dst, "main")
    assert printed["tables_detail"] == [{"name": "facts", "rows": 321}]
    return printed, ok(w.api.get(f"/api/connections/{w.dst}/tables", params={"schema": "main"}))


def op_columns(w: World) -> tuple[Any, Any]:
    printed = w.cli("browse", w.src, "main.t")
    assert [(c["name"], c["primary_key"]) for c in printed] == [
        ("id", True),
        ("v", False),
        ("qty", False),
    ]
    return printed, ok(w.api.get(f"/api/connections/{w.src}/tables/main.t/columns"))


def op_propose(w: World) -> tuple[Any, Any]:
    name = f"zpc_m_{w.tag}"
    args = ("--dest", w.dst, "--dest-table", "sync.t", "--name", name)
    printed = w.cli("propose", w.src, "main.t", *args)
    assert (printed["merge_strategy"], printed["merge_key"], printed["name"]) == (
        "upsert",
        "id",
        name,
    )
    served = ok(
        w.api.get(
            f"/api/connections/{w.src}/tables/main.t/propose",
            params={"dest": w.dst, "dest_table": "sync.t", "name": name},
        )
    )
    return printed, served


OPERATIONS: dict[str, Callable[[World], tuple[Any, Any]]] = {
    "create": op_create,
    "create_by_api": op_create_by_api,
    "show": op_show,
    "list": op_list,
    "update": op_update,
    "update_by_api": op_update_by_api,
    "delete": op_delete,
    "test": op_test,
    "test_failing": op_test_failing,
    "schemas": op_schemas,
    "tables": op_tables,
    "columns": op_columns,
    "propose": op_propose,
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_same_json_from_both_faces(
    server: Server, api: httpx.Client, tmp_path: Path, operation: str
) -> None:
    printed, served = OPERATIONS[operation](World(server, api, tmp_path))
    assert printed == served


def test_a_proposal_written_as_yaml_is_applied_unchanged(
    server: Server, api: httpx.Client, tmp_path: Path
) -> None:
    w = World(server, api, tmp_path)
    name, path = f"zpc_y_{w.tag}", tmp_path / "module.yaml"
    r = server.cli("propose", w.src, "main.t", "--dest", w.dst, "--name", name, "--yaml", str(path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"wrote module '{name}'" in r.stdout
    r = server.cli("apply", str(path))
    assert r.returncode == 0, r.stdout + r.stderr
    module = ok(api.get(f"/api/modules/{name}"))
    proposal = ok(
        api.get(f"/api/connections/{w.src}/tables/main.t/propose", params={"dest": w.dst})
    )
    assert (module["source"], module["dest"], module["dest_table"]) == (w.src, w.dst, "sync.t")
    assert module["source_query"] == proposal["source_query"]
    assert (module["merge_strategy"], module["merge_key"]) == ("upsert", "id")


# -- bad input: the same error class and field path from both faces ---------------------------

BAD: dict[str, tuple[dict[str, Any], str, list[str]]] = {
    # case: (the request body beyond the name, error class, field paths)
    "bad_url": ({"url": "postgresql://u:hunter2@db1:99999/erp"}, "ConnectionSpecError", ["url"]),
    "unknown_scheme": ({"url": "oracle://h/db"}, "UnknownSchemeError", ["url"]),
    "literal_password": ({"password": "hunter2"}, "SecretError", ["password"]),
    "digit_name": ({}, "ConnectionSpecError", ["name"]),
    "several": (
        {"url": "oracle://h/db", "password": "hunter2"},
        "ValidationError",
        ["name", "url", "password"],
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_same_error_from_both_faces(server: Server, api: httpx.Client, case: str) -> None:
    extra, error, paths = BAD[case]
    name = "7" if case in ("digit_name", "several") else f"zpc_bad_{uid()}"
    body = {"name": name, "url": "sqlite:////tmp/zpc.db", **extra}
    args = ["connections", "add", name, body["url"]]
    if "password" in body:
        args += ["--password", body["password"]]
    before = ok(api.get("/api/connections"))
    from_cli = cli_error(server, *args)
    r = api.post("/api/connections", json=body)
    assert from_cli == api_error(r) == (error, paths)
    assert "hunter2" not in r.text
    assert ok(api.get("/api/connections")) == before  # nothing written by either


def test_same_error_for_an_unknown_connection_and_a_bad_update(
    server: Server, api: httpx.Client, tmp_path: Path
) -> None:
    w = World(server, api, tmp_path)
    for args, path in (
        (("connections", "show", "zpc_nope"), "/api/connections/zpc_nope"),
        (("browse", w.src, "mian"), f"/api/connections/{w.src}/tables?schema=mian"),
        (("browse", w.src, "main.nope"), f"/api/connections/{w.src}/tables/main.nope/columns"),
    ):
        r = api.get(path)
        assert r.status_code == 404
        assert cli_error(server, *args) == api_error(r)
    r = api.put(f"/api/connections/{w.src}", json={"url": "oracle://h/db"})
    assert cli_error(server, "connections", "edit", w.src, "--url", "oracle://h/db") == api_error(r)
    r = api.get(
        f"/api/connections/{w.src}/tables/main.t/propose", params={"dest": "zpc_nope", "name": "m1"}
    )
    from_cli = cli_error(server, "propose", w.src, "main.t", "--dest", "zpc_nope", "--name", "m1")
    assert from_cli == api_error(r) == ("NotFoundError", ["dest"])
