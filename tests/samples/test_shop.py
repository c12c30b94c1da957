"""The quickstart's sample shop: deterministic for a seed and a clock, plausible, and its
changes reported by id, against a real SQLite file."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from pipekit.samples import shop

NOW = dt.datetime(2025, 3, 14, 9, 30, 0)  # naive UTC, as the quickstart uses
COLUMNS = {
    "products": "id, sku, name, category, unit_price",
    "customers": "id, name, email, country, created_at, updated_at",
    "orders": "id, customer_id, status, amount, ordered_at, updated_at",
}


def _source_rows(path: Path, table: str, columns: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT {columns} FROM {table} ORDER BY 1").fetchall()
    finally:
        conn.close()


def test_sample_data_is_deterministic_and_plausible(tmp_path: Path) -> None:
    a = shop.generate_source(tmp_path / "a.db", now=NOW)
    b = shop.generate_source(tmp_path / "b.db", now=NOW)
    for table, columns in COLUMNS.items():
        assert _source_rows(a.path, table, columns) == _source_rows(b.path, table, columns)
    other = shop.generate_source(tmp_path / "c.db", now=NOW, seed=1)
    assert _source_rows(other.path, "orders", COLUMNS["orders"]) != _source_rows(
        a.path, "orders", COLUMNS["orders"]
    )

    orders = _source_rows(a.path, "orders", COLUMNS["orders"])
    latest = shop.ts(NOW - dt.timedelta(minutes=1))
    assert all(r[5] >= r[4] for r in orders)  # updated_at never before ordered_at
    assert sum(r[5] > r[4] for r in orders) > 10_000  # most orders changed after placing
    assert all(r[5] <= latest for r in orders)
    assert all(0 < r[3] <= 600 for r in orders)
    assert {r[2] for r in orders} >= {"pending", "paid", "shipped", "delivered", "cancelled"}
    assert {r[1] for r in orders} <= set(range(1, 1_001))
    customers = _source_rows(a.path, "customers", COLUMNS["customers"])
    assert len({r[2] for r in customers}) == 1_000  # unique emails
    assert all(r[5] >= r[4] for r in customers)


def test_changes_are_reported_by_id_and_stamped_now(tmp_path: Path) -> None:
    data = shop.generate_source(tmp_path / "s.db", now=NOW)
    later = NOW + dt.timedelta(minutes=10)
    before = dict(_source_rows(data.path, "orders", "id, updated_at"))
    changes = shop.apply_changes(data.path, now=later)
    after = dict(_source_rows(data.path, "orders", "id, updated_at"))
    assert set(changes.orders_deleted) == set(before) - set(after)
    assert set(changes.orders_inserted) == set(after) - set(before)
    stamped = {i for i, u in after.items() if u == shop.ts(later)}
    assert stamped == set(changes.orders_updated) | set(changes.orders_inserted)
    assert changes.orders_changed == shop.N_ORDERS_UPDATED + shop.N_ORDERS_INSERTED
    customers = dict(_source_rows(data.path, "customers", "id, updated_at"))
    assert {i for i, u in customers.items() if u == shop.ts(later)} == set(
        changes.customers_updated
    )


def test_changes_need_the_generated_source(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE unrelated (x INTEGER)")
    conn.close()
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        shop.apply_changes(other, now=NOW)
    assert _source_rows(other, "unrelated", "x") == []  # rolled back, nothing changed
