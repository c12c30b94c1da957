"""Secrets file and `$VAR` resolution."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pipekit.errors import SecretError
from pipekit.secrets import SecretsFile, is_reference, reference_name, resolve


def test_file_is_created_0600_and_round_trips(tmp_path: Path) -> None:
    sf = SecretsFile(tmp_path / "sub" / "secrets.env")
    sf.set("ERP_PW", "p=a ss#word")
    assert stat.S_IMODE(sf.path.stat().st_mode) == 0o600
    assert sf.read() == {"ERP_PW": "p=a ss#word"}
    assert sf.keys() == ["ERP_PW"]
    assert sf.remove("ERP_PW") and sf.read() == {}
    assert not sf.remove("ERP_PW")


def test_resolution_prefers_the_file_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sf = SecretsFile(tmp_path / "secrets.env")
    sf.set("A", "from-file")
    monkeypatch.setenv("A", "from-env")
    monkeypatch.setenv("B", "env-only")
    assert resolve("$A", sf) == "from-file"
    assert resolve("${B}", sf) == "env-only"
    assert resolve(None, sf) is None


def test_missing_secret_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("NOPE_PW", raising=False)
    with pytest.raises(SecretError, match=r"\$NOPE_PW is not set.*pipekit secrets set NOPE_PW"):
        resolve("$NOPE_PW", SecretsFile(tmp_path / "secrets.env"))


def test_literal_passwords_are_refused_without_echo() -> None:
    assert not is_reference("hunter2") and is_reference("$X") and is_reference("${X_1}")
    with pytest.raises(SecretError) as info:
        reference_name("hunter2")
    assert "hunter2" not in str(info.value)


def test_bad_lines_are_reported_without_their_content(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text("GOOD=1\nthis-is-a-leaked-secret\n")
    with pytest.raises(SecretError, match="line 2") as info:
        SecretsFile(path).read()
    assert "leaked" not in str(info.value)


def test_unsafe_mode_is_reported(tmp_path: Path) -> None:
    sf = SecretsFile(tmp_path / "secrets.env")
    sf.set("K", "v")
    assert sf.mode_problem() is None
    sf.path.chmod(0o644)
    assert "chmod 600" in (sf.mode_problem() or "")


def test_invalid_key_and_multiline_value(tmp_path: Path) -> None:
    sf = SecretsFile(tmp_path / "secrets.env")
    with pytest.raises(SecretError, match="invalid secret name"):
        sf.set("1BAD", "v")
    with pytest.raises(SecretError, match="line break"):
        sf.set("K", "a\nb")
    assert not sf.path.exists()
