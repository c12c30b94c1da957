"""`runs prune` and the server's retention: old finished runs go, running ones stay."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipekit.config import load_config
from pipekit.errors import InvalidError
from pipekit.services import Services
from pipekit.store import Store, schema
from tests.helpers import PASSWORD, PIPEKIT, USER, Server

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _age(store: Store, run_id: int, days: float) -> None:
    """Make run `run_id` (and its group run) look `days` old."""
    when = NOW - timedelta(days=days)
    with store.write() as conn:
        conn.execute(
            schema.run_log.update().where(schema.run_log.c.id == run_id).values(started_at=when)
        )
        gid = (
            conn.execute(schema.run_log.select().where(schema.run_log.c.id == run_id))
            .first()
            .group_run_id
        )
        if gid is not None:
            conn.execute(
                schema.group_run.update()
                .where(schema.group_run.c.id == gid)
                .values(started_at=when)
            )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "pipekit.yaml").write_text("database: state.db\n")
    env = {**os.environ, "PIPEKIT_CONFIG": str(tmp_path / "pipekit.yaml")}
    db = f"sqlite:///{tmp_path / 'd.db'}?create=true"
    for args in (
        ["init"],
        ["connections", "add", "lite", db],
        ["modules", "add", "m", "--source", "lite", "--dest", "lite",
         "--dest-table", "t", "--query", "SELECT 1 AS id"],
        ["groups", "add", "g", "m"],
    ):  # fmt: skip
        assert subprocess.run([*PIPEKIT, *args], env=env, capture_output=True).returncode == 0
    return tmp_path


def _runs(store: Store) -> tuple[int, int, int, int]:
    runs = store.runs
    old = runs.start("m", triggered_by="t", pid=None, host=None)
    runs.finish(old, "success")
    old_running = runs.start("m", triggered_by="t", pid=None, host=None)
    gid = runs.start_group("g", triggered_by="t")
    member = runs.start("m", group_run_id=gid, triggered_by="t", pid=None, host=None)
    runs.finish(member, "error", error="boom")
    runs.finish_group(gid, "error", error="boom")
    new = runs.start("m", triggered_by="t", pid=None, host=None)
    runs.finish(new, "success")
    for run_id in (old, old_running, member):
        _age(store, run_id, 100)
    _age(store, new, 5)
    return old, old_running, member, new


def test_prune_deletes_old_finished_runs_and_emptied_group_runs(home: Path) -> None:
    with Services.open(load_config(home / "pipekit.yaml")) as sv:
        _old, old_running, _member, new = _runs(sv.store)
        counted = sv.runs.prune("90d", dry_run=True, now=NOW)
        assert (counted.runs, counted.group_runs, counted.dry_run) == (2, 1, True)
        assert len(sv.store.runs.list(limit=100)) == 4  # a dry run deletes nothing
        done = sv.runs.prune("90d", now=NOW)
        assert (done.runs, done.group_runs) == (2, 1)
        left = {r.id for r in sv.store.runs.list(limit=100)}
        assert left == {old_running, new}  # a run still going is never pruned
        assert sv.store.runs.list_group(limit=100) == []


@pytest.mark.parametrize("bad", ["90", "d", "0d", "-5d", "1.5d", "90 days", "\uff19\uff10d"])
def test_a_bad_age_is_refused_and_nothing_deleted(home: Path, bad: str) -> None:
    with Services.open(load_config(home / "pipekit.yaml")) as sv:
        _runs(sv.store)
        with pytest.raises(InvalidError, match="is not an age; write a whole number") as info:
            sv.runs.prune(bad, now=NOW)
        assert info.value.path == "older_than"
        assert len(sv.store.runs.list(limit=100)) == 4


def test_the_cli_prunes_and_says_so(home: Path) -> None:
    env = {**os.environ, "PIPEKIT_CONFIG": str(home / "pipekit.yaml")}
    with Store.open(home / "state.db") as store:
        _runs(store)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*PIPEKIT, "runs", "prune", *args], env=env, capture_output=True, text=True
        )

    counted = run("--older-than", "90d", "--dry-run")
    assert counted.returncode == 0 and "would delete 2 run(s) and 1 group run(s)" in counted.stdout
    bad = run("--older-than", "90")
    assert bad.returncode == 1 and "'90' is not an age" in bad.stdout + bad.stderr
    done = run("--older-than", "90d")
    assert done.returncode == 0 and "deleted 2 run(s) and 1 group run(s)" in done.stdout


def test_the_server_applies_runs_retention_days_at_start(home: Path) -> None:
    with Store.open(home / "state.db") as store:
        _runs(store)
    config = home / "pipekit.yaml"
    config.write_text(config.read_text() + "runs:\n  retention_days: 30\n")
    srv = Server(home, 0)
    assert srv.cli("set-password", USER, input=f"{PASSWORD}\n").returncode == 0
    srv.start()
    try:
        import time

        deadline = time.monotonic() + 30
        while (
            time.monotonic() < deadline and "run log pruned" not in (home / "serve.log").read_text()
        ):
            time.sleep(0.2)
        with srv.client() as api:
            left = api.get("/api/runs", params={"limit": 100}).json()
    finally:
        srv.stop()
    assert (
        "run log pruned to 30 days: 2 run(s) and 1 group run(s) deleted"
        in (home / "serve.log").read_text()
    )
    assert len(left) == 2
