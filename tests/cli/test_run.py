"""`pipekit run`, `run-group`, `runs list|show|cancel`: exit codes, summaries, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipekit.store import Store
from tests.helpers import Invoke, assert_clean_failure, tsv


@pytest.fixture
def shop(home: Path, tmp_path: Path) -> Path:
    """A SQLite source with 30 orders, a DuckDB warehouse, module `orders`, group `g`."""
    src = tmp_path / "src.db"
    with sqlite3.connect(src) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL, ts TEXT)")
        conn.executemany(
            "INSERT INTO orders VALUES (?, ?, ?)",
            [(i, i * 1.5, f"2024-01-01 00:00:{i:02d}") for i in range(1, 31)],
        )
    with Store.open(home / "pipekit.db") as store:
        store.connections.add("src", f"sqlite:///{src}")
        store.connections.add("dw", f"duckdb:///{tmp_path / 'dw.duckdb'}?create=true")
        store.modules.add(
            "orders",
            source="src",
            dest="dw",
            dest_table="sales.orders",
            source_query="SELECT id, amount, ts FROM orders",
            merge_strategy="incremental",
            merge_key="id",
            watermark_column="ts",
        )
        store.groups.add("g", members=["orders"])
    return tmp_path


def dest_count(tmp: Path) -> int:
    with duckdb.connect(str(tmp / "dw.duckdb")) as conn:
        return conn.execute("SELECT COUNT(*) FROM sales.orders").fetchone()[0]


def test_run_prints_a_summary_and_exits_0(cli: Invoke, shop: Path) -> None:
    result = cli("run", "orders")
    assert result.exit_code == 0, result.output
    assert "success" in result.output and "incremental" in result.output
    assert " 30 " in result.output  # rows read
    assert dest_count(shop) == 30


def test_dry_run_exits_0_and_moves_nothing(cli: Invoke, shop: Path) -> None:
    result = cli("run", "orders", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry_run" in result.output
    with duckdb.connect(str(shop / "dw.duckdb")) as conn:
        assert conn.execute(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'orders'"
        ).fetchone() == (0,)


def test_failed_run_exits_1_with_the_error(cli: Invoke, shop: Path, home: Path) -> None:
    with Store.open(home / "pipekit.db") as store:
        store.modules.update("orders", source_query="SELECT id, amount, ts FROM no_such_table")
    result = cli("run", "orders")
    assert result.exit_code == 1, result.output
    assert "no_such_table" in result.output
    listed = cli("runs", "list", "--status", "error")
    assert listed.exit_code == 0 and "orders" in listed.output


def test_a_hook_failing_after_the_commit_exits_3_and_the_data_stays(
    cli: Invoke, shop: Path, home: Path
) -> None:
    with Store.open(home / "pipekit.db") as store:
        store.hooks.add("orders", "SELECT * FROM no_such_hook_table")
    result = cli("run", "orders")
    assert result.exit_code == 3, result.output
    assert "no_such_hook_table" in result.output
    assert dest_count(shop) == 30  # the merge committed before the hook failed
    run = json.loads(cli("runs", "list", "--json").stdout)[0]
    assert run["status"] == "error" and run["committed"] is True
    followed = cli("runs", "show", str(run["id"]), "--follow")
    assert followed.exit_code == 3, followed.output
    assert cli("runs", "show", str(run["id"])).exit_code == 0  # only a read


def test_exit_codes_through_the_real_pipekit_process(shop: Path, home: Path) -> None:
    """What a scheduler sees: 3 from `run` and `run-group` when the data landed and a
    hook failed, and 0 from a plain `runs show`."""
    with Store.open(home / "pipekit.db") as store:
        store.hooks.add("orders", "SELECT * FROM no_such_hook_table")
    exe = str(Path(sys.executable).with_name("pipekit"))
    ran = subprocess.run([exe, "run", "orders"], capture_output=True, text=True)
    assert ran.returncode == 3, ran.stdout + ran.stderr
    assert "no_such_hook_table" in ran.stderr
    group = subprocess.run([exe, "run-group", "g"], capture_output=True, text=True)
    assert group.returncode == 3, group.stdout + group.stderr
    shown = subprocess.run([exe, "runs", "show", "1"], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr


def test_run_group_exits_with_its_worst_members_code(cli: Invoke, shop: Path, home: Path) -> None:
    with Store.open(home / "pipekit.db") as store:
        store.hooks.add("orders", "SELECT * FROM no_such_hook_table")
        store.modules.add(
            "broken",
            source="src",
            dest="dw",
            dest_table="sales.broken",
            source_query="SELECT id FROM no_such_table",
            merge_strategy="full",
        )
        store.groups.add("hook_only", members=["orders"])
        store.groups.add("both", members=["orders", "broken"])
    assert cli("run-group", "hook_only").exit_code == 3
    both = cli("run-group", "both", "--json")
    assert both.exit_code == 1, both.output  # an error before any commit beats 3
    runs = json.loads(both.stdout)["runs"]
    assert [(r["module_name"], r["committed"]) for r in runs] == [
        ("orders", True),
        ("broken", False),
    ]


def test_unknown_module_is_one_error_line(cli: Invoke, shop: Path) -> None:
    assert_clean_failure(cli("run", "ordrs"), "ordrs", "orders")


def test_run_group_and_runs_show(cli: Invoke, shop: Path) -> None:
    result = cli("run-group", "g")
    assert result.exit_code == 0, result.output
    assert "group g" in result.output and "success" in result.output
    listed = cli("runs", "list", "--module", "orders")
    assert listed.exit_code == 0
    run_id = tsv(listed.output)[1][0]
    shown = cli("runs", "show", run_id, "--sql")
    assert shown.exit_code == 0, shown.output
    assert "-- source SQL" in shown.output and "-- merge SQL" in shown.output
    # a first load swaps the loaded table into place
    assert 'ALTER TABLE "sales"."pipekit_staging__orders" RENAME TO "orders"' in shown.output
    as_json = cli("runs", "show", run_id, "--json")
    record = json.loads(as_json.output)
    assert record["status"] == "success" and record["rows_read"] == 30


def test_second_incremental_run_reads_only_new_rows(cli: Invoke, shop: Path) -> None:
    assert cli("run", "orders").exit_code == 0
    with sqlite3.connect(shop / "src.db") as conn:
        conn.execute("INSERT INTO orders VALUES (99, 1.0, '2024-01-02 00:00:00')")
    result = cli("run", "orders")
    assert result.exit_code == 0
    with Store.open(shop / "pipekit" / "pipekit.db") as store:
        assert store.runs.list(module="orders", limit=1)[0].rows_read == 1
    assert dest_count(shop) == 31


def test_runs_list_rejects_an_unknown_status(cli: Invoke, shop: Path) -> None:
    result = cli("runs", "list", "--status", "done")
    assert result.exit_code == 2
    assert "not a run status" in result.output


def test_cancel_of_a_finished_run_is_refused(cli: Invoke, shop: Path) -> None:
    assert cli("run", "orders").exit_code == 0
    assert_clean_failure(cli("runs", "cancel", "1"), "not running")
    assert_clean_failure(cli("runs", "show", "999"), "no run with id 999")


def test_ctrl_c_cancels_rolls_back_and_exits_130(pg_url: str, home: Path, tmp_path: Path) -> None:
    """A real `pipekit run` process gets SIGINT while it streams a slow source."""
    with Store.open(home / "pipekit.db") as store:
        store.connections.add("pg", pg_url)
        store.connections.add("dw", f"duckdb:///{tmp_path / 'dw.duckdb'}?create=true")
        store.modules.add(
            "slow",
            source="pg",
            dest="dw",
            dest_table="slow",
            # about 20 s of source work: the run is cancelled long before it ends
            source_query="SELECT g AS id FROM generate_series(1, 4000) g "
            "WHERE pg_sleep(0.005) IS NOT NULL",
            merge_strategy="full",
        )
    env = {**os.environ, "PIPEKIT_CONFIG": str(home / "pipekit.yaml")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipekit", "run", "slow"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    with Store.open(home / "pipekit.db") as store:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            runs = store.runs.list(module="slow")
            if runs and "reading pg" in (runs[0].live_log or ""):
                break
            time.sleep(0.1)
        else:
            proc.kill()
            pytest.fail("the run never started reading")
        time.sleep(0.5)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
        assert time.monotonic() - started < 15, "cancel took too long"
        assert proc.returncode == 130, output
        run = store.runs.list(module="slow")[0]
        assert run.status == "cancelled" and run.error == "cancelled"
        assert store.runs.lock_holder("slow") is None
    with duckdb.connect(str(tmp_path / "dw.duckdb")) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
        ).fetchall()
    assert ("main", "slow") not in tables  # the destination was never created
