"""Shared fixtures: real PostgreSQL and MariaDB databases, isolated per test module.

Each fixture creates a database with a unique name and drops it afterwards, so
tests run in parallel (pytest -n) without seeing each other. A server that
cannot be reached fails the test: the test command (scripts/test.sh) starts or
installs the servers first, and a skipped database test would prove nothing.

Servers are found at PIPEKIT_TEST_PG (default postgresql://postgres@127.0.0.1:5432/test)
and PIPEKIT_TEST_MYSQL (default mysql://root@127.0.0.1:3306/test).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pipekit.drivers.base import Driver
from tests.helpers import (
    MYSQL_ADMIN_URL,
    PASSWORD,
    USER,
    DerbyServer,
    OpenedDrivers,
    Server,
    mysql_admin,
    pg_admin,
    pg_parts,
    unique_name,
)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database, dropped after the test module."""
    name = unique_name("pk_test")
    with pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _ = pg_parts()
    try:
        yield f"{base}/{name}"
    finally:
        with pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def mysql_url() -> Iterator[str]:
    """URL of a fresh MariaDB database, dropped after the test module."""
    name = unique_name("pk_test")
    conn = mysql_admin()
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        base, _, _ = MYSQL_ADMIN_URL.rpartition("/")
        yield f"{base}/{name}"
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a new SQLite file (created on connect)."""
    return f"sqlite:///{tmp_path / 'db.sqlite'}?create=true"


@pytest.fixture
def duckdb_url(tmp_path: Path) -> str:
    """URL of a new DuckDB file (created on connect)."""
    return f"duckdb:///{tmp_path / 'db.duckdb'}?create=true"


@pytest.fixture
def pipekit_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated Pipekit folder: PIPEKIT_CONFIG points at a config inside it."""
    home = tmp_path / "pipekit"
    home.mkdir()
    monkeypatch.setenv("PIPEKIT_CONFIG", str(home / "pipekit.yaml"))
    monkeypatch.delenv("PIPEKIT_SECRETS", raising=False)
    return home


# ---- drivers: one open driver per kind, against real servers and real files


@pytest.fixture(scope="module")
def file_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("files")


@pytest.fixture(scope="module")
def driver_urls(pg_url: str, mysql_url: str, file_dir: Path) -> dict[str, str]:
    return {
        "postgresql": pg_url,
        "mysql": mysql_url,
        "sqlite": f"sqlite:///{file_dir / 'db.sqlite'}?create=true",
        "duckdb": f"duckdb:///{file_dir / 'db.duckdb'}?create=true",
        # the JDBC kinds join as sources (tests/drivers/test_roundtrip.py)
        "jdbc-postgresql": "jdbc:" + pg_url.replace("postgresql://postgres@", "postgresql://"),
        "jdbc-hsqldb": f"jdbc:hsqldb:mem:{unique_name('rt')}",
    }


@pytest.fixture(scope="module")
def drivers(driver_urls: dict[str, str]) -> Iterator[dict[str, Driver]]:
    """An open driver per kind, opened on first use (module-scoped; closed afterwards)."""
    opened = OpenedDrivers(driver_urls)
    yield opened
    for d in opened.values():
        d.close()


# ---- a real `pipekit serve` on a free port with its own state DB and user (one per
# xdist worker; tests that stop or crash a server start their own `Server`)


def _serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("serve")
    (home / "pipekit.yaml").write_text("database: state.db\nmax_concurrent_runs: 2\n")
    srv = Server(home, 0)
    assert srv.cli("init").returncode == 0
    r = srv.cli("set-password", USER, input=f"{PASSWORD}\n")
    assert r.returncode == 0, r.stderr
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Shared by many tests: wrong passwords count against this client and user (five
    in a row lock the test user out for everyone, pipekit.throttle), so a test that
    sends one uses `own_server`."""
    yield from _serve(tmp_path_factory)


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server for one test module's wrong passwords, so the shared one never locks
    out the test user (same user and password as `server`)."""
    yield from _serve(tmp_path_factory)


@pytest.fixture(scope="session")
def api(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


# ---- JDBC: a Derby network server per test worker (session), stopped afterwards


@pytest.fixture(scope="session")
def derby(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DerbyServer]:
    server = DerbyServer(tmp_path_factory.mktemp("derby"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
