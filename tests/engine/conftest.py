"""Engine tests reuse the per-kind driver fixtures; the end-to-end run tests
(test_run_*.py) add a state store, a URL per database kind and row comparison."""

import datetime as dt
import decimal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pipekit.drivers import connect, kind_for_url
from pipekit.drivers.base import Driver
from pipekit.store import Store
from tests.drivers.conftest import driver_urls, drivers, file_dir  # noqa: F401

#: every destination kind the engine is run against
RUN_KINDS = ("postgresql", "mysql", "sqlite", "duckdb")
RUN_USERS = {"postgresql": "postgres", "mysql": "root"}


@pytest.fixture
def run_store(tmp_path: Path) -> Iterator[Store]:
    """A fresh, initialised SQLite state store in the test's own folder."""
    store = Store.open(tmp_path / "state.db")
    store.init()
    yield store
    store.close()


#: drivers on the module's PostgreSQL and MariaDB databases, opened once per test module
_SERVER_DRIVERS: dict[str, Driver] = {}


@pytest.fixture(scope="module")
def run_servers(pg_url: str, mysql_url: str) -> Iterator[dict[str, str]]:
    """The module's PostgreSQL and MariaDB databases; closes the drivers `open_db`
    kept on them before the databases are dropped."""
    yield {"postgresql": pg_url, "mysql": mysql_url}
    for url in [u for u in _SERVER_DRIVERS if u.startswith((pg_url, mysql_url))]:
        _SERVER_DRIVERS.pop(url).close()  # also URLs with options (?options=...)


@pytest.fixture
def run_urls(run_servers: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A URL per database kind: the module's PostgreSQL and MariaDB databases, and
    SQLite and DuckDB files of this test alone."""
    return {
        **run_servers,
        "sqlite": f"sqlite:///{tmp_path / 'run.sqlite'}?create=true",
        "duckdb": f"duckdb:///{tmp_path / 'run.duckdb'}?create=true",
    }


def add_connection(store: Store, name: str, url: str, **kwargs: Any) -> None:
    """Register `url` as connection `name` with the user the test servers expect."""
    store.connections.add(name, url, user=RUN_USERS.get(kind_for_url(url)), **kwargs)


@contextmanager
def open_db(url: str) -> Iterator[Driver]:
    """A driver on `url`. Server connections are slow to open (ADBC reads the type
    catalogue, PyMySQL builds an SSL context), so those stay open for the test module
    (see `run_servers`); file databases are opened and closed each time."""
    kind = kind_for_url(url)
    if kind in ("postgresql", "mysql"):
        driver = _SERVER_DRIVERS.get(url)
        if driver is None:
            driver = _SERVER_DRIVERS[url] = connect(url, user=RUN_USERS[kind])
        yield driver
        return
    driver = connect(url)
    try:
        yield driver
    finally:
        driver.close()


def dest_table_name(kind: str, name: str) -> str:
    """`name` in a schema where the database has schemas (``sync.name``), else bare."""
    return f"sync.{name}" if kind in ("postgresql", "duckdb") else name


def norm(value: Any) -> Any:
    """One value in a form every database returns alike: zoned timestamps as UTC wall
    time (MariaDB keeps them zone-less), decimals without trailing zeros."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, decimal.Decimal):
        return value.normalize()
    return value


def sort_rows(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """`rows` in value order, NULLs last in each column."""
    return sorted(rows, key=lambda r: tuple((True, 0) if v is None else (False, v) for v in r))


def rows_of(driver: Driver, table: str, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """Every row of `table` (the given columns, read through Arrow), normalised and sorted."""
    cols = ", ".join(driver.quote(c) for c in columns)
    data = driver.read(f"SELECT {cols} FROM {driver.table_sql(table)}").read_all()
    return sort_rows([tuple(norm(r[c]) for c in columns) for r in data.to_pylist()])


def table_rows(url: str, table: str, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    with open_db(url) as d:
        return rows_of(d, table, columns)
