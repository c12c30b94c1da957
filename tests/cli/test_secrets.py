"""`pipekit secrets set|list|rm`: values never shown, file kept at mode 0600."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.helpers import PIPEKIT, Invoke, assert_clean_failure


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


def _in_a_terminal(home: Path, args: list[str], typed: list[str]) -> str:
    """Run the real `pipekit` in a pseudo-terminal that is its controlling terminal (as
    in an SSH session: getpass reads /dev/tty); type each line of `typed` at a prompt
    (output ending in ': '); return everything the terminal showed."""
    import os
    import pty
    import select
    import sys

    env = {**os.environ, "PIPEKIT_CONFIG": str(home / "pipekit.yaml")}
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes pipekit, and never returns into pytest
        try:
            os.execve(sys.executable, [sys.executable, "-m", "pipekit", *args], env)
        finally:
            os._exit(127)
    out, pending, answered = b"", list(typed), 0
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 30)
            if not ready:
                raise AssertionError(f"pipekit is stuck; the terminal shows {out!r}")
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # EIO: the program ended and closed the terminal
                break
            if not chunk:
                break
            out += chunk
            # a prompt ends in ": " with no newline after it
            if out.endswith(b": ") and pending and answered != len(out):
                os.write(fd, pending.pop(0).encode() + b"\n")
                answered = len(out)
    finally:
        os.waitpid(pid, 0)
        os.close(fd)
    return out.decode(errors="replace")


def test_prompt_confirmation_must_match_in_a_terminal(home: Path) -> None:
    shown = _in_a_terminal(
        home, ["secrets", "set", "X_PW"], ["pw-first", "pw-other", "pw-first", "pw-first"]
    )
    assert "do not match" in shown
    assert "X_PW=pw-first" in (home / "secrets.env").read_text()
    assert "pw-" not in shown  # typed without echo


def test_a_piped_value_is_read_without_prompt_or_warning(home: Path) -> None:
    import os
    import subprocess

    env = {**os.environ, "PIPEKIT_CONFIG": str(home / "pipekit.yaml")}
    done = subprocess.run(
        [*PIPEKIT, "secrets", "set", "PIPED_PW"],
        input="from-a-pipe\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "GetPassWarning" not in done.stderr and "echoed" not in done.stderr
    assert "from-a-pipe" not in done.stdout + done.stderr
    assert "PIPED_PW=from-a-pipe" in (home / "secrets.env").read_text()
    empty = subprocess.run(
        [*PIPEKIT, "secrets", "set", "EMPTY_PW"], input="", env=env, capture_output=True, text=True
    )
    assert empty.returncode == 1
    assert "no value for EMPTY_PW on standard input" in empty.stdout + empty.stderr
    assert "EMPTY_PW" not in (home / "secrets.env").read_text()


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
