"""Groups: the CLI (`--json`, a real `pipekit` process) and the REST API give the same
JSON for the same operation, and refuse the same bad request with the same error class
and field path, against the one state DB of a running `pipekit serve`.

A write done by one face is read back by the other, so each face's answer is checked
against the other's view of the same object.
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


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def cli_error(server: Server, *args: str) -> tuple[str, list[str], str]:
    """`pipekit ARGS --json` that must fail: the error class, its paths, its message."""
    r = server.cli(*args, "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout == ""
    body = json.loads(r.stderr)
    return body["error"], [p["path"] for p in body["problems"]], body["detail"]


def api_error(r: httpx.Response) -> tuple[str, list[str]]:
    body = r.json()
    if r.status_code == 422:
        types = {e["type"] for e in body["detail"]}
        assert len(types) == 1, body
        return types.pop(), [".".join(map(str, e["loc"][1:])) for e in body["detail"]]
    return body["error"], [body.get("path", "")]


class World:
    """Three modules (SQLite source, DuckDB destination) to put in groups."""

    def __init__(self, server: Server, api: httpx.Client, folder: Path) -> None:
        self.server, self.api, self.tag = server, api, uid()
        with closing(sqlite3.connect(folder / "src.db")) as db:
            db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
            db.commit()
        src, dst = f"zpg_src_{self.tag}", f"zpg_dst_{self.tag}"
        for name, url in (
            (src, f"sqlite:///{folder / 'src.db'}"),
            (dst, f"duckdb:///{folder / 'dst.duckdb'}?create=true"),
        ):
            ok(api.post("/api/connections", json={"name": name, "url": url}), 201)
        self.modules = []
        for i in range(3):
            name = f"zpg_m{i}_{self.tag}"
            spec = {
                "name": name,
                "source": src,
                "dest": dst,
                "dest_table": f"main.t{i}",
                "source_query": "SELECT id, v FROM t",
            }
            ok(api.post("/api/modules", json=spec), 201)
            self.modules.append(name)

    def name(self, face: str) -> str:
        return f"zpg_{face}_{uid()}"

    def cli(self, *args: str) -> Any:
        r = self.server.cli(*args, "--json")
        assert r.returncode == 0, r.stdout + r.stderr
        return json.loads(r.stdout)

    def get(self, key: str | int) -> Any:
        return ok(self.api.get(f"/api/groups/{key}"))

    def via_api(self, name: str, members: list[str], description: str | None = None) -> Any:
        body = {"name": name, "members": members, "description": description}
        return ok(self.api.post("/api/groups", json=body), 201)


@pytest.fixture
def world(server: Server, api: httpx.Client, tmp_path: Path) -> World:
    return World(server, api, tmp_path)


def op_create(w: World) -> None:
    m0, m1, _ = w.modules
    a, b = w.name("cli"), w.name("api")
    printed = w.cli("groups", "add", a, m0, m1, "-d", "every night")
    assert printed == w.get(a)
    assert [m["module"] for m in printed["members"]] == [m0, m1]
    served = w.via_api(b, [m0, m1], "every night")
    assert served == w.cli("groups", "show", b)
    assert {k: v for k, v in printed.items() if k not in ("id", "name", "members")} == {
        k: v for k, v in served.items() if k not in ("id", "name", "members")
    }


def op_show(w: World) -> None:
    g = w.via_api(w.name("api"), w.modules[:2])
    assert w.cli("groups", "show", g["name"]) == w.get(g["id"]) == g
    assert w.cli("groups", "show", str(g["id"])) == w.get(g["name"])


def op_list(w: World) -> None:
    w.via_api(w.name("api"), w.modules[:1])
    w.cli("groups", "add", w.name("cli"), w.modules[2])
    printed = w.cli("groups", "list")
    assert printed == ok(w.api.get("/api/groups"))
    assert len(printed) >= 2


def op_rename(w: World) -> None:
    a = w.cli("groups", "add", w.name("cli"), w.modules[0], "-d", "old")
    renamed = w.cli("groups", "edit", a["name"], "--rename", w.name("cli2"), "-d", "new")
    assert renamed == w.get(a["id"])
    assert (renamed["id"], renamed["description"]) == (a["id"], "new")
    b = w.via_api(w.name("api"), w.modules[:1], "old")
    body = {"name": w.name("api2"), "description": "new"}
    served = ok(w.api.put(f"/api/groups/{b['id']}", json=body))
    assert served == w.cli("groups", "show", body["name"])
    assert (served["id"], served["description"]) == (b["id"], "new")


def op_members(w: World) -> None:
    m0, _, m2 = w.modules
    a = w.cli("groups", "add", w.name("cli"), m0)
    printed = w.cli("groups", "members", a["name"], m2, m0)
    assert printed == w.get(a["id"])
    b = w.via_api(w.name("api"), [m0])
    served = ok(w.api.put(f"/api/groups/{b['id']}", json={"members": [m2, m0]}))
    assert served == w.cli("groups", "members", b["name"])
    assert [m["module"] for m in printed["members"]] == [m["module"] for m in served["members"]]


def op_add_member(w: World) -> None:
    m0, m1, m2 = w.modules
    a = w.cli("groups", "add", w.name("cli"), m0, m1)
    printed = w.cli("groups", "add-member", a["name"], m2, "--position", "1")
    assert printed == w.get(a["name"])
    b = w.via_api(w.name("api"), [m0, m1])
    served = ok(
        w.api.post(f"/api/groups/{b['name']}/members", json={"module": m2, "position": 0}), 201
    )
    assert served == w.cli("groups", "show", b["name"])
    assert [m["module"] for m in printed["members"]] == [m["module"] for m in served["members"]]
    assert [m["module"] for m in served["members"]] == [m2, m0, m1]


def op_remove_member(w: World) -> None:
    m0, m1, _ = w.modules
    a = w.cli("groups", "add", w.name("cli"), m0, m1)
    printed = w.cli("groups", "remove-member", a["name"], m0)
    assert printed == w.get(a["id"])
    b = w.via_api(w.name("api"), [m0, m1])
    served = ok(w.api.delete(f"/api/groups/members/{b['members'][0]['id']}"))
    assert served == w.cli("groups", "show", b["name"])
    assert [m["module"] for m in printed["members"]] == [m["module"] for m in served["members"]]


def op_delete(w: World) -> None:
    a = w.cli("groups", "add", w.name("cli"), w.modules[0])
    b = w.via_api(w.name("api"), w.modules[:1])
    printed = w.cli("groups", "rm", a["name"])
    assert printed == ok(w.api.delete(f"/api/groups/{b['id']}")) == {"deleted": True}
    for key in (a["name"], str(a["id"])):
        err, paths, _ = cli_error(w.server, "groups", "rm", key)
        assert (err, paths) == api_error(w.api.delete(f"/api/groups/{b['id']}"))
        assert err == "NotFoundError"
    assert w.api.get(f"/api/groups/{a['id']}").status_code == 404


def op_unknown_member(w: World) -> None:
    bad = [w.modules[0][:-1] + "x", "zz_nothing"]  # a near miss and no match at all
    err, paths, detail = cli_error(w.server, "groups", "add", w.name("cli"), *bad)
    r = w.api.post("/api/groups", json={"name": w.name("api"), "members": bad})
    assert r.status_code == 404, r.text
    assert (err, paths) == api_error(r) == ("NotFoundError", ["members"])
    assert detail == r.json()["detail"] and "did you mean" in detail


def op_digit_name(w: World) -> None:
    err, paths, _ = cli_error(w.server, "groups", "add", "42")
    r = w.api.post("/api/groups", json={"name": "42"})
    assert r.status_code == 422, r.text
    assert (err, paths) == api_error(r) == ("GroupSpecError", ["name"])


def op_bad_position(w: World) -> None:
    g = w.via_api(w.name("api"), w.modules[:2])
    err, paths, _ = cli_error(
        w.server, "groups", "add-member", g["name"], w.modules[2], "--position", "9"
    )
    r = w.api.post(f"/api/groups/{g['id']}/members", json={"module": w.modules[2], "position": 9})
    assert r.status_code == 422, r.text
    assert (err, paths) == api_error(r) == ("GroupSpecError", ["position"])
    assert w.get(g["id"]) == g  # nothing changed


OPS: dict[str, Callable[[World], None]] = {
    "create": op_create,
    "show": op_show,
    "list": op_list,
    "rename": op_rename,
    "members": op_members,
    "add_member": op_add_member,
    "remove_member": op_remove_member,
    "delete": op_delete,
    "unknown_member": op_unknown_member,
    "digit_name": op_digit_name,
    "bad_position": op_bad_position,
}


@pytest.mark.parametrize("op", list(OPS))
def test_cli_and_api_agree(world: World, op: str) -> None:
    OPS[op](world)
