"""The manifest service on real state databases: apply is all or nothing (a write the
database refuses half-way leaves nothing), validation names every problem's path,
text is never taken for a path, dry runs write nothing, export round-trips."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from pipekit.config import parse_config
from pipekit.errors import ManifestError, StoreError
from pipekit.services import Services
from pipekit.services.manifest import ApplyChangeView, ApplyView
from pipekit.services.views import to_json

TABLES = ("connection", "module", "module_history", "grp", "group_member", "schedule")


def manifest(folder: Path) -> str:
    return f"""\
connections:
  src: {{url: "sqlite:///{folder / "src.db"}"}}
  dst: {{url: "sqlite:///{folder / "dst.db"}?create=true"}}
modules:
  m:
    source: src
    dest: dst
    dest_table: t
    source_query: SELECT id, v FROM t
groups:
  g: [m]
schedules:
  - {{group: g, cron: "0 3 * * *"}}
"""


class State:
    """A state database of one backend, with a way to count rows and refuse inserts."""

    def __init__(self, kind: str, target: str) -> None:
        self.kind, self.target = kind, target

    def sql(self, *statements: str) -> list[tuple]:
        if self.kind == "sqlite":
            with closing(sqlite3.connect(self.target)) as db:
                rows = [db.execute(s).fetchall() for s in statements]
                db.commit()
        else:
            with psycopg.connect(self.target, autocommit=True) as db:
                rows = []
                for s in statements:
                    cur = db.execute(s)
                    rows.append(cur.fetchall() if s.startswith("SELECT") else [])
        return rows[-1]

    def counts(self) -> dict[str, int]:
        return {t: self.sql(f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}

    def refuse_inserts(self, table: str) -> None:
        if self.kind == "sqlite":
            self.sql(
                f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'refused by test'); END;"
            )
        else:
            self.sql(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$BEGIN RAISE EXCEPTION 'refused by test'; END$$",
                f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse()",
            )


@pytest.fixture(params=["sqlite", "postgresql"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> State:
    if request.param == "sqlite":
        return State("sqlite", str(tmp_path / "state.db"))
    url = request.getfixturevalue("pg_url")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return State("postgresql", url)


@pytest.fixture
def sv(state: State, tmp_path: Path) -> Iterator[Services]:
    config = parse_config({"database": state.target}, tmp_path / "pipekit.yaml")
    with Services.open(config) as services:
        services.store.init()
        yield services


def test_apply_reports_every_change_and_records_the_actor(sv: Services, tmp_path: Path) -> None:
    view = sv.as_actor("api:alice").manifest.apply(manifest(tmp_path))
    assert isinstance(view, ApplyView) and view.changed and not view.dry_run
    assert view.changes == [
        ApplyChangeView("connection", "dst", "created", []),
        ApplyChangeView("connection", "src", "created", []),
        ApplyChangeView("module", "m", "created", []),
        ApplyChangeView("group", "g", "created", []),
        ApplyChangeView("schedule", "g '0 3 * * *'", "created", []),
    ]
    assert view.counts() == {"created": 5, "updated": 0, "removed": 0, "unchanged": 0}
    assert {e.changed_by for e in sv.store.modules.history("m")} == {"api:alice"}
    again = sv.manifest.apply(manifest(tmp_path).encode())
    assert to_json(again) == {
        "changed": False,
        "dry_run": False,
        "changes": [
            {"kind": c.kind, "name": c.name, "action": "unchanged", "fields": []}
            for c in view.changes
        ],
    }
    assert sv.manifest.apply(sv.manifest.export()).changed is False


def test_a_refused_write_half_way_leaves_nothing(
    sv: Services, state: State, tmp_path: Path
) -> None:
    """Drift 7a at the service: the state DB refuses the schedule, the last write."""
    state.refuse_inserts("schedule")
    with pytest.raises(StoreError, match=r"refused by test.*nothing of the manifest was applied"):
        sv.manifest.apply(manifest(tmp_path))
    assert state.counts() == dict.fromkeys(TABLES, 0)


def test_dry_run_writes_nothing(sv: Services, state: State, tmp_path: Path) -> None:
    view = sv.manifest.apply(manifest(tmp_path), dry_run=True)
    assert view.dry_run and view.changed and len(view.changes) == 5
    assert state.counts() == dict.fromkeys(TABLES, 0)


def test_every_problem_with_its_path(sv: Services, tmp_path: Path) -> None:
    bad = (
        manifest(tmp_path)
        .replace("dest: dst", "dest: dts")
        .replace('"0 3 * * *"', '"0 25 * * *"')
        .replace("g: [m]", "g: [m, nope]")
    )
    with pytest.raises(ManifestError) as info:
        sv.manifest.apply(bad)
    assert [p.path for p in info.value.problems] == [
        "modules.m.dest",
        "groups.g[1]",
        "schedules[0].cron",
    ]
    assert sv.store.connections.list() == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"\xff\xfe not utf-8", "must be UTF-8 text"),
        ("deploy.yaml", "must be a mapping"),  # text, never a path to read
        ("a: \x07", "not a YAML document"),
        ("a: [1", "YAML syntax error"),
    ],
)
def test_bad_text_is_a_manifest_error(sv: Services, body: str | bytes, fragment: str) -> None:
    with pytest.raises(ManifestError) as info:
        sv.manifest.apply(body)
    assert fragment in str(info.value)
    assert [p.path for p in info.value.problems] == [""]


def test_a_file_and_its_folder(sv: Services, tmp_path: Path) -> None:
    path = tmp_path / "sub" / "deploy.yaml"
    path.parent.mkdir()
    path.write_text('connections:\n  dw: {url: "duckdb:///w.duckdb"}\n')
    assert sv.manifest.apply(path).changed
    assert sv.store.connections.get("dw").url == f"duckdb:///{path.parent / 'w.duckdb'}"
    with pytest.raises(ManifestError, match="cannot read"):
        sv.manifest.apply(tmp_path / "missing.yaml")
