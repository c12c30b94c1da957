"""`pipekit doctor`: green on a fresh install, red (exit 1) with the fix otherwise."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.helpers import Invoke


def marks(output: str, mark: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(mark)]


def test_green_on_fresh_init(cli: Invoke, home: Path) -> None:
    result = cli("doctor")
    assert result.exit_code == 0, result.output
    assert marks(result.output, "✗") == []
    assert "all checks passed" in result.output
    assert any("state database" in line for line in marks(result.output, "✓"))


def test_red_on_open_secrets_file(cli: Invoke, home: Path) -> None:
    cli("secrets", "set", "K", "topsecret")
    (home / "secrets.env").chmod(0o644)
    result = cli("doctor")
    assert result.exit_code == 1
    bad = marks(result.output, "✗")
    assert len(bad) == 1 and "chmod 600" in bad[0]
    assert "topsecret" not in result.output


def test_red_on_unresolvable_password(cli: Invoke, home: Path) -> None:
    cli("connections", "add", "erp", "postgresql://h/db", "--password", "$ERP_PW")
    result = cli("doctor")
    assert result.exit_code == 1
    bad = marks(result.output, "✗")
    assert len(bad) == 1
    assert "connection erp" in bad[0] and "pipekit secrets set ERP_PW" in bad[0]
    cli("secrets", "set", "ERP_PW", "x")
    assert cli("doctor").exit_code == 0


def test_red_before_init(cli: Invoke, pipekit_home: Path) -> None:
    (pipekit_home / "pipekit.yaml").write_text("database: state.db\n")
    result = cli("doctor")
    assert result.exit_code == 1
    assert any("run `pipekit init`" in line for line in marks(result.output, "✗"))


def test_red_on_bad_config(cli: Invoke, pipekit_home: Path) -> None:
    (pipekit_home / "pipekit.yaml").write_text("api:\n  port: nope\n")
    result = cli("doctor")
    assert result.exit_code == 1
    assert "'api.port' must be an integer" in marks(result.output, "✗")[0]


def test_missing_driver_is_a_warning_unless_a_connection_needs_it(
    cli: Invoke, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A None entry in sys.modules is how Python spells "cannot be imported".
    monkeypatch.setitem(sys.modules, "pymysql", None)
    result = cli("doctor")
    assert result.exit_code == 0, result.output
    warn = marks(result.output, "!")
    assert len(warn) == 1 and "driver mysql" in warn[0] and "pipekit[mysql]" in warn[0]

    cli("connections", "add", "shop", "mysql://127.0.0.1:3306/test")
    result = cli("doctor")
    assert result.exit_code == 1
    bad = marks(result.output, "✗")
    assert len(bad) == 1 and "needed by shop" in bad[0]


def test_connections_option_connects(cli: Invoke, home: Path, pg_url: str) -> None:
    cli("connections", "add", "pg", pg_url)
    ok = cli("doctor", "--connections")
    assert ok.exit_code == 0, ok.output
    assert any(line.startswith("✓ connect pg: postgresql") for line in ok.output.splitlines())
    cli("connections", "add", "closed", "postgresql://127.0.0.1:1/test", "--user", "postgres")
    bad = cli("doctor", "--connections")
    assert bad.exit_code == 1
    assert "refused" in marks(bad.output, "✗")[0].lower()
