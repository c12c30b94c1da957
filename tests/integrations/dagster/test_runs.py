"""Dagster in process running Pipekit's modules on real databases (state store and source
on PostgreSQL, a SQLite source, a DuckDB warehouse): one module materialized with its
row count, a group job whose failing member does not stop the others, a failed check,
a busy module, and the sensor reporting each outside run once."""

from __future__ import annotations

import _thread
import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from dagster import (
    AssetKey,
    Definitions,
    ExecuteInProcessResult,
    build_sensor_context,
    materialize,
)

from pipekit.integrations.dagster import PipekitResource, RunCursor
from pipekit.integrations.dagster.interrupt import run_cancellable
from pipekit.services import Services
from tests.helpers import DAGSTER_MODULES, duckdb_rows

ORDERS = AssetKey(list(DAGSTER_MODULES["orders"]))
CUSTOMERS = AssetKey(list(DAGSTER_MODULES["customers"]))


def _materialize(defs: Definitions, key: AssetKey, **run_config: Any) -> Any:
    # the resolved asset carries the definitions' PipekitResource
    asset = defs.resolve_assets_def(key)
    config = {"ops": {asset.op.name: {"config": run_config}}} if run_config else None
    return materialize([asset], raise_on_error=False, run_config=config)


def _failure(result: ExecuteInProcessResult) -> str:
    [event] = result.get_step_failure_events()
    data = event.step_failure_data
    described = data.user_failure_data.description if data.user_failure_data else None
    return described or data.error.message if data.error else str(described)


def _set_balance(site: Path, customer: int, balance: float) -> None:
    with closing(sqlite3.connect(site.parent / "crm.db")) as db:
        db.execute("UPDATE customers SET balance = ? WHERE id = ?", (balance, customer))
        db.commit()


def test_one_module_materialized_with_its_row_count(
    defs: Definitions, resource: PipekitResource, sv: Services, site: Path
) -> None:
    result = _materialize(defs, ORDERS)
    assert result.success
    [event] = result.get_asset_materialization_events()
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert event.asset_key == ORDERS
    assert meta["dagster/row_count"] == 3
    assert meta["pipekit/strategy"] == "incremental"
    assert meta["pipekit/watermarks"]["column"]["column"] == "updated_at"
    run = sv.runs.show(meta["pipekit/run_id"])
    assert (run.module_name, run.status, run.row_count) == ("orders", "success", 3)
    assert run.triggered_by == f"dagster:{result.run_id}"  # the run log names the Dagster run
    assert [r[0] for r in duckdb_rows(site.parent / "dw.duckdb", "main.orders")] == [1, 2, 3]

    again = _materialize(defs, ORDERS)  # incremental: reads above the destination's newest
    [event] = again.get_asset_materialization_events()
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert (meta["dagster/row_count"], meta["pipekit/rows_read"]) == (3, 0)
    assert "2026-01-03" in str(meta["pipekit/watermarks"]["column"]["destination_max"])

    full = _materialize(defs, ORDERS, full_refresh=True)  # the launchpad's run config
    [event] = full.get_asset_materialization_events()
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert (meta["dagster/row_count"], meta["pipekit/rows_read"]) == (3, 3)


def test_a_group_job_runs_the_others_in_order_and_fails(defs: Definitions, sv: Services) -> None:
    result = defs.resolve_job_def("pipekit_group_nightly").execute_in_process(raise_on_error=False)
    assert not result.success
    # the failing member (broken, second) did not stop customers after it
    assert [e.asset_key for e in result.get_asset_materialization_events()] == [ORDERS, CUSTOMERS]
    assert [(e.check_name, e.passed) for e in result.get_asset_check_evaluations()] == [
        ("no_negative", True)
    ]
    message = _failure(result)
    assert "group nightly ended error" in message
    assert "broken:" in message and "no_such_table" in message  # Pipekit's own message
    [group_run] = sv.runs.list_group_runs("nightly", limit=1)
    assert (group_run.status, group_run.triggered_by) == ("error", f"dagster:{result.run_id}")
    members = sv.runs.show_group_run(group_run.id).runs
    assert [(r.module_name, r.status) for r in members] == [
        ("orders", "success"),
        ("broken", "error"),
        ("customers", "success"),
    ]


def test_a_failed_check_fails_the_asset_check_and_the_step(
    defs: Definitions, resource: PipekitResource, site: Path
) -> None:
    assert _materialize(defs, CUSTOMERS).success
    warehouse = site.parent / "dw.duckdb"
    before = duckdb_rows(warehouse, "main.customers")
    _set_balance(site, 2, -1.0)
    try:
        result = _materialize(defs, CUSTOMERS)
    finally:
        _set_balance(site, 2, 7.5)
    assert not result.success
    [check] = result.get_asset_check_evaluations()
    assert (check.asset_key, check.check_name, check.passed) == (CUSTOMERS, "no_negative", False)
    assert "check 'no_negative' failed" in _failure(result)
    assert not result.get_asset_materialization_events()
    assert duckdb_rows(warehouse, "main.customers") == before  # rolled back


def test_a_busy_module_fails_with_pipekits_message(
    defs: Definitions, resource: PipekitResource, sv: Services
) -> None:
    held = sv.engine.start_module("orders", triggered_by="cli")  # holds the module's lock
    try:
        result = _materialize(defs, ORDERS)
    finally:
        sv.engine.run_module("orders", run_id=held)  # carried out: the lock is released
    assert not result.success
    assert f"module 'orders' is already running (run {held}" in _failure(result)


def _tick(defs: Definitions, resource: PipekitResource, cursor: str | None) -> Any:
    sensor = defs.resolve_sensor_def("pipekit_outside_runs")
    return sensor(build_sensor_context(cursor=cursor, resources={"pipekit": resource}))


def test_the_sensor_reports_each_outside_run_once(
    defs: Definitions, resource: PipekitResource, sv: Services, site: Path
) -> None:
    first = _tick(defs, resource, None)
    assert not first.asset_events  # history before the sensor is not reported
    assert sv.runs.run("customers").status == "success"  # the CLI's way
    assert sv.runs.run("broken").status == "error"  # failed: nothing materialized
    assert _materialize(defs, ORDERS).success  # Dagster reported it itself
    second = _tick(defs, resource, first.cursor)
    [check, event] = second.asset_events  # broken failed before any check: nothing of it
    assert (check.asset_key, check.passed) == (CUSTOMERS, True)
    assert event.asset_key == CUSTOMERS
    assert event.metadata["pipekit/triggered_by"].value == "cli"
    assert RunCursor.parse(second.cursor).last > RunCursor.parse(first.cursor).last
    third = _tick(defs, resource, second.cursor)
    assert not third.asset_events
    assert RunCursor.parse(third.cursor).last == RunCursor.parse(second.cursor).last

    # a run still going when the sensor looks is reported once it has ended
    started = sv.engine.start_module("customers", triggered_by="schedule:1")
    fourth = _tick(defs, resource, third.cursor)
    assert not fourth.asset_events
    assert RunCursor.parse(fourth.cursor).running == [started]
    sv.engine.run_module("customers", run_id=started)
    fifth = _tick(defs, resource, fourth.cursor)
    [check, event] = fifth.asset_events  # its check evaluation, then its materialization
    assert (check.check_name, check.passed) == ("no_negative", True)
    assert (event.asset_key, event.metadata["pipekit/run_id"].value) == (CUSTOMERS, started)
    sixth = _tick(defs, resource, fifth.cursor)
    assert not sixth.asset_events

    # a check that failed outside Dagster: a failed asset check, no materialization
    _set_balance(site, 2, -1.0)
    try:
        assert sv.runs.run("customers").status == "error"
    finally:
        _set_balance(site, 2, 7.5)
    [failed] = _tick(defs, resource, sixth.cursor).asset_events
    assert (failed.asset_key, failed.check_name, failed.passed) == (
        CUSTOMERS,
        "no_negative",
        False,
    )


def test_a_check_removed_since_loading_is_a_warning_not_a_crash(
    defs: Definitions, sv: Services
) -> None:
    sql = sv.checks.show("customers", "no_negative").sql
    sv.checks.remove("customers", "no_negative")
    try:
        result = _materialize(defs, CUSTOMERS)
    finally:
        sv.checks.add("customers", "no_negative", sql)
    assert result.success
    [check] = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed, check.severity.value) == ("no_negative", False, "WARN")
    assert "no longer defined; reload the Dagster code location" in (check.description or "")


def test_a_terminated_dagster_run_cancels_the_pipekit_run(sv: Services, site: Path) -> None:
    """Dagster terminates a run by interrupting the step's thread: the Pipekit run is
    cancelled (rolled back, lock released), then the interruption goes on."""
    assert sv.runs.run("customers").status == "success"
    warehouse = site.parent / "dw.duckdb"
    before = duckdb_rows(warehouse, "main.customers")
    _set_balance(site, 1, 99.0)  # what the cancelled run would have loaded
    interrupted = threading.Event()

    def work(cancel: threading.Event) -> Any:
        def on_event(event: Any) -> None:
            if not interrupted.is_set():
                interrupted.set()
                _thread.interrupt_main()  # as Dagster's termination does to the step
                assert cancel.wait(timeout=60)

        return sv.runs.run("customers", cancel=cancel, on_event=on_event)

    try:
        with pytest.raises(KeyboardInterrupt):
            run_cancellable(work)
    finally:
        _set_balance(site, 1, 5.0)
    [run] = sv.runs.list(module="customers", limit=1)
    assert (run.status, run.error) == ("cancelled", "cancelled")
    assert not sv.modules.show("customers").running  # the lock is released
    assert duckdb_rows(warehouse, "main.customers") == before


def test_run_cancellable_answers_and_raises_what_the_work_does() -> None:
    assert run_cancellable(lambda cancel: cancel.is_set()) is False
    with pytest.raises(ValueError, match="boom"):
        run_cancellable(lambda cancel: (_ for _ in ()).throw(ValueError("boom")))


def test_a_hook_failing_after_the_commit_is_a_materialization_and_a_failure(
    defs: Definitions, sv: Services
) -> None:
    hook = sv.hooks.add("customers", "UPDATE main.no_such_table SET x = 1")
    try:
        result = _materialize(defs, CUSTOMERS)
    finally:
        sv.hooks.remove(hook.id)
    assert not result.success
    [event] = result.get_asset_materialization_events()  # the merge committed: data landed
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert (meta["pipekit/status"], meta["pipekit/committed"]) == ("error", True)
    assert "no_such_table" in _failure(result)
