"""Store fixtures: the same tests run on a SQLite file and on PostgreSQL.

The PostgreSQL database comes from the shared ``pg_url`` fixture (one per test
module and xdist worker); each test starts from an empty ``public`` schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipekit.store import Store
from tests.helpers import reset_pg


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A state database location with nothing in it, on each backend."""
    if request.param == "sqlite":
        return str(tmp_path / "state" / "pipekit.db")
    url = request.getfixturevalue("pg_url")
    reset_pg(url)
    return url


@pytest.fixture
def empty_store(store_target: str) -> Iterator[Store]:
    """A store that was never initialised."""
    with Store.open(store_target) as store:
        yield store


@pytest.fixture
def store(empty_store: Store) -> Store:
    """An initialised store."""
    empty_store.init()
    return empty_store
