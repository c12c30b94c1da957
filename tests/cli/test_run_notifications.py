"""Runs from the command line notify like the server's (`notify.cli_runs`, default on):
`pipekit run` and `run-group`, as cron calls them, through the real process."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.helpers import PIPEKIT, http_server


def _home(tmp_path: Path, webhook: str, *extra: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    config = f"database: state.db\nnotify:\n  webhook_url: {webhook}\n" + "".join(extra)
    (home / "pipekit.yaml").write_text(config)
    env = {**os.environ, "PIPEKIT_CONFIG": str(home / "pipekit.yaml")}
    db = f"sqlite:///{home / 'data.db'}?create=true"
    for args in (
        ["init"],
        ["connections", "add", "lite", db],
        ["modules", "add", "good", "--source", "lite", "--dest", "lite", "--dest-table", "g",
         "--query", "SELECT 1 AS id"],
        ["modules", "add", "bad", "--source", "lite", "--dest", "lite", "--dest-table", "b",
         "--query", "SELECT id FROM no_such_table"],
        ["groups", "add", "nightly", "good", "bad"],
    ):  # fmt: skip
        done = pipekit(env, *args)
        assert done.returncode == 0, done.stdout + done.stderr
    return env


def pipekit(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PIPEKIT, *args], env=env, capture_output=True, text=True, timeout=120)


def test_a_failed_cli_run_posts_the_webhook_and_a_good_one_does_not(tmp_path: Path) -> None:
    with http_server() as (received, url):
        env = _home(tmp_path, url)
        assert pipekit(env, "run", "good").returncode == 0
        assert received == []
        failed = pipekit(env, "run", "bad")
        assert failed.returncode == 1
        ((post,),) = [received]
        assert post["json"]["event"] == "run_failed"
        assert post["json"]["module"] == "bad" and post["json"]["triggered_by"] == "cli"
        assert "no_such_table" in post["json"]["error"]


def test_a_failed_group_from_the_cli_posts_once_for_the_group(tmp_path: Path) -> None:
    with http_server() as (received, url):
        env = _home(tmp_path, url)
        done = pipekit(env, "run-group", "nightly")
        assert done.returncode == 1, done.stdout
        ((post,),) = [received]  # the group, not each member again
        assert post["json"]["event"] == "group_failed"
        assert post["json"]["group"] == "nightly"


def test_notify_cli_runs_false_keeps_the_cli_quiet(tmp_path: Path) -> None:
    with http_server() as (received, url):
        home = tmp_path / "home"
        env = _home(tmp_path, url)
        text = (
            (home / "pipekit.yaml").read_text().replace("notify:\n", "notify:\n  cli_runs: false\n")
        )
        (home / "pipekit.yaml").write_text(text)
        assert pipekit(env, "run", "bad").returncode == 1
        assert received == []
