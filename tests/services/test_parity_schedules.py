"""Schedules: the CLI (`--json`, a real `pipekit` process) and the REST API give the same
JSON for the same operation (the scheduler's `next_fire_at` included), and refuse the
same bad request with the same error class and field path, on one running server.

Cron slots are at 03:xx, so no slot passes between the two faces' answers (a test
run at 03:00 local time could see two different next slots).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.helpers import Server


def uid() -> str:
    return uuid.uuid4().hex[:8]


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def cli_error(server: Server, *args: str) -> tuple[str, list[str]]:
    r = server.cli(*args, "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout == ""
    body = json.loads(r.stderr)
    assert body["detail"]
    return body["error"], [p["path"] for p in body["problems"]]


def api_error(r: httpx.Response) -> tuple[str, list[str]]:
    body = r.json()
    if r.status_code == 422:
        types = {e["type"] for e in body["detail"]}
        assert len(types) == 1, body
        return types.pop(), [".".join(map(str, e["loc"][1:])) for e in body["detail"]]
    return body["error"], [body.get("path", "")]


class World:
    """Two empty groups to schedule."""

    def __init__(self, server: Server, api: httpx.Client) -> None:
        self.server, self.api = server, api
        self.groups = []
        for _ in range(2):
            name = f"zps_g_{uid()}"
            ok(api.post("/api/groups", json={"name": name}), 201)
            self.groups.append(name)

    def cli(self, *args: str) -> Any:
        r = self.server.cli(*args, "--json")
        assert r.returncode == 0, r.stdout + r.stderr
        return json.loads(r.stdout)

    def get(self, sid: int) -> Any:
        return ok(self.api.get(f"/api/schedules/{sid}"))

    def via_api(self, cron: str = "0 3 * * *", enabled: bool = True, group: int = 0) -> Any:
        body = {"group": self.groups[group], "cron_expr": cron, "enabled": enabled}
        return ok(self.api.post("/api/schedules", json=body), 201)


@pytest.fixture
def world(server: Server, api: httpx.Client) -> World:
    return World(server, api)


def op_create(w: World) -> None:
    printed = w.cli("schedules", "add", w.groups[0], "0 3 * * *")
    assert printed == w.get(printed["id"])
    assert printed["next_fire_at"] is not None
    served = w.via_api("15 3 * * *", enabled=False)
    assert served == w.cli("schedules", "show", str(served["id"]))
    assert served["next_fire_at"] is None
    off = w.cli("schedules", "add", w.groups[0], "15 3 * * *", "--disabled")
    strip = ("id", "created_at")
    assert {k: v for k, v in off.items() if k not in strip} == {
        k: v for k, v in served.items() if k not in strip
    }


def op_show(w: World) -> None:
    s = w.via_api()
    assert w.cli("schedules", "show", str(s["id"])) == w.get(s["id"]) == s


def op_list(w: World) -> None:
    on, off = w.via_api(), w.via_api("30 3 * * *", enabled=False)
    printed = w.cli("schedules", "list", "--group", w.groups[0])
    assert printed == ok(w.api.get("/api/schedules", params={"group": w.groups[0]}))
    assert [s["id"] for s in printed] == [on["id"], off["id"]]
    assert w.cli("schedules", "list") == ok(w.api.get("/api/schedules"))


def op_update(w: World) -> None:
    a = w.cli("schedules", "add", w.groups[0], "0 3 * * *")
    printed = w.cli(
        "schedules", "edit", str(a["id"]), "--cron", "45 3 * * 1-5", "--group", w.groups[1]
    )
    assert printed == w.get(a["id"])
    b = w.via_api()
    body = {"cron_expr": "45 3 * * 1-5", "group": w.groups[1]}
    served = ok(w.api.put(f"/api/schedules/{b['id']}", json=body))
    assert served == w.cli("schedules", "show", str(b["id"]))
    assert (printed["group"], printed["cron_expr"], printed["next_fire_at"]) == (
        served["group"],
        served["cron_expr"],
        served["next_fire_at"],
    )


def op_enable_disable(w: World) -> None:
    a = w.via_api()
    printed = w.cli("schedules", "disable", str(a["id"]))
    assert printed == w.get(a["id"]) and printed["next_fire_at"] is None
    served = ok(w.api.put(f"/api/schedules/{a['id']}", json={"enabled": True}))
    assert served == w.cli("schedules", "show", str(a["id"])) and served["next_fire_at"]
    again = w.cli("schedules", "enable", str(a["id"]))  # already on: unchanged
    assert again == served


def op_delete(w: World) -> None:
    a, b = w.via_api(), w.via_api()
    printed = w.cli("schedules", "rm", str(a["id"]))
    assert printed == ok(w.api.delete(f"/api/schedules/{b['id']}")) == {"deleted": True}
    err = cli_error(w.server, "schedules", "show", str(a["id"]))
    assert err == api_error(w.api.get(f"/api/schedules/{b['id']}"))
    assert err[0] == "NotFoundError"


def op_bad_cron(w: World) -> None:
    err = cli_error(w.server, "schedules", "add", w.groups[0], "0 25 * * *")
    body = {"group": w.groups[0], "cron_expr": "0 25 * * *"}
    assert err == api_error(w.api.post("/api/schedules", json=body))
    assert err == ("ScheduleSpecError", ["cron_expr"])
    s = w.via_api()
    err = cli_error(w.server, "schedules", "edit", str(s["id"]), "--cron", "every day")
    r = w.api.put(f"/api/schedules/{s['id']}", json={"cron_expr": "every day"})
    assert err == api_error(r) == ("ScheduleSpecError", ["cron_expr"])
    assert w.get(s["id"]) == s


def op_unknown_group(w: World) -> None:
    near = w.groups[0][:-1] + ("x" if w.groups[0][-1] != "x" else "y")
    err = cli_error(w.server, "schedules", "add", near, "0 3 * * *")
    r = w.api.post("/api/schedules", json={"group": near, "cron_expr": "0 3 * * *"})
    assert err == api_error(r) == ("NotFoundError", ["group"])
    assert "did you mean" in r.json()["detail"]


OPS: dict[str, Callable[[World], None]] = {
    "create": op_create,
    "show": op_show,
    "list": op_list,
    "update": op_update,
    "enable_disable": op_enable_disable,
    "delete": op_delete,
    "bad_cron": op_bad_cron,
    "unknown_group": op_unknown_group,
}


@pytest.mark.parametrize("op", list(OPS))
def test_cli_and_api_agree(world: World, op: str) -> None:
    OPS[op](world)
