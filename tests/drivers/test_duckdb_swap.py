"""What DuckDB's full refresh by swap reads from the old table (``drivers/duckdb.py``).

``swap_info`` decides whether a new table may be renamed into place; each blocker is
a table feature the rename would lose. ``like_table_sql`` builds the empty copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipekit.drivers import connect
from pipekit.drivers.base import Driver, TableRef


@pytest.fixture
def drv(tmp_path: Path) -> Iterator[Driver]:
    d = connect(f"duckdb:///{tmp_path / 's.duckdb'}?create=true")
    yield d
    d.close()


def test_plain_table_with_key_and_comment_may_swap(drv: Driver) -> None:
    drv.execute("CREATE TABLE t (a BIGINT, b VARCHAR NOT NULL, PRIMARY KEY (a))")
    drv.execute("COMMENT ON TABLE t IS 'orders of the day'")
    drv.execute("CREATE VIEW v AS SELECT a FROM t")
    info = drv.swap_info(TableRef("t", "main"))
    # a view is not a blocker: DuckDB binds views by name when they are queried
    assert info.blockers == []
    assert info.primary_key == ["a"]
    assert info.comment == "orders of the day"


def test_missing_table_may_swap(drv: Driver) -> None:
    assert drv.swap_info(TableRef("nope", "main")).blockers == []


@pytest.mark.parametrize(
    ("ddl", "expected"),
    [
        ("CREATE TABLE t (a BIGINT CHECK (a > 0))", "constraints besides its primary key"),
        ("CREATE TABLE t (a BIGINT UNIQUE)", "constraints besides its primary key"),
        ("CREATE TABLE t (a BIGINT); CREATE INDEX t_a ON t (a)", "indexes besides"),
        (
            "CREATE TABLE t (a BIGINT PRIMARY KEY); CREATE TABLE child (x BIGINT REFERENCES t (a))",
            "foreign keys of other tables refer to it: main.child",
        ),
    ],
)
def test_features_a_rename_would_lose_block_the_swap(drv: Driver, ddl: str, expected: str) -> None:
    for statement in ddl.split("; "):
        drv.execute(statement)
    blockers = drv.swap_info(TableRef("t", "main")).blockers
    assert len(blockers) == 1, blockers
    assert expected in blockers[0]


def test_like_table_copies_types_not_nulls_defaults_and_comments(drv: Driver) -> None:
    drv.execute("CREATE TABLE t (a DECIMAL(18,3) NOT NULL, b TIMESTAMPTZ DEFAULT now(), c VARCHAR)")
    drv.execute("COMMENT ON COLUMN t.c IS 'free text'")
    drv.execute("INSERT INTO t VALUES (1.5, NULL, 'x')")
    model = TableRef("t", "main")
    info = drv.swap_info(model)  # the catalog's facts; the dialect renders from them
    for statement in drv.dialect.like_table_sql(TableRef("n", "main"), model, info):
        drv.execute(statement)
    cols = drv.query(
        "SELECT column_name, data_type, is_nullable, column_default, comment "
        "FROM duckdb_columns() WHERE table_name = 'n' ORDER BY column_index"
    )
    assert cols[0][:3] == ("a", "DECIMAL(18,3)", False)
    assert cols[1][1] == "TIMESTAMP WITH TIME ZONE" and cols[1][3] is not None
    assert cols[2][4] == "free text"
    assert drv.query("SELECT count(*) FROM n") == [(0,)]
