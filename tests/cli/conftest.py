"""CLI fixtures: run `pipekit` in-process (CliRunner) against an isolated folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from pipekit.cli import app
from tests.helpers import Invoke


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
