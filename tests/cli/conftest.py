"""CLI fixtures: run `pipekit` in-process (CliRunner) against an isolated folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from pipekit.cli import app

Invoke = Callable[..., Result]


@pytest.fixture
def cli(pipekit_home: Path) -> Invoke:
    """Run `pipekit ARGS...` with the isolated config; wide output so lines do not wrap."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input, env={"COLUMNS": "250"})

    return invoke


@pytest.fixture
def home(cli: Invoke, pipekit_home: Path) -> Path:
    """An initialised Pipekit folder (config, state DB)."""
    result = cli("init")
    assert result.exit_code == 0, result.output
    return pipekit_home


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error: ")]


def assert_clean_failure(result: Result, *fragments: str) -> str:
    """Exit code 1, exactly one `error:` line holding every fragment, no traceback."""
    assert result.exit_code == 1, result.output
    lines = error_lines(result.output)
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]
