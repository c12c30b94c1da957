"""Modules, watermarks, hooks and checks: the CLI (`--json`, a real `pipekit` process)
and the REST API answer the same request with the same JSON, and refuse the same bad
request with the same error class and field path, against the one state DB of a
running `pipekit serve`.

Writes are done by both faces on twin objects (same definition, different names) and
compared without what must differ (ids, names, times); each result is also read back
through the other face. SQLite source, DuckDB destination, real files.
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

QUERY = "SELECT id, v, updated_at FROM t"
SINCE = QUERY + " WHERE updated_at > {since}"
#: what differs between twin objects made by the two faces
VARYING = {"id", "name", "module", "module_id", "created_at", "updated_at", "changed_at"}


def uid() -> str:
    return uuid.uuid4().hex[:8]


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def masked(doc: Any, *names: str) -> Any:
    """`doc` without the fields in which twins differ, and with their `names` (which
    messages quote) replaced by one placeholder."""
    if isinstance(doc, list):
        return [masked(d, *names) for d in doc]
    text = json.dumps({k: v for k, v in doc.items() if k not in VARYING})
    for name in names:
        text = text.replace(name, "<module>")
    return json.loads(text)


def api_error(r: httpx.Response) -> tuple[str, list[str]]:
    """The error class and field paths of an API error body (422 entries or one error)."""
    body = r.json()
    if r.status_code == 422:
        types = {e["type"] for e in body["detail"]}
        assert len(types) == 1, body
        return types.pop(), [".".join(map(str, e["loc"][1:])) for e in body["detail"]]
    return body["error"], [body.get("path", "")]


class World:
    """A SQLite source and a DuckDB destination (as connections) and twin modules."""

    def __init__(self, server: Server, api: httpx.Client, folder: Path) -> None:
        self.server, self.api, self.tag = server, api, uid()
        with closing(sqlite3.connect(folder / "src.db")) as db:
            db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, updated_at TEXT)")
            db.executemany(
                "INSERT INTO t VALUES (?, ?, ?)",
                [(1, "a", "2024-01-01"), (2, "b", "2024-02-01"), (3, "c", "2024-03-01")],
            )
            db.commit()
        self.src, self.dst = f"zpm_src_{self.tag}", f"zpm_dst_{self.tag}"
        urls = {
            self.src: f"sqlite:///{folder / 'src.db'}",
            self.dst: f"duckdb:///{folder / 'dst.duckdb'}?create=true",
        }
        for name, url in urls.items():
            ok(api.post("/api/connections", json={"name": name, "url": url}), 201)

    def name(self, role: str) -> str:
        return f"zpm_{role}_{uid()}"

    def cli(self, *args: str, code: int = 0) -> Any:
        """`pipekit ARGS --json`: the JSON on stdout (the exit code must be `code`)."""
        r = self.server.cli(*args, "--json")
        assert r.returncode == code, r.stdout + r.stderr
        return json.loads(r.stdout)

    def cli_error(self, *args: str) -> tuple[str, list[str]]:
        """`pipekit ARGS --json` that must fail: the error class and its problems' paths."""
        r = self.server.cli(*args, "--json")
        assert r.returncode == 1, r.stdout + r.stderr
        assert r.stdout == ""
        body = json.loads(r.stderr)
        assert body["detail"]
        return body["error"], [p["path"] for p in body["problems"]]

    def spec(self, **extra: Any) -> dict[str, Any]:
        return {
            "source": self.src,
            "dest": self.dst,
            "dest_table": "main.t",
            "source_query": QUERY,
            "merge_strategy": "upsert",
            "merge_key": "id",
            **extra,
        }

    def cli_args(self, name: str, **extra: Any) -> list[str]:
        spec = self.spec(**extra)
        return [
            "modules", "add", name, "--source", spec["source"], "--dest", spec["dest"],
            "--dest-table", spec["dest_table"], "--query", spec["source_query"],
            "--strategy", spec["merge_strategy"], "--merge-key", spec["merge_key"],
        ]  # fmt: skip

    def api_module(self, **extra: Any) -> dict[str, Any]:
        return ok(
            self.api.post("/api/modules", json={"name": self.name("m"), **self.spec(**extra)}), 201
        )

    def with_watermark(self) -> str:
        """A module whose query uses {since}, with that watermark; returns its name."""
        marks = {"since": {"connection": self.src, "resolver_sql": "SELECT '2024-01-15'"}}
        return self.api_module(source_query=SINCE, watermarks=marks)["name"]


@pytest.fixture
def world(server: Server, api: httpx.Client, tmp_path: Path) -> World:
    return World(server, api, tmp_path)


# -- modules ------------------------------------------------------------------------------


def module_create(w: World) -> None:
    by_cli = w.cli(*w.cli_args(w.name("c")))
    by_api = w.api_module()
    assert masked(by_cli) == masked(by_api) and by_cli["warnings"] == []
    assert by_cli == {**ok(w.api.get(f"/api/modules/{by_cli['id']}")), "warnings": []}
    assert by_api == {**w.cli("modules", "show", by_api["name"]), "warnings": []}


def module_show(w: World) -> None:
    m = w.api_module()
    assert w.cli("modules", "show", m["name"]) == ok(w.api.get(f"/api/modules/{m['name']}"))
    assert w.cli("modules", "show", str(m["id"])) == ok(w.api.get(f"/api/modules/{m['id']}"))


def module_list(w: World) -> None:
    w.api_module(enabled=False)
    assert w.cli("modules", "list") == ok(w.api.get("/api/modules"))
    off = w.cli("modules", "list", "--disabled")
    assert off == ok(w.api.get("/api/modules", params={"enabled": False})) and off


def module_update(w: World) -> None:
    a, b = w.api_module(), w.api_module()
    by_cli = w.cli(
        "modules", "edit", a["name"], "--merge-key", "id, v", "--watermark-column", "updated_at"
    )
    change = {"merge_key": "id, v", "watermark_column": "updated_at"}
    by_api = ok(w.api.put(f"/api/modules/{b['id']}", json=change))
    assert masked(by_cli) == masked(by_api) and by_cli["merge_key"] == "id, v"
    assert by_cli == {**ok(w.api.get(f"/api/modules/{a['id']}")), "warnings": []}


def module_enable_disable(w: World) -> None:
    a, b = w.api_module(), w.api_module()
    off = w.cli("modules", "disable", a["name"])
    assert off["enabled"] is False
    assert masked(off) == masked(ok(w.api.put(f"/api/modules/{b['id']}", json={"enabled": False})))
    on = w.cli("modules", "enable", str(a["id"]))
    assert on == {**ok(w.api.get(f"/api/modules/{a['id']}")), "warnings": []}
    assert on["enabled"] is True


def module_delete(w: World) -> None:
    a, b = w.api_module(), w.api_module()
    assert w.cli("modules", "rm", a["name"], "--yes") == {"deleted": True}
    assert ok(w.api.delete(f"/api/modules/{b['name']}")) == {"deleted": True}
    for m in (a, b):
        assert w.api.get(f"/api/modules/{m['id']}").status_code == 404
        assert w.cli_error("modules", "show", m["name"]) == ("NotFoundError", [""])


def module_history(w: World) -> None:
    m = w.api_module()
    w.cli("modules", "edit", m["name"], "--merge-key", "id, v")
    history = w.cli("modules", "history", m["name"])
    assert history == ok(w.api.get(f"/api/modules/{m['id']}/history"))
    assert history[0]["diff"] == {"merge_key": ["id", "id, v"]} and len(history) == 2
    assert w.cli("modules", "history", m["name"], "--limit", "1") == ok(
        w.api.get(f"/api/modules/{m['name']}/history", params={"limit": 1})
    )


def module_preview(w: World) -> None:
    name = w.with_watermark()
    by_cli = w.cli("modules", "preview", name)
    assert by_cli == ok(w.api.get(f"/api/modules/{name}/preview"))
    assert by_cli["error"] is None and "run_id" not in by_cli
    assert "'2024-01-15'" in by_cli["source_query"] and by_cli["merge_sql"]
    assert ok(w.api.get("/api/runs", params={"module": name})) == []


def module_bad_merge_key(w: World) -> None:
    error = ("ValidationError", ["merge_key"])
    assert w.cli_error(*w.cli_args(w.name("c"), merge_key="nope")) == error
    body = {"name": w.name("a"), **w.spec(merge_key="nope")}
    assert api_error(w.api.post("/api/modules", json=body)) == error
    m = w.api_module()
    assert w.cli_error("modules", "edit", m["name"], "--merge-key", "nope") == error
    assert api_error(w.api.put(f"/api/modules/{m['id']}", json={"merge_key": "nope"})) == error


def module_bad_strategy(w: World) -> None:
    by_cli = w.cli_error(*w.cli_args(w.name("c"), merge_strategy="sideways"))
    body = {"name": w.name("a"), **w.spec(merge_strategy="sideways")}
    assert by_cli == api_error(w.api.post("/api/modules", json=body))
    assert by_cli[0] == "ValidationError" and "merge_strategy" in by_cli[1]
    m = w.api_module()
    by_cli = w.cli_error("modules", "edit", m["name"], "--strategy", "sideways")
    by_api = api_error(w.api.put(f"/api/modules/{m['id']}", json={"merge_strategy": "sideways"}))
    assert by_cli == by_api == ("ValidationError", ["merge_strategy"])


def module_digit_name(w: World) -> None:
    """Drift 4: a name of digits only is refused by both, naming `name`."""
    assert w.cli_error(*w.cli_args("1")) == ("ValidationError", ["name"])
    r = w.api.post("/api/modules", json={"name": "1", **w.spec()})
    assert api_error(r) == ("ValidationError", ["name"])


def module_unknown(w: World) -> None:
    assert w.cli_error("modules", "show", "zpm_nope") == api_error(
        w.api.get("/api/modules/zpm_nope")
    )


# -- watermarks -----------------------------------------------------------------------------


def watermarks_crud(w: World) -> None:
    a, b = w.api_module()["name"], w.api_module()["name"]
    by_cli = w.cli("watermarks", "add", a, "since", "-c", w.src, "--resolver-sql", "SELECT 1")
    body = {"name": "since", "connection": w.src, "resolver_sql": "SELECT 1"}
    by_api = ok(w.api.post(f"/api/modules/{b}/watermarks", json=body), 201)
    assert masked(by_cli, a) == masked(by_api, b) and by_cli["name"] == "since"
    assert "not used by the source query yet" in by_cli["warnings"][0]
    assert w.cli("watermarks", "list", a) == ok(w.api.get(f"/api/modules/{a}/watermarks"))
    assert w.cli("watermarks", "show", a, "since") == ok(
        w.api.get(f"/api/modules/{a}/watermarks/since")
    )
    by_cli = w.cli("watermarks", "edit", a, "since", "--default", "0", "--rename", "from_ts")
    change = {"default_value": "0", "name": "from_ts"}
    by_api = ok(w.api.put(f"/api/modules/{b}/watermarks/since", json=change))
    assert masked(by_cli, a) == masked(by_api, b) and by_cli["name"] == "from_ts"
    assert w.cli("watermarks", "rm", a, "from_ts") == {"deleted": True}
    assert ok(w.api.delete(f"/api/modules/{b}/watermarks/from_ts")) == {"deleted": True}
    assert w.cli("watermarks", "list", b) == [] == ok(w.api.get(f"/api/modules/{a}/watermarks"))


def watermark_in_use(w: World) -> None:
    """Drift 1: removing or renaming a watermark the query uses is refused by both."""
    name = w.with_watermark()
    error = ("ValidationError", ["watermarks.since"])
    assert w.cli_error("watermarks", "rm", name, "since") == error
    assert api_error(w.api.delete(f"/api/modules/{name}/watermarks/since")) == error
    assert w.cli_error("watermarks", "edit", name, "since", "--rename", "until") == error
    r = w.api.put(f"/api/modules/{name}/watermarks/since", json={"name": "until"})
    assert api_error(r) == error
    assert [x["name"] for x in ok(w.api.get(f"/api/modules/{name}/watermarks"))] == ["since"]


def watermark_bad_connection(w: World) -> None:
    m = w.api_module()["name"]
    by_cli = w.cli_error(
        "watermarks", "add", m, "w", "-c", "zpm_nope", "--resolver-sql", "SELECT 1"
    )
    body = {"name": "w", "connection": "zpm_nope", "resolver_sql": "SELECT 1"}
    assert by_cli == api_error(w.api.post(f"/api/modules/{m}/watermarks", json=body))
    assert by_cli == ("ValidationError", ["watermarks.w.connection"])


# -- hooks ------------------------------------------------------------------------------------


def hooks_crud(w: World) -> None:
    a, b = w.api_module()["name"], w.api_module()["name"]
    by_cli = w.cli("hooks", "add", a, "--sql", "SELECT 1", "--run-on", "always")
    body = {"module": b, "sql": "SELECT 1", "run_on": "always"}
    by_api = ok(w.api.post("/api/hooks", json=body), 201)
    assert masked(by_cli) == masked(by_api) and by_cli["warnings"] == []
    assert w.cli("hooks", "list", a) == ok(w.api.get(f"/api/modules/{a}/hooks"))
    assert w.cli("hooks", "show", str(by_cli["id"])) == ok(w.api.get(f"/api/hooks/{by_cli['id']}"))
    first = w.cli("hooks", "add", a, "--sql", "SELECT 0", "--position", "1")
    ok(w.api.post("/api/hooks", json={"module": b, "sql": "SELECT 0", "position": 1}), 201)
    assert masked(w.cli("hooks", "list", a)) == masked(ok(w.api.get(f"/api/modules/{b}/hooks")))
    moved = w.cli("hooks", "edit", str(first["id"]), "--position", "2", "--run-on", "failure")
    assert moved == {**ok(w.api.get(f"/api/hooks/{first['id']}")), "warnings": []}
    api_first = ok(w.api.get(f"/api/modules/{b}/hooks"))[0]
    change = {"position": 2, "run_on": "failure"}
    assert masked(ok(w.api.put(f"/api/hooks/{api_first['id']}", json=change))) == masked(moved)
    assert w.cli("hooks", "rm", str(first["id"])) == {"deleted": True}
    assert ok(w.api.delete(f"/api/hooks/{api_first['id']}")) == {"deleted": True}
    assert masked(w.cli("hooks", "list", a)) == masked(ok(w.api.get(f"/api/modules/{b}/hooks")))


def hook_bad_run_on(w: World) -> None:
    m = w.api_module()["name"]
    error = ("ModuleSpecError", ["run_on"])
    assert w.cli_error("hooks", "add", m, "--sql", "SELECT 1", "--run-on", "sucess") == error
    r = w.api.post("/api/hooks", json={"module": m, "sql": "SELECT 1", "run_on": "sucess"})
    assert api_error(r) == error
    assert w.cli_error("hooks", "show", "999999999") == api_error(w.api.get("/api/hooks/999999999"))


# -- checks ------------------------------------------------------------------------------------


def checks_crud(w: World) -> None:
    a, b = w.api_module()["name"], w.api_module()["name"]
    sql = "SELECT id FROM main.t GROUP BY id HAVING count(*) > 1"
    by_cli = w.cli("checks", "add", a, "no_dupes", "--sql", sql)
    by_api = ok(w.api.post(f"/api/modules/{b}/checks", json={"name": "no_dupes", "sql": sql}), 201)
    assert masked(by_cli) == masked(by_api) and by_cli["name"] == "no_dupes"
    assert w.cli("checks", "list", a) == ok(w.api.get(f"/api/modules/{a}/checks"))
    assert w.cli("checks", "show", a, "no_dupes") == ok(
        w.api.get(f"/api/modules/{a}/checks/no_dupes")
    )
    by_cli = w.cli("checks", "edit", a, "no_dupes", "--rename", "unique_ids")
    by_api = ok(w.api.put(f"/api/modules/{b}/checks/no_dupes", json={"name": "unique_ids"}))
    assert masked(by_cli) == masked(by_api) and by_cli["name"] == "unique_ids"
    assert w.cli("checks", "rm", a, "unique_ids") == {"deleted": True}
    assert ok(w.api.delete(f"/api/modules/{b}/checks/unique_ids")) == {"deleted": True}
    assert w.cli("checks", "list", a) == [] == ok(w.api.get(f"/api/modules/{b}/checks"))


def check_duplicate_name(w: World) -> None:
    m = w.api_module()["name"]
    w.cli("checks", "add", m, "no_dupes", "--sql", "SELECT 1 WHERE 1 = 0")
    error = ("AlreadyExistsError", ["name"])
    assert w.cli_error("checks", "add", m, "no_dupes", "--sql", "SELECT 2") == error
    r = w.api.post(f"/api/modules/{m}/checks", json={"name": "no_dupes", "sql": "SELECT 2"})
    assert api_error(r) == error
    bad = ("ModuleSpecError", ["name"])
    assert w.cli_error("checks", "add", m, "bad-name", "--sql", "SELECT 2") == bad
    r = w.api.post(f"/api/modules/{m}/checks", json={"name": "bad-name", "sql": "SELECT 2"})
    assert api_error(r) == bad


OPERATIONS: dict[str, Callable[[World], None]] = {
    f.__name__: f
    for f in (
        module_create,
        module_show,
        module_list,
        module_update,
        module_enable_disable,
        module_delete,
        module_history,
        module_preview,
        module_bad_merge_key,
        module_bad_strategy,
        module_digit_name,
        module_unknown,
        watermarks_crud,
        watermark_in_use,
        watermark_bad_connection,
        hooks_crud,
        hook_bad_run_on,
        checks_crud,
        check_duplicate_name,
    )
}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_cli_and_api_agree(world: World, operation: str) -> None:
    OPERATIONS[operation](world)
