"""Driver fixtures: one open driver per kind, against real servers and real files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipekit.drivers import connect
from pipekit.drivers.base import Driver

KINDS = ("postgresql", "mysql", "sqlite", "duckdb")


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
    }


def open_driver(kind: str, urls: dict[str, str]) -> Driver:
    user = {"postgresql": "postgres", "mysql": "root"}.get(kind)
    return connect(urls[kind], user=user)


@pytest.fixture(scope="module")
def drivers(driver_urls: dict[str, str]) -> Iterator[dict[str, Driver]]:
    """An open driver per kind, opened on first use (module-scoped; closed afterwards)."""
    opened = _Opened(driver_urls)
    yield opened
    for d in opened.values():
        d.close()


class _Opened(dict):
    def __init__(self, urls: dict[str, str]) -> None:
        super().__init__()
        self._urls = urls

    def __missing__(self, kind: str) -> Driver:
        self[kind] = open_driver(kind, self._urls)
        return self[kind]
