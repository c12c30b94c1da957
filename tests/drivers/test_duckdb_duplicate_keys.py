"""The duplicate-key guard's query on DuckDB (``DuckDBDriver.duplicate_keys``).

It groups a hash of the key first and, on a table larger than one pass's share,
runs in passes over shares of the hashes; a small pass size makes the test table
take several passes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipekit.drivers import connect
from pipekit.drivers import duckdb as duck
from pipekit.drivers.base import Driver, TableRef

T = TableRef("t", "main")


@pytest.fixture
def drv(tmp_path: Path) -> Iterator[Driver]:
    d = connect(f"duckdb:///{tmp_path / 'd.duckdb'}?create=true")
    # 1,000 distinct (name, n) keys; three repeated 2, 3 and 4 times
    d.execute(
        "CREATE TABLE t AS SELECT repeat('k', 40) || (i % 100) AS name, i // 100 AS n, i AS v "
        "FROM range(1000) r(i)"
    )
    d.execute(
        "INSERT INTO t SELECT repeat('k', 40) || 7, 3, 0 FROM range(3) "
        "UNION ALL SELECT repeat('k', 40) || 55, 9, 0 FROM range(2) "
        "UNION ALL SELECT repeat('k', 40) || 99, 0, 0 FROM range(1)"
    )
    yield d
    d.close()


def _short(rows: list[tuple]) -> list[tuple]:
    return [(name[40:], n, count) for name, n, count in rows]


@pytest.mark.parametrize("per_pass", [8_000_000, 50])
def test_repeated_keys_are_named_most_repeated_first(
    drv: Driver, per_pass: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(duck, "DUPLICATE_CHECK_KEYS_PER_PASS", per_pass)
    found = drv.duplicate_keys(T, ["name", "n"])
    assert _short(found) == [("7", 3, 4), ("55", 9, 3), ("99", 0, 2)]


def test_a_table_of_unique_keys_has_none_in_any_pass(
    drv: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(duck, "DUPLICATE_CHECK_KEYS_PER_PASS", 64)
    drv.execute("DELETE FROM t WHERE v = 0 AND n <> 0")
    drv.execute("DELETE FROM t WHERE v = 0 AND name = repeat('k', 40) || 99")
    assert drv.query("SELECT count(*) FROM t") == [(1000,)]
    assert drv.duplicate_keys(T, ["name", "n"]) == []
    # one key column alone repeats: the check groups the columns it is given
    assert [r[1] for r in drv.duplicate_keys(T, ["name"])] == [10, 10, 10]
