"""DESIGN.md §3 kept by import-linter: the layers, and faces that never touch the store,
the drivers or SQL libraries (contracts in pyproject.toml, [tool.importlinter])."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout and "0 broken" in result.stdout, result.stdout


def test_every_layer_is_in_a_contract() -> None:
    """A new top-level package must be placed in the layers before it can be used."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = config["contracts"][0]["layers"]
    named = {
        part.strip().strip("()").removeprefix("pipekit.")
        for layer in layers
        for part in layer.split("|")
    }
    packages = {
        p.stem if p.is_file() else p.name
        for p in (ROOT / "pipekit").iterdir()
        if (p.is_dir() and (p / "__init__.py").exists())
        or (p.suffix == ".py" and p.stem not in ("__init__", "__main__"))
    }
    assert packages <= named, f"not in any layer: {sorted(packages - named)}"
