"""Shared fixtures: real PostgreSQL and MariaDB databases, isolated per test module.

Each fixture creates a database with a unique name and drops it afterwards, so
tests run in parallel (pytest -n) without seeing each other. A server that
cannot be reached fails the test: the test command (scripts/test.sh) starts or
installs the servers first, and a skipped database test would prove nothing.

Servers are found at PIPEKIT_TEST_PG (default postgresql://postgres@127.0.0.1:5432/test)
and PIPEKIT_TEST_MYSQL (default mysql://root@127.0.0.1:3306/test).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ADMIN_URL = os.environ.get("PIPEKIT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_ADMIN_URL = os.environ.get("PIPEKIT_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test")


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def _pg_parts() -> tuple[str, str]:
    """(server part of the URL without database, admin database)."""
    base, _, db = PG_ADMIN_URL.rpartition("/")
    return base, db


def _pg_admin():
    import psycopg

    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # pragma: no cover - environment failure
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({exc}); run scripts/test.sh, "
            "which starts or installs it",
            pytrace=False,
        )


def _mysql_admin():
    import pymysql

    from pipekit.drivers.url import parse_url

    u = parse_url(MYSQL_ADMIN_URL)
    try:
        return pymysql.connect(
            host=u.host, port=u.port or 3306, user=u.user or "root", password="", autocommit=True
        )
    except pymysql.err.OperationalError as exc:  # pragma: no cover - environment failure
        pytest.fail(
            f"MariaDB is not reachable at {MYSQL_ADMIN_URL} ({exc}); run scripts/test.sh, "
            "which starts or installs it",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database, dropped after the test module."""
    name = unique_name("pk_test")
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _ = _pg_parts()
    try:
        yield f"{base}/{name}"
    finally:
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def mysql_url() -> Iterator[str]:
    """URL of a fresh MariaDB database, dropped after the test module."""
    name = unique_name("pk_test")
    conn = _mysql_admin()
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
