"""What `pipekit run --dry-run` prints and the exit codes a scheduler reads, through
the real `pipekit` process."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pipekit.store import Store
from tests.helpers import PIPEKIT


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "pipekit.yaml").write_text("database: state.db\n")
    env = {**os.environ, "PIPEKIT_CONFIG": str(tmp_path / "pipekit.yaml"), "COLUMNS": "200"}
    db = f"sqlite:///{tmp_path / 'data.db'}?create=true"
    query = "SELECT 1 AS id, '2026-01-0' || 1 AS ts"
    for args in (
        ["init"],
        ["connections", "add", "lite", db],
        ["modules", "add", "inc", "--source", "lite", "--dest", "lite", "--dest-table", "t",
         "--query", query, "--strategy", "incremental", "--merge-key", "id",
         "--watermark-column", "ts"],
        ["run", "inc"],
        ["run", "inc"],  # run 2 reads above the watermark
    ):  # fmt: skip
        done = pipekit(env, *args)
        assert done.returncode == 0, done.stdout + done.stderr
    return env


def pipekit(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PIPEKIT, *args], env=env, capture_output=True, text=True, timeout=120)


def test_dry_run_prints_the_watermark_and_the_sql_it_would_run(env: dict[str, str]) -> None:
    done = pipekit(env, "run", "inc", "--dry-run")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "dry_run" in text
    assert "column    ts > 2026-01-01 (destination max 2026-01-01)" in text
    source = text.index("-- source SQL")
    merge = text.index("-- merge SQL")
    assert source < merge
    assert "WHERE" in text[source:merge] and "2026-01-01" in text[source:merge]
    assert 'INSERT INTO "t"' in text[merge:]


def test_runs_show_follow_exits_with_the_runs_code(env: dict[str, str], tmp_path: Path) -> None:
    with Store.open(tmp_path / "state.db") as store:
        cancelled = store.runs.start("inc", triggered_by="test", pid=None, host=None)
        store.runs.finish(cancelled, "cancelled", error="cancelled")
        failed = store.runs.start("inc", triggered_by="test", pid=None, host=None)
        store.runs.finish(failed, "error", error="boom")
    for args, code in (
        (["runs", "show", str(cancelled), "--follow"], 130),
        (["runs", "show", str(cancelled), "--follow", "--json"], 130),
        (["runs", "follow", str(cancelled)], 130),
        (["runs", "show", str(failed), "--follow"], 1),
        (["runs", "show", "2", "--follow"], 0),
        (["runs", "show", str(failed)], 0),  # showing, not following: a read that worked
    ):
        done = pipekit(env, *args)
        assert done.returncode == code, (args, done.stdout, done.stderr)
    shown = pipekit(env, "runs", "show", "2").stdout
    assert "watermarks" in shown and "ts > " in shown and '{"column"' not in shown


def test_a_new_column_is_reported_with_the_way_to_fill_old_rows(env: dict[str, str]) -> None:
    query = "SELECT 1 AS id, '2026-01-0' || 2 AS ts, 'x' AS extra"
    assert pipekit(env, "modules", "edit", "inc", "--query", query).returncode == 0
    done = pipekit(env, "run", "inc")
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if "added column extra" in x)
    assert "rows loaded before this run hold NULL in extra" in line
    assert "--full-refresh" in line
