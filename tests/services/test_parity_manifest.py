"""`pipekit apply --json FILE` and `POST /api/apply` give the same report for the same
manifest, and refuse the same bad manifest with the same problem paths, against the one
state DB of a running `pipekit serve`.
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

YAML = {"content-type": "application/yaml"}


def uid() -> str:
    return uuid.uuid4().hex[:8]


class World:
    def __init__(self, server: Server, api: httpx.Client, folder: Path) -> None:
        self.server, self.api, self.folder = server, api, folder
        with closing(sqlite3.connect(folder / "src.db")) as db:
            db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
            db.commit()

    def manifest(self, tag: str) -> str:
        """Two connections, a module, a group and a schedule, all named with `tag`."""
        return f"""\
connections:
  zpm_src_{tag}: {{url: "sqlite:///{self.folder / "src.db"}"}}
  zpm_dst_{tag}: {{url: "duckdb:///{self.folder / f"dst_{tag}.duckdb"}?create=true"}}
modules:
  zpm_m_{tag}:
    source: zpm_src_{tag}
    dest: zpm_dst_{tag}
    dest_table: main.t
    source_query: SELECT id, v FROM t
groups:
  zpm_g_{tag}: [zpm_m_{tag}]
schedules:
  - {{group: zpm_g_{tag}, cron: "0 3 * * *"}}
"""

    def cli(self, text: str, *options: str, code: int = 0) -> Any:
        path = self.folder / f"deploy_{uid()}.yaml"
        path.write_text(text)
        r = self.server.cli("apply", str(path), *options, "--json")
        assert r.returncode == code, r.stdout + r.stderr
        return json.loads(r.stdout if code == 0 else r.stderr)

    def post(self, text: str, status: int = 200, **params: Any) -> httpx.Response:
        r = self.api.post("/api/apply", content=text.encode(), headers=YAML, params=params)
        assert r.status_code == status, r.text
        return r


@pytest.fixture
def world(server: Server, api: httpx.Client, tmp_path: Path) -> World:
    return World(server, api, tmp_path)


def renamed(report: Any, tag: str) -> Any:
    """`report` with the names made with `tag` made with "TAG"."""
    return json.loads(json.dumps(report).replace(tag, "TAG"))


def op_apply(w: World) -> None:
    """Two fresh manifests, one per face: the same changes, all created."""
    a, b = uid(), uid()
    printed = w.cli(w.manifest(a))
    served = w.post(w.manifest(b)).json()
    assert renamed(printed, a) == renamed(served, b)
    assert printed["changed"] and not printed["dry_run"]
    assert [c["action"] for c in printed["changes"]] == ["created"] * 5
    # the objects are there, as the other face sees them
    assert w.api.get(f"/api/groups/zpm_g_{a}").status_code == 200


def op_apply_again(w: World) -> None:
    """A manifest applied by one face, applied again by each: the same "unchanged" report."""
    tag = uid()
    text = w.manifest(tag)
    w.post(text)
    printed = w.cli(text)
    assert printed == w.post(text).json()
    assert printed["changed"] is False


def op_dry_run(w: World) -> None:
    text = w.manifest(uid())
    printed = w.cli(text, "--dry-run")
    assert printed == w.post(text, dry_run="true").json()
    assert printed["dry_run"] and printed["changed"]
    assert w.cli(text, "--dry-run") == printed  # nothing was written


def op_update(w: World) -> None:
    tag = uid()
    w.post(w.manifest(tag))
    edited = w.manifest(tag).replace("dest_table: main.t", "dest_table: main.t2")
    dry = w.cli(edited, "--dry-run")
    assert dry == w.post(edited, dry_run="true").json()
    assert {
        "kind": "module",
        "name": f"zpm_m_{tag}",
        "action": "updated",
        "fields": ["dest_table"],
    } in dry["changes"]


def op_bad_manifest(w: World) -> None:
    tag = uid()
    bad = (
        w.manifest(tag)
        .replace(f"dest: zpm_dst_{tag}", "dest: nowhere")
        .replace('"0 3 * * *"', '"0 25 * * *"')
        .replace(f"[zpm_m_{tag}]", f"[zpm_m_{tag}, zpm_m_{tag}]")
    )
    err = w.cli(bad, code=1)
    r = w.post(bad, status=422)
    paths = [".".join(e["loc"][1:]) for e in r.json()["detail"]]
    assert err["error"] == "ManifestError" == r.json()["detail"][0]["type"]
    assert [p["path"] for p in err["problems"]] == paths
    assert paths == [f"modules.zpm_m_{tag}.dest", f"groups.zpm_g_{tag}[1]", "schedules[0].cron"]
    assert w.api.get(f"/api/groups/zpm_g_{tag}").status_code == 404  # nothing applied


def op_not_yaml(w: World) -> None:
    err = w.cli("a: [1", code=1)
    r = w.post("a: [1", status=422)
    assert [p["path"] for p in err["problems"]] == [
        ".".join(e["loc"][1:]) for e in r.json()["detail"]
    ]
    assert err["error"] == r.json()["detail"][0]["type"] == "ManifestError"


OPS: dict[str, Callable[[World], None]] = {
    "apply": op_apply,
    "apply_again": op_apply_again,
    "dry_run": op_dry_run,
    "update": op_update,
    "bad_manifest": op_bad_manifest,
    "not_yaml": op_not_yaml,
}


@pytest.mark.parametrize("op", list(OPS))
def test_cli_and_api_agree(world: World, op: str) -> None:
    OPS[op](world)
