"""Bootstrap config: discovery order, validation naming the key, relative paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipekit.config import default_config_text, find_config_path, load_config, parse_config
from pipekit.errors import ConfigError


def test_defaults_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "pipekit.yaml"
    path.write_text("staging_schema: stage\napi:\n  port: 9000\n")
    cfg = load_config(path)
    assert cfg.database == str(tmp_path / "pipekit.db")
    assert cfg["api.port"] == 9000
    assert cfg["api.host"] == "127.0.0.1"
    assert cfg.staging_schema == "stage"


def test_unknown_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown key 'databse'"):
        parse_config({"databse": "x.db"}, tmp_path / "pipekit.yaml")


def test_unknown_nested_key_and_wrong_type_are_both_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"api": {"prot": 1, "port": "eighty"}}, tmp_path / "p.yaml")
    message = str(info.value)
    assert "unknown key 'api.prot'" in message
    assert "'api.port' must be an integer" in message


def test_booleans_are_not_integers() -> None:
    with pytest.raises(ConfigError, match="max_concurrent_runs"):
        parse_config({"max_concurrent_runs": True}, None)


def test_postgres_state_url_is_kept_verbatim() -> None:
    cfg = parse_config({"database": "postgresql://127.0.0.1/pipekit"}, None)
    assert cfg.database == "postgresql://127.0.0.1/pipekit"


def test_env_var_wins_and_missing_file_is_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "elsewhere.yaml"
    monkeypatch.setenv("PIPEKIT_CONFIG", str(target))
    assert find_config_path() == target
    with pytest.raises(ConfigError, match="pipekit init"):
        load_config()


def test_cwd_file_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPEKIT_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pipekit.yaml").write_text("{}\n")
    assert find_config_path() == tmp_path / "pipekit.yaml"


def test_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "pipekit.yaml"
    path.write_text("api: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_default_text_parses_back_to_defaults(tmp_path: Path) -> None:
    path = tmp_path / "pipekit.yaml"
    path.write_text(default_config_text())
    assert load_config(path).values == parse_config({}, path).values
