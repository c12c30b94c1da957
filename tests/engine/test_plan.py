"""Planning a run from plain values, without a database (engine/plan.py).

The drivers are instantiated from a parsed URL and never connected: planning
only asks them to quote, render literals and name types.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import fields, replace
from typing import Any

import pyarrow as pa
import pytest

from pipekit.drivers import driver_class, parse_url
from pipekit.drivers.base import Column, Driver, SwapInfo, TableRef
from pipekit.engine.merge import LOADED_AT, RUN_ID
from pipekit.engine.plan import (
    DestState,
    NamedInput,
    PlanInputs,
    PlanSettings,
    RunPlan,
    full_refresh_due,
    plan_load,
    plan_run,
    swap_candidate,
    watermark_column,
)
from pipekit.errors import ModuleSpecError, WatermarkError
from pipekit.store.modules import Module

URLS = {
    "postgresql": "postgresql://127.0.0.1/test",
    "mysql": "mysql://127.0.0.1/test",
    "sqlite": "sqlite:///unused.db",
    "duckdb": "duckdb:///unused.duckdb",
}
NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)
TS = pa.timestamp("us")
ORDERS = "SELECT id, status, updated_at FROM shop.orders"


def driver(kind: str) -> Driver:
    """A driver of `kind` that renders SQL but was never connected."""
    return driver_class(kind)(parse_url(URLS[kind]), None, None)


PG = driver("postgresql")


def settings(**changes: Any) -> PlanSettings:
    base = PlanSettings(
        name="orders",
        source_query=ORDERS,
        dest_table="dw.orders",
        merge_strategy="incremental",
        merge_key="id",
    )
    return replace(base, **changes)


def plan(s: PlanSettings, *, on: Driver = PG, **inputs: Any) -> RunPlan:
    """The plan with `on` as source and destination; `inputs` are ``PlanInputs`` fields."""
    return plan_run(PlanInputs(s, NOW, **inputs), source=on, dest=on)


def existing(max_value: pa.Scalar) -> DestState:
    return DestState(exists=True, watermark_max=max_value)


# -- the watermark window ---------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(URLS))
def test_a_first_run_reads_every_row(kind: str) -> None:
    s = settings(watermark_column="updated_at", dest_table="orders")
    p = plan(s, on=driver(kind))
    assert p.query == ORDERS  # unchanged, as written
    assert p.window is not None and p.window.lower is None and p.window.condition is None
    assert p.notes == ["watermark updated_at: destination empty or missing, reading every row"]
    assert p.watermarks["column"]["destination_max"] is None
    assert not p.full and p.key_query is None and p.audit is None


def test_an_empty_destination_reads_every_row_too() -> None:
    p = plan(settings(watermark_column="updated_at"), dest=existing(pa.scalar(None, TS)))
    assert p.query == ORDERS and p.window is not None and p.window.lower is None


def test_incremental_where_with_lookback_and_safety_lag() -> None:
    s = settings(watermark_column="updated_at", lookback="1 hour", safety_lag="5 minutes")
    newest = pa.scalar(dt.datetime(2025, 3, 14, 9, 0, 0, 123456), TS)
    p = plan(s, dest=existing(newest))
    assert p.query == (
        f"{ORDERS} WHERE (updated_at >= CAST('2025-03-14 08:00:00.123456' AS TIMESTAMP(6)) "
        "AND updated_at < CAST('2025-03-14 09:25:00.000000' AS TIMESTAMP(6))) "
        "OR updated_at IS NULL"
    )
    assert p.watermarks["column"]["lower"] == ">= 2025-03-14 08:00:00.123456"
    assert p.watermarks["column"]["upper"] == "< 2025-03-14 09:25:00.000000"
    assert p.notes == [
        "watermark updated_at: destination max 2025-03-14 09:00:00.123456, reading "
        "updated_at >= 2025-03-14 08:00:00.123456",
        "safety lag 5 minutes: reading rows below 2025-03-14 09:25:00.000000",
    ]


@pytest.mark.parametrize(("op", "lookback", "expected"), [
    (">", None, "id > 100"),
    (">=", None, "id >= 100"),
    (">", 10, "id >= 90"),  # a look-back always includes its lower end
])  # fmt: skip
def test_the_operator_and_a_numeric_lookback(op: str, lookback: int | None, expected: str) -> None:
    s = settings(watermark_op=op, lookback=lookback)  # the single merge key is the watermark
    p = plan(s, dest=existing(pa.scalar(100, pa.int64())))
    assert p.query == f"{ORDERS} WHERE ({expected}) OR id IS NULL"


def test_append_reads_null_watermarks_once_and_says_so() -> None:
    s = settings(merge_strategy="append", watermark_column="updated_at")
    p = plan(s, dest=existing(pa.scalar(dt.datetime(2025, 3, 1), TS)))
    assert p.query.endswith("WHERE updated_at > CAST('2025-03-01 00:00:00.000000' AS TIMESTAMP(6))")
    assert p.notes[-1] == "append: source rows whose watermark is NULL are not picked up"


def test_which_column_is_the_watermark() -> None:
    assert watermark_column(settings()) == "id"  # incremental on one key: the key
    assert watermark_column(settings(merge_key="a, b")) is None
    assert watermark_column(settings(merge_strategy="upsert")) is None
    assert watermark_column(settings(source_query=f"{ORDERS} WHERE id > {{since}}")) is None
    assert watermark_column(settings(watermark_column="updated_at", merge_key=None)) == "updated_at"


def test_a_safety_lag_on_a_first_run_takes_the_source_type() -> None:
    s = settings(watermark_column="updated_at", safety_lag="1 hour")
    p = plan(s, source_type=TS)
    assert p.query == f"{ORDERS} WHERE (updated_at < CAST('2025-03-14 08:30:00.000000' AS " + (
        "TIMESTAMP(6))) OR updated_at IS NULL"
    )
    with pytest.raises(WatermarkError, match="cannot tell the type") as e:
        plan(s)  # no source type, no destination to read it from
    assert e.value.path == "safety_lag"


# -- named watermarks -------------------------------------------------------------------


def test_named_placeholders_become_literals_of_the_source_dialect() -> None:
    s = settings(
        merge_strategy="append",
        source_query="SELECT id, v FROM t WHERE v > {since} AND d < '{until}' AND n = {name}",
    )
    named = (
        NamedInput("since", pa.scalar(5)),
        NamedInput("until", None, "2025-01-01", table_missing=True),
        NamedInput("name", pa.scalar("O'Brien")),
    )
    p = plan(s, named=named)
    assert p.query == ("SELECT id, v FROM t WHERE v > 5 AND d < '2025-01-01' AND n = 'O''Brien'")
    assert p.named_values == {"since": "5", "until": "2025-01-01", "name": "O'Brien"}
    assert p.watermarks["named"]["until"] == {"value": "2025-01-01", "from": "default"}
    assert p.notes[:3] == [
        "watermark {since} = 5 (resolver)",
        "watermark {until}: destination table missing, default",
        "watermark {until} = 2025-01-01 (default)",
    ]
    assert p.window is None  # the query filters itself


def test_a_placeholder_without_its_watermark_or_value_is_refused_with_its_path() -> None:
    s = settings(source_query="SELECT id FROM t WHERE id > {since}")
    with pytest.raises(WatermarkError, match="no watermark named 'since'") as e:
        plan(s)
    assert e.value.path == "watermarks.since"
    with pytest.raises(WatermarkError, match="has no default") as e:
        plan(s, named=(NamedInput("since", pa.scalar(None, pa.int64())),))
    assert e.value.path == "watermarks.since.default_value"


# -- full refresh -------------------------------------------------------------------------


def test_a_requested_full_refresh_reads_everything() -> None:
    s = settings(watermark_column="updated_at")
    p = plan(s, dest=existing(pa.scalar(dt.datetime(2025, 3, 1), TS)), full_refresh=True)
    assert p.full and p.query == ORDERS and p.window is None
    assert p.notes == ["full refresh requested", "full refresh: reading every source row"]


def test_a_full_refresh_is_due_once_per_cron_slot() -> None:
    s = settings(full_refresh_cron="0 3 * * *")
    due = {"requested": False, "now": NOW, "dest_exists": True}
    assert full_refresh_due(s, last_full_refresh=None, **due)[0]
    long_ago = NOW - dt.timedelta(days=2)
    full, why = full_refresh_due(s, last_full_refresh=long_ago, **due)
    assert full and why is not None and why.startswith("full refresh due (full_refresh_cron")
    # a full run since the last slot: not again until the next one
    recent = NOW - dt.timedelta(seconds=1)
    assert full_refresh_due(s, last_full_refresh=recent, **due) == (False, None)
    # a first run reads everything anyway; a full module always does
    assert full_refresh_due(s, last_full_refresh=None, **(due | {"dest_exists": False}))[0] is False
    full_module = replace(s, merge_strategy="full")
    assert full_refresh_due(full_module, last_full_refresh=None, **due) == (False, None)

    p = plan(s, dest=existing(pa.scalar(100, pa.int64())), last_full_refresh=long_ago)
    assert p.full and p.query == ORDERS


def test_a_bad_full_refresh_cron_is_refused_with_its_path() -> None:
    with pytest.raises(ModuleSpecError, match="not a cron expression") as e:
        plan(settings(full_refresh_cron="every night"), dest=existing(pa.scalar(1)))
    assert e.value.path == "full_refresh_cron"


# -- key_sync and audit columns -----------------------------------------------------------


@pytest.mark.parametrize(("kind", "quoted"), [("postgresql", '"id"'), ("mysql", "`id`")])
def test_key_sync_lists_every_source_key(kind: str, quoted: str) -> None:
    p = plan(settings(key_sync=True, source_query=f"{ORDERS} -- all"), on=driver(kind))
    assert p.key_query == f"SELECT {quoted} FROM ({ORDERS} -- all\n) pipekit_keys"
    assert p.recorded_query == f"{p.query}\n-- key_sync keys:\n{p.key_query}"
    own = plan(settings(key_sync=True, key_sync_query="SELECT id FROM shop.orders"))
    assert own.key_query == "SELECT id FROM shop.orders"


def test_key_sync_is_off_on_a_full_load_or_without_deletes() -> None:
    s = settings(key_sync=True)
    assert plan(s, full_refresh=True).key_query is None
    assert plan(replace(s, merge_strategy="append")).key_query is None
    p = plan(s, supports_deletes=False)
    assert p.key_query is None
    assert p.notes[-1] == "destination does not support deletes: key_sync skipped"


def test_key_sync_with_named_watermarks_needs_its_own_query() -> None:
    s = settings(key_sync=True, source_query="SELECT id FROM t WHERE id > {since}")
    with pytest.raises(ModuleSpecError, match="set key_sync_query") as e:
        plan(s, named=(NamedInput("since", pa.scalar(1)),))
    assert e.value.path == "key_sync_query"


def test_audit_columns_carry_the_load_time_and_the_run() -> None:
    at = dt.datetime(2025, 3, 14, 10, 0, 0, 250000, tzinfo=dt.UTC)
    p = plan(settings(audit_columns=True), run_id=42, loaded_at=at)
    assert p.audit is not None
    assert {a.name: a.value for a in p.audit} == {
        LOADED_AT: "CAST('2025-03-14 10:00:00.250000+00:00' AS TIMESTAMPTZ(6))",
        RUN_ID: "42",
    }
    assert plan(settings()).audit is None


def test_audit_columns_take_the_module_names_and_a_record_source() -> None:
    named = settings(
        audit_columns=True,
        source="erp",
        audit_loaded_at_column="dss_load_date",
        audit_run_id_column="dss_run",
        audit_source_column="dss_record_source",
    )
    p = plan(named, run_id=7)
    assert p.audit is not None
    assert [(a.name, a.value, a.setting) for a in p.audit][1:] == [
        ("dss_run", "7", "audit_run_id_column"),
        ("dss_record_source", "'erp'", "audit_source_column"),
    ]
    assert p.audit[0].name == "dss_load_date"
    # a connector table: connection/table
    table = plan(replace(named, source="landing", source_table="it's"), run_id=7)
    assert table.audit is not None and table.audit[2].value == "'landing/it''s'"
    # the names wait for audit_columns
    assert plan(replace(named, audit_columns=False)).audit is None


# -- bad inputs ---------------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "path", "words"), [
    ({"watermark_op": "=>"}, "watermark_op", "must be '>' or '>='"),
    ({"lookback": "2 fortnights"}, "lookback", "cannot read '2 fortnights'"),
    ({"lookback": "1 hour"}, "lookback", "needs a date or timestamp"),
    ({"safety_lag": "5"}, "safety_lag", "must be a duration"),
])  # fmt: skip
def test_bad_watermark_settings_name_their_path(
    changes: dict[str, Any], path: str, words: str
) -> None:
    with pytest.raises(WatermarkError, match=words) as e:
        plan(settings(**changes), dest=existing(pa.scalar(100, pa.int64())))
    assert e.value.path == path


def test_a_schema_on_a_sqlite_destination_is_refused() -> None:
    with pytest.raises(ModuleSpecError, match="SQLite has no schemas") as e:
        plan(settings(dest_table="dw.orders"), on=driver("sqlite"))
    assert e.value.path == "dest_table"
    assert plan(settings(dest_table="main.orders"), on=driver("sqlite")).table == TableRef("orders")


def test_an_incomplete_module_names_the_missing_field() -> None:
    blank: dict[str, Any] = {f.name: None for f in fields(Module)}
    module = Module(**blank | {"name": "m", "source": "src", "merge_strategy": "full"})
    with pytest.raises(ModuleSpecError, match="module 'm' is incomplete") as e:
        PlanSettings.from_module(module)
    assert e.value.path == "dest"


# -- swap or merge ------------------------------------------------------------------------

SCHEMA = pa.schema([("id", pa.int64()), ("status", pa.string())])
STAGED = TableRef("orders", "pipekit_staging")
COLUMNS = [
    Column("id", "bigint", False, True, pa.int64()),
    Column("status", "text", True, False, pa.string()),
]


def load(p: RunPlan, **given: Any) -> Any:
    args: dict[str, Any] = {
        "schema": SCHEMA,
        "staged": STAGED,
        "key_table": None,
        "existing": COLUMNS,
        "swap": None,
        "supports_deletes": True,
        "run_id": 7,
    }
    return plan_load(PG, p, **(args | given))


def test_a_first_load_or_full_refresh_swaps_when_nothing_blocks_it() -> None:
    first = plan(settings())
    assert swap_candidate(PG, first, supports_deletes=True, dest_exists=False)
    assert not swap_candidate(PG, first, supports_deletes=False, dest_exists=False)
    swapped = load(first, existing=None, swap=SwapInfo([]))
    assert swapped.merge.swap is not None and swapped.merge.strategy == "incremental"
    assert [w for w, _ in swapped.merge.statements][-1] == "swap"
    assert any("pipekit_swap_7_pkey" in sql for sql in swapped.merge.finish)
    assert swapped.dest_pk == ["id"] and swapped.merge.builds_key

    full = plan(settings(merge_strategy="full"), dest=existing(pa.scalar(1)))
    assert swap_candidate(PG, full, supports_deletes=True, dest_exists=True)
    blocked = load(full, swap=SwapInfo(["a view depends on it"]))
    assert blocked.merge.swap is None
    assert [w for w, _ in blocked.merge.statements] == ["clear", "insert"]
    assert blocked.notes == [
        "dw.orders is refreshed through staging, not swapped: a view depends on it"
    ]


def test_an_incremental_run_merges_by_key_and_syncs_keys() -> None:
    p = plan(settings(key_sync=True), dest=existing(pa.scalar(1)))
    assert not swap_candidate(PG, p, supports_deletes=True, dest_exists=True)
    keys = TableRef("orders__keys", "pipekit_staging")
    merged = load(p, key_table=keys)
    whats = [w for w, _ in merged.merge.statements]
    assert whats == ["replace and insert", "key_sync"]  # PostgreSQL: keyed, every column
    assert merged.merge.key_sync and merged.staged == STAGED
    first = load(p, existing=None)
    assert first.dest_pk == ["id"] and first.merge.schema_changes == ["created table dw.orders"]
