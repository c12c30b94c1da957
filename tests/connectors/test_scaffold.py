"""`pipekit connector new`: the scaffold passes ruff and its own contract tests as
written, whatever capabilities it was asked for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipekit.connectors import Cap
from pipekit.connectors.manifest import ConnectorManifest
from pipekit.connectors.scaffold import class_name, scaffold
from pipekit.errors import AlreadyExistsError, InvalidError

#: Pipekit's own rule set (pyproject.toml), applied outside the Pipekit repo
PROJECT_RULES = ["--isolated", "--select", "E,F,W,I,B,UP,SIM,RUF", "--line-length", "100"]


def tool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_new_connectors_pass_ruff_and_their_own_contract_tests(tmp_path: Path) -> None:
    variants = {
        "weather": Cap.DISCOVER | Cap.READ,
        "hooks_only": Cap.STREAM | Cap.REMOTE,
        "everything": Cap.DISCOVER | Cap.READ | Cap.STREAM | Cap.REMOTE | Cap.WRITE,
    }
    for name, caps in variants.items():
        folder = scaffold(name, caps, tmp_path)
        m = ConnectorManifest.load(folder / "connector.yaml", expected_name=name)
        assert m.capabilities == caps and m.entrypoint == f"{name}.connector.{class_name(name)}"
    for args in (
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["ruff", "check", *PROJECT_RULES, "."],
        ["ruff", "format", "--check", *PROJECT_RULES[:1], "--line-length", "100", "."],
    ):
        done = tool(*args, cwd=tmp_path)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    done = tool("pytest", "-q", "-p", "no:cacheprovider", "-rs", ".", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout and "failed" not in done.stdout
    # the ones that apply ran and passed: 'read' for weather, 'remote' for the others
    assert done.stdout.count("SKIPPED") < 3 * 7


def test_class_name_and_files(tmp_path: Path) -> None:
    assert class_name("my_api") == "MyApiConnector"
    folder = scaffold("shop_api", Cap.DISCOVER | Cap.READ, tmp_path)
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == [
        "__init__.py",
        "connector.py",
        "connector.yaml",
        "tests/__init__.py",
        "tests/test_connector.py",
    ]
    assert "class ShopApiConnector:" in (folder / "connector.py").read_text()


@pytest.mark.parametrize(
    ("name", "caps", "fragment", "path"),
    [
        ("Weather", Cap.READ, "lower-case letters", "name"),
        ("9lives", Cap.READ, "not starting with a digit", "name"),
        ("json", Cap.READ, "a Python module named 'json' already exists", "name"),
        ("quiet", Cap.DISCOVER | Cap.REMOTE, "must include read or stream", "caps"),
    ],
)
def test_bad_names_and_caps_are_refused_and_nothing_is_written(
    tmp_path: Path, name: str, caps: Cap, fragment: str, path: str
) -> None:
    with pytest.raises(InvalidError, match=fragment) as exc:
        scaffold(name, caps, tmp_path)
    assert exc.value.path == path
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "weather").mkdir()
    (tmp_path / "weather" / "mine.txt").write_text("keep")
    with pytest.raises(AlreadyExistsError, match="already exists"):
        scaffold("weather", Cap.DISCOVER | Cap.READ, tmp_path)
    assert [p.name for p in (tmp_path / "weather").iterdir()] == ["mine.txt"]
