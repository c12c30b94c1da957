"""`pipekit init`, global options, error handling and the real console script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipekit.store import LATEST_VERSION, Store
from tests.helpers import Invoke, assert_clean_failure


def test_init_twice(cli: Invoke, pipekit_home: Path) -> None:
    first = cli("init")
    assert first.exit_code == 0, first.output
    config = pipekit_home / "pipekit.yaml"
    assert f"config {config} (written with defaults)" in first.output
    assert "applied migration 0001 initial" in first.output
    text = config.read_text()
    db = pipekit_home / "pipekit.db"
    with Store.open(db) as store:
        assert store.schema_version() == LATEST_VERSION

    second = cli("init")
    assert second.exit_code == 0, second.output
    assert "(kept as it is)" in second.output
    assert f"is up to date (schema version {LATEST_VERSION})" in second.output
    assert "applied migration" not in second.output
    assert config.read_text() == text
    with Store.open(db) as store:
        assert store.schema_version() == LATEST_VERSION


def test_config_option_wins_over_environment(cli: Invoke, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere" / "conf.yaml"
    result = cli("--config", str(other), "init")
    assert result.exit_code == 0, result.output
    assert other.is_file()
    assert (other.parent / "pipekit.db").is_file()


def test_config_with_unknown_key_is_refused(cli: Invoke, pipekit_home: Path) -> None:
    (pipekit_home / "pipekit.yaml").write_text("databse: x.db\n")
    assert_clean_failure(cli("init"), "unknown key 'databse'")
    assert not (pipekit_home / "x.db").exists()
    assert not (pipekit_home / "pipekit.db").exists()
    assert_clean_failure(cli("connections", "list"), "unknown key 'databse'")


def test_commands_before_init_say_run_init(cli: Invoke, pipekit_home: Path) -> None:
    (pipekit_home / "pipekit.yaml").write_text("database: state.db\n")
    assert_clean_failure(cli("connections", "list"), "not initialised; run `pipekit init`")
    assert not (pipekit_home / "state.db").exists()
    missing = pipekit_home / "nope.yaml"
    assert_clean_failure(cli("--config", str(missing), "connections", "list"), "pipekit init")


def _script() -> str:
    path = Path(sys.executable).with_name("pipekit")
    assert path.exists(), "the pipekit console script is not installed in this environment"
    return str(path)


def test_console_script_end_to_end(tmp_path: Path) -> None:
    env = {**os.environ, "PIPEKIT_CONFIG": str(tmp_path / "p.yaml"), "COLUMNS": "200"}
    env.pop("PIPEKIT_SECRETS", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [_script(), *args], env=env, capture_output=True, text=True, timeout=60
        )

    help_ = run("--help")
    assert help_.returncode == 0 and "connections" in help_.stdout
    init = run("init")
    assert init.returncode == 0, init.stderr
    assert "schema version" in init.stdout
    bad = run("connections", "add", "x", "nosuch://h/db")
    assert bad.returncode == 1
    assert bad.stderr.strip().startswith("error: no driver handles URLs starting 'nosuch://'")
    assert len(bad.stderr.strip().splitlines()) == 1
    assert "Traceback" not in bad.stderr
    doctor = run("doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys, pipekit.cli; "
        "heavy = [m for m in ('pyarrow', 'duckdb', 'adbc_driver_manager', 'sqlalchemy') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_postgresql_state_store(cli: Invoke, pipekit_home: Path, pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:  # start from an empty schema
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
    (pipekit_home / "pipekit.yaml").write_text(f"database: {pg_url}\n")
    first = cli("init")
    assert first.exit_code == 0, first.output
    assert "applied migration 0001 initial" in first.output
    assert "postgresql://postgres@127.0.0.1" in first.output
    assert "up to date" in cli("init").output
    assert cli("connections", "add", "src", "sqlite:///src.db").exit_code == 0
    assert "src" in cli("connections", "list").output
    doctor = cli("doctor")
    assert doctor.exit_code == 0, doctor.output
    assert not (pipekit_home / "pipekit.db").exists()


def test_unwritable_places_are_clear_errors(cli: Invoke, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert_clean_failure(cli("--config", str(blocker / "p.yaml"), "init"), "cannot write")
    conf = tmp_path / "ok.yaml"
    conf.write_text(f"database: {blocker}/sub/state.db\n")
    assert_clean_failure(cli("--config", str(conf), "init"), "cannot create the folder")
