"""What `pipekit --help`, `--version` and shell completion show, through the real process."""

from __future__ import annotations

import os
import subprocess
from importlib.metadata import version
from typing import Any

import typer.main
from typer.testing import CliRunner

from pipekit.cli import app
from tests.helpers import PIPEKIT


def pipekit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PIPEKIT, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "150", **(env or {})},
    )


def test_version() -> None:
    done = pipekit("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"pipekit {version('pipekit')}"


def test_flags_show_no_value_type() -> None:
    done = pipekit("run", "--help")
    assert done.returncode == 0
    assert "--dry-run" in done.stdout and "--full-refresh" in done.stdout
    assert "<bool>" not in done.stdout
    assert "<str>" in pipekit("modules", "add", "--help").stdout  # options with values keep it


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):  # a group (typer's own click, not necessarily click's)
            found += _commands(cmd, (*path, name))
        else:
            found.append((*path, name))
    return found


def test_no_help_page_shows_a_bool_type() -> None:
    runner = CliRunner()
    commands = _commands(typer.main.get_command(app))
    assert len(commands) > 40
    for command in commands:
        shown = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "150"})
        assert shown.exit_code == 0, (command, shown.output)
        assert "<bool>" not in shown.output, command


def test_modules_add_marks_the_required_settings() -> None:
    shown = pipekit("modules", "add", "--help").stdout
    for line in (
        "Connection the source query runs on. (required)",
        "(this or --source-table is required)",
    ):
        assert line in shown, shown


def test_shell_completion_completes_commands() -> None:
    script = pipekit("--show-completion", "bash")
    assert script.returncode == 0 and "_PIPEKIT_COMPLETE" in script.stdout
    env = {
        "_PIPEKIT_COMPLETE": "complete_bash",
        "COMP_WORDS": "pipekit modules ad",
        "COMP_CWORD": "2",
    }
    done = pipekit(env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["add"]
