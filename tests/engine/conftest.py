"""Engine tests reuse the per-kind driver fixtures; the end-to-end run tests
(test_run_*.py) add a state store, a URL per database kind and row comparison."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipekit.store import Store
from tests.helpers import SERVER_DRIVERS


@pytest.fixture
def run_store(tmp_path: Path) -> Iterator[Store]:
    """A fresh, initialised SQLite state store in the test's own folder."""
    store = Store.open(tmp_path / "state.db")
    store.init()
    yield store
    store.close()


@pytest.fixture(scope="module")
def run_servers(pg_url: str, mysql_url: str) -> Iterator[dict[str, str]]:
    """The module's PostgreSQL and MariaDB databases; closes the drivers `open_db`
    kept on them before the databases are dropped."""
    yield {"postgresql": pg_url, "mysql": mysql_url}
    for url in [u for u in SERVER_DRIVERS if u.startswith((pg_url, mysql_url))]:
        SERVER_DRIVERS.pop(url).close()  # also URLs with options (?options=...)


@pytest.fixture
def run_urls(run_servers: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A URL per database kind: the module's PostgreSQL and MariaDB databases, and
    SQLite and DuckDB files of this test alone."""
    return {
        **run_servers,
        "sqlite": f"sqlite:///{tmp_path / 'run.sqlite'}?create=true",
        "duckdb": f"duckdb:///{tmp_path / 'run.duckdb'}?create=true",
    }
