"""`pipekit secrets set|list|rm`: values never shown, file kept at mode 0600."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.helpers import Invoke, assert_clean_failure


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_set_list_rm(cli: Invoke, home: Path) -> None:
    secrets = home / "secrets.env"
    result = cli("secrets", "set", "ERP_PW", "s3cret-value")
    assert result.exit_code == 0, result.output
    assert "s3cret-value" not in result.output
    assert mode(secrets) == 0o600

    prompted = cli("secrets", "set", "WH_PW", input="typed-value\ntyped-value\n")
    assert prompted.exit_code == 0, prompted.output
    assert "typed-value" not in prompted.output
    assert "WH_PW=typed-value" in secrets.read_text()

    listed = cli("secrets", "list")
    assert listed.exit_code == 0
    assert listed.output.split() == ["ERP_PW", "WH_PW"]
    assert "s3cret" not in listed.output and "typed" not in listed.output

    replaced = cli("secrets", "set", "ERP_PW", "other")
    assert "replaced secret ERP_PW" in replaced.output
    assert mode(secrets) == 0o600

    removed = cli("secrets", "rm", "ERP_PW")
    assert removed.exit_code == 0
    assert cli("secrets", "list").output.split() == ["WH_PW"]
    assert_clean_failure(cli("secrets", "rm", "ERP_PW"), "secret ERP_PW is not set")


def test_prompt_confirmation_must_match(cli: Invoke, home: Path) -> None:
    result = cli("secrets", "set", "X_PW", input="pw-first\npw-other\npw-first\npw-first\n")
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert "X_PW=pw-first" in (home / "secrets.env").read_text()
    assert "pw-" not in result.output


@pytest.mark.parametrize("key", ["1BAD", "has-dash", "a b"])
def test_bad_key_writes_nothing(cli: Invoke, home: Path, key: str) -> None:
    assert_clean_failure(cli("secrets", "set", key, "v"), "invalid secret name")
    assert not (home / "secrets.env").exists()


def test_pipekit_secrets_overrides_path(
    cli: Invoke, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "elsewhere.env"
    monkeypatch.setenv("PIPEKIT_SECRETS", str(other))
    assert cli("secrets", "set", "K", "v").exit_code == 0
    assert other.read_text().endswith("K=v\n")
    assert mode(other) == 0o600
    assert not (home / "secrets.env").exists()


def test_list_warns_about_open_permissions(cli: Invoke, home: Path) -> None:
    cli("secrets", "set", "K", "v")
    (home / "secrets.env").chmod(0o644)
    result = cli("secrets", "list")
    assert "chmod 600" in result.output
