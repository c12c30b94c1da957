"""The quickstart service: setup, the two runs and their checks, against real SQLite and DuckDB
files (the sample data itself: tests/samples/test_shop.py)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipekit.engine.run import GroupResult, run_group
from pipekit.engine.validate import module_problems
from pipekit.errors import PipekitError
from pipekit.services import quickstart as qs
from pipekit.store import Store

NOW = dt.datetime(2025, 3, 14, 9, 30, 0)  # naive UTC, as the quickstart uses
LATER = NOW + dt.timedelta(minutes=10)


def _source_rows(path: Path, table: str, columns: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT {columns} FROM {table} ORDER BY id").fetchall()
    finally:
        conn.close()


def _warehouse_rows(path: Path, table: str, columns: str) -> list[tuple[Any, ...]]:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        return conn.execute(f"SELECT {columns} FROM shop.{table} ORDER BY id").fetchall()
    finally:
        conn.close()


def _norm(value: Any) -> Any:
    """SQLite and DuckDB values on common ground: decimals, timestamps as the ISO text."""
    if isinstance(value, float):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, dt.datetime):
        return qs.ts(value)
    return value


COLUMNS = {
    "products": "id, sku, name, category, unit_price",
    "customers": "id, name, email, country, created_at, updated_at",
    "orders": "id, customer_id, status, amount, ordered_at, updated_at",
}


def assert_warehouse_equals_source(demo: qs.Quickstart) -> None:
    for table, columns in COLUMNS.items():
        src = [tuple(map(_norm, r)) for r in _source_rows(demo.source_path, table, columns)]
        dst = [tuple(map(_norm, r)) for r in _warehouse_rows(demo.warehouse_path, table, columns)]
        assert len(dst) == len(src), table
        assert dst == src, table


def _run(demo: qs.Quickstart) -> GroupResult:
    engine = demo.engine()
    with engine.store:
        result = run_group(engine, qs.GROUP, triggered_by="test")
    assert result.group_run.status == "success", [r.error for r in result.runs]
    return result


def _reads(result: GroupResult) -> dict[str, int | None]:
    return {r.module_name: r.rows_read for r in result.runs}


@pytest.fixture
def demo(tmp_path: Path) -> qs.Quickstart:
    return qs.setup(tmp_path / "qs", now=NOW)


def test_setup_builds_source_connections_modules_group(demo: qs.Quickstart) -> None:
    d = demo.dir
    for name in ("pipekit.yaml", "pipekit.db", "source.db"):
        assert (d / name).is_file(), name
    assert demo.source.rows == {"products": 12, "customers": 1_000, "orders": 20_000}
    assert all(v < NOW for v in demo.source.newest.values())

    config = demo.config()
    assert Path(config.database) == d / "pipekit.db"
    assert config.secrets_path == d / "secrets.env"

    with Store.open(config) as store:
        conns = {c.name: c.url for c in store.connections.list()}
        assert conns == {
            "source": f"sqlite:///{d}/source.db",
            "warehouse": f"duckdb:///{d}/warehouse.duckdb?create=true",
        }
        mods = {m.name: m for m in store.modules.list()}
        assert set(mods) == {"products", "customers", "orders"}
        assert all(m.source == "source" and m.dest == "warehouse" for m in mods.values())
        assert {n: m.dest_table for n, m in mods.items()} == {
            "products": "shop.products",
            "customers": "shop.customers",
            "orders": "shop.orders",
        }
        p, c, o = mods["products"], mods["customers"], mods["orders"]
        assert p.merge_strategy == "full"
        assert (c.merge_strategy, c.merge_key, c.watermark_column) == ("upsert", "id", "updated_at")
        assert (o.merge_strategy, o.merge_key, o.watermark_column) == (
            "incremental",
            "id",
            "updated_at",
        )
        assert o.key_sync and o.lookback == "1 hour"
        checks = {ch.name: ch.sql for ch in store.checks.list("orders")}
        assert set(checks) == {"no_null_keys", "no_negative_amounts"}
        group = store.groups.get("shop")
        assert list(group.members) == ["products", "customers", "orders"]
        (schedule,) = store.schedules.list(group="shop")
        assert schedule.cron_expr == "0 2 * * *" and schedule.enabled
        # Every definition passes the same validator `pipekit modules add` and `apply` use.
        for m in mods.values():
            spec = {f: getattr(m, f) for f in ("source", "dest", "dest_table", "source_query")}
            spec |= {
                "merge_strategy": m.merge_strategy,
                "merge_key": m.merge_key,
                "watermark_column": m.watermark_column,
                "lookback": m.lookback,
                "key_sync": m.key_sync,
                "checks": [{"name": ch.name, "sql": ch.sql} for ch in store.checks.list(m.name)],
            }
            assert module_problems(spec, source_dialect="sqlite", connections=conns) == []


def test_two_runs_move_only_the_changes(demo: qs.Quickstart) -> None:
    first = _run(demo)
    assert _reads(first) == {"products": 12, "customers": 1_000, "orders": 20_000}
    assert {r.module_name: r.row_count for r in first.runs} == demo.source.rows
    assert_warehouse_equals_source(demo)

    with duckdb.connect(str(demo.warehouse_path), read_only=True) as conn:
        (newest,) = conn.execute("SELECT max(updated_at) FROM shop.orders").fetchone()
    since = qs.ts(newest - dt.timedelta(hours=1))
    before = dict(_source_rows(demo.source_path, "orders", "id, updated_at"))

    changes = qs.apply_changes(demo.source_path, now=LATER)
    assert (
        len(changes.orders_updated),
        len(changes.orders_inserted),
        len(changes.orders_deleted),
        len(changes.customers_updated),
    ) == (50, 20, 5, 10)
    after = dict(_source_rows(demo.source_path, "orders", "id, updated_at"))
    assert set(changes.orders_deleted) == set(before) - set(after)
    assert set(changes.orders_inserted) == set(after) - set(before)
    assert {i for i in before if i in after and after[i] != before[i]} == set(
        changes.orders_updated
    )

    # What the second run must read, worked out independently: the incremental module
    # reads updated_at >= (the warehouse's newest updated_at - 1 hour), so the changed
    # rows plus the unchanged ones already inside that window; the upsert module reads
    # updated_at > the warehouse's newest customer change, i.e. the 10 updated customers.
    window = {i for i, u in after.items() if u >= since}
    unchanged_in_window = window - set(changes.orders_updated) - set(changes.orders_inserted)
    assert set(changes.orders_in_lookback) == unchanged_in_window
    expected_orders = 50 + 20 + len(unchanged_in_window)
    assert qs.expected_reads(changes, demo.source.rows) == {
        "products": 12,
        "customers": 10,
        "orders": expected_orders,
    }

    second = _run(demo)
    assert _reads(second) == {"products": 12, "customers": 10, "orders": expected_orders}
    runs = {r.module_name: r for r in second.runs}
    assert runs["orders"].row_count == 20_000 + 20 - 5
    assert runs["customers"].row_count == 1_000
    # key_sync removed the deleted orders; nothing else is missing or extra
    assert qs.ids_present(demo, "orders", changes.orders_deleted) == []
    assert_warehouse_equals_source(demo)
    assert all(c.identical for c in qs.compare_tables(demo))

    updated = _warehouse_rows(demo.warehouse_path, "customers", "id, email, updated_at")
    changed = {r[0]: r for r in updated if r[0] in changes.customers_updated}
    assert all(r[1].endswith("@mail.example.org") and r[2] == LATER for r in changed.values())


def test_compare_tables_notices_a_difference(demo: qs.Quickstart) -> None:
    _run(demo)
    assert [c.identical for c in qs.compare_tables(demo)] == [True, True, True]
    conn = duckdb.connect(str(demo.warehouse_path))
    try:
        conn.execute("UPDATE shop.customers SET country = 'XX' WHERE id = 7")
        conn.execute("DELETE FROM shop.orders WHERE id = 3")
    finally:
        conn.close()
    found = {c.table: c for c in qs.compare_tables(demo)}
    assert found["products"].identical
    assert not found["customers"].identical
    assert found["customers"].source_rows == found["customers"].warehouse_rows == 1_000
    assert not found["orders"].identical
    assert found["orders"].only_in_source == (3,)


def _snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(directory)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_an_existing_quickstart_is_refused_unless_forced(demo: qs.Quickstart) -> None:
    (demo.dir / "notes.txt").write_text("mine")
    (demo.dir / "secrets.env").write_text("X=1\n")
    before = _snapshot(demo.dir)
    with pytest.raises(qs.QuickstartExistsError, match="already holds a quickstart"):
        qs.setup(demo.dir, now=NOW)
    assert _snapshot(demo.dir) == before

    _run(demo)  # leaves a warehouse and run history behind
    again = qs.setup(demo.dir, now=NOW, force=True)
    assert (demo.dir / "notes.txt").read_text() == "mine"  # only quickstart files go
    assert (demo.dir / "secrets.env").read_text() == "X=1\n"
    assert not again.warehouse_path.exists()
    with Store.open(again.config()) as store:
        assert store.runs.list() == []


def test_a_folder_without_a_quickstart_is_used_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("hello")
    demo = qs.setup(tmp_path, now=NOW)
    assert demo.dir == tmp_path
    assert (tmp_path / "readme.txt").read_text() == "hello"
    with pytest.raises(PipekitError, match="is a file"):
        qs.setup(tmp_path / "readme.txt")


def test_a_failed_setup_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(qs, "generate_source", boom)
    target = tmp_path / "new" / "qs"
    with pytest.raises(RuntimeError, match="disk full"):
        qs.setup(target, now=NOW)
    assert not target.exists()
