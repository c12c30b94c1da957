"""pipekit.files: the one rule for which files a connection may open."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from pipekit.config import parse_config
from pipekit.errors import ConfigError, ConnectionSpecError, PathNotAllowedError
from pipekit.files import FilePolicy, check_path, loose_mode, path_problem


@pytest.fixture
def policy(tmp_path: Path) -> FilePolicy:
    (tmp_path / "data").mkdir()
    return FilePolicy.make([tmp_path / "data"], [tmp_path / "state.db", tmp_path / "secrets.env"])


def test_a_file_inside_an_allowed_folder_is_allowed(tmp_path: Path, policy: FilePolicy) -> None:
    assert check_path(tmp_path / "data" / "shop.db", policy) == tmp_path / "data" / "shop.db"
    assert check_path(tmp_path / "data" / "new" / "x.db", policy)  # not created yet


@pytest.mark.parametrize(
    "name", ["outside.db", "data/../outside.db", "data/../data/../state.db", "secrets.env"]
)
def test_a_file_outside_or_through_dotdot_is_refused(
    tmp_path: Path, policy: FilePolicy, name: str
) -> None:
    with pytest.raises(PathNotAllowedError) as e:
        check_path(str(tmp_path / name), policy, field="connections.x.url")
    assert e.value.path == "connections.x.url"
    assert isinstance(e.value, ConnectionSpecError)  # every face answers it as a bad input
    assert "files.allowed_directories" in str(e.value) or "keeps to itself" in str(e.value)


def test_a_symlink_inside_an_allowed_folder_pointing_out_is_refused(
    tmp_path: Path, policy: FilePolicy
) -> None:
    (tmp_path / "secrets.env").write_text("K=v\n")
    link = tmp_path / "data" / "innocent.db"
    link.symlink_to(tmp_path / "secrets.env")
    problem = path_problem(link, policy)
    assert problem and "keeps to itself" in problem
    (tmp_path / "data" / "up").symlink_to(tmp_path)
    assert path_problem(tmp_path / "data" / "up" / "other.db", policy)


def test_without_folders_anything_but_the_protected_files_is_allowed(tmp_path: Path) -> None:
    policy = FilePolicy.make([], [tmp_path / "state.db"])
    assert path_problem(tmp_path / "anywhere" / "x.db", policy) is None
    assert path_problem(tmp_path / "state.db", policy)
    for system in ("/proc/self/environ", "/etc/shadow", "/dev/null"):
        assert "keeps to itself" in (path_problem(system, policy) or "")


def test_sql_directories_leave_out_folders_holding_a_protected_file(tmp_path: Path) -> None:
    policy = FilePolicy.make([tmp_path, tmp_path / "data"], [tmp_path / "state.db"])
    data = f"{(tmp_path / 'data').resolve()}{os.sep}"
    assert policy.sql_directories() == [data]
    assert FilePolicy().sql_directories() == []
    assert FilePolicy.make(["/"], []).sql_directories() == []  # / holds /proc


def test_the_config_setting_is_relative_to_the_config_file(tmp_path: Path) -> None:
    data = yaml.safe_load("files:\n  allowed_directories: [data, /srv/x]\ndatabase: s.db\n")
    config = parse_config(data, tmp_path / "pipekit.yaml")
    assert config["files.allowed_directories"] == [str(tmp_path / "data"), "/srv/x"]
    policy = config.file_policy()
    assert tmp_path / "s.db" in policy.protected
    assert tmp_path / "pipekit.yaml" in policy.protected
    assert Path(config.secrets_path) in policy.protected
    assert parse_config({}, tmp_path / "pipekit.yaml")["files.allowed_directories"] is None


@pytest.mark.parametrize("bad", ["data", [""], [1]])
def test_a_bad_folder_list_is_a_clear_config_error(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ConfigError, match=r"files\.allowed_directories"):
        parse_config({"files": {"allowed_directories": bad}}, tmp_path / "pipekit.yaml")


def test_loose_mode_names_the_file_and_the_fix(tmp_path: Path) -> None:
    f = tmp_path / "state.db"
    f.write_text("")
    f.chmod(0o600)
    assert loose_mode(f, "state database") is None
    f.chmod(0o644)
    assert loose_mode(f, "state database") == (
        f"state database {f} has mode 0644: users of the group or others can open it; "
        f"run `chmod 600 {f}`"
    )
    assert loose_mode(tmp_path / "missing", "x") is None
