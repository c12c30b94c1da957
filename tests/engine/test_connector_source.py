"""``row_local``: which queries over a connector table may run part by part."""

from __future__ import annotations

import pytest

from pipekit.engine.connector_source import row_local, source_sql


@pytest.mark.parametrize(
    "sql",
    [
        source_sql("orders"),
        source_sql("orders") + " WHERE \"_source_modified\" >= TIMESTAMPTZ '2026-01-01'",
        'SELECT "id" FROM (SELECT * FROM "orders" WHERE a > 1\n) pipekit_keys',
        "SELECT id, upper(name) AS name FROM orders WHERE id BETWEEN 1 AND 9",
    ],
)
def test_a_projection_and_filter_is_row_local(sql: str) -> None:
    assert row_local(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT DISTINCT id FROM orders",
        "SELECT id, count(*) FROM orders GROUP BY id",
        "SELECT max(id) FROM orders",
        "SELECT * FROM orders ORDER BY id",
        "SELECT * FROM orders LIMIT 3",
        "SELECT id, row_number() OVER () FROM orders",
        "SELECT * FROM orders a JOIN orders b ON a.id = b.id",
        "SELECT id FROM orders UNION SELECT id FROM orders",
        "SELECT * FROM orders WHERE id IN (SELECT id FROM orders WHERE x)",
        "WITH a AS (SELECT * FROM orders) SELECT * FROM a",
        "SELECT id FROM (SELECT DISTINCT id FROM orders) k",
        "not sql at all (",
    ],
)
def test_anything_that_needs_other_rows_is_not(sql: str) -> None:
    assert not row_local(sql)
