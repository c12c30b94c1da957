"""`pipekit quickstart DIR`: builds the demo, syncs it twice, refuses to overwrite it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipekit.services import quickstart as qs
from pipekit.store import Store
from tests.helpers import Invoke, assert_clean_failure, tsv


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*")}


def _runs(directory: Path) -> list[tuple[str, str, int | None]]:
    from pipekit.config import load_config

    with Store.open(load_config(directory / "pipekit.yaml")) as store:
        return [(r.module_name, r.status, r.rows_read) for r in reversed(store.runs.list())]


def test_quickstart_builds_syncs_and_explains(cli: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "demo"
    result = cli("quickstart", str(target))
    assert result.exit_code == 0, result.output
    out = result.output
    # the results table, twice
    header = "module\tstatus\tstrategy\tread\tinserted\treplaced\tdeleted\tcleared\ttotal\ttime"
    assert out.count(header) == 2, out
    # run 2: every order read is inserted; all but the 20 new ones replace their old
    # version (50 updated + those the lookback re-read: how many depends on the clock)
    read, inserted, replaced, deleted, cleared, total = [
        row for row in tsv(out) if row[0] == "orders"
    ][-1][3:9]
    assert read == inserted and int(replaced) == int(read) - 20 >= 50
    assert (deleted, cleared, total) == ("5", "0", "20,015")
    assert "Run 1: the first sync reads every row" in out
    assert "Run 2: incremental" in out
    assert "20,000" in out and "20,015" in out
    # what the second run proved
    assert "✓ customers read 10 row(s)" in out
    assert "✓ key_sync deleted the 5 orders deleted in the source" in out
    for table, rows in (("products", "12"), ("customers", "1,000"), ("orders", "20,015")):
        assert f"✓ shop.{table}: {rows} rows, source {table}: {rows} (every row identical)" in out
    assert "✗" not in out
    # next steps name the config and the commands to look around
    config = f"{target}/pipekit.yaml"
    assert f"pipekit --config {config} runs list" in out
    assert f"pipekit --config {config} runs show 6 --sql" in out
    assert f"duckdb {target}/warehouse.duckdb" in out
    assert f"pipekit --config {config} serve" in out
    assert f"pipekit --config {config} set-password admin" in out
    assert f"pipekit --config {config} tui" in out
    assert "console at http://127.0.0.1:" in out and "comes later" not in out

    runs = _runs(target)
    assert [(m, s) for m, s, _ in runs] == [
        (m, "success") for m in ("products", "customers", "orders") * 2
    ]
    assert [n for _, _, n in runs][:3] == [12, 1_000, 20_000]
    assert runs[4][2] == 10  # customers, second run: the 10 updated ones
    assert (target / "warehouse.duckdb").is_file()


def test_running_again_is_refused_and_changes_nothing_then_force_recreates(
    cli: Invoke, tmp_path: Path
) -> None:
    target = tmp_path / "demo"
    assert cli("quickstart", str(target)).exit_code == 0
    before = _snapshot(target)

    refused = cli("quickstart", str(target))
    line = assert_clean_failure(
        refused, str(target), "already holds a quickstart", "remove it or pick another folder"
    )
    assert "--force" in line
    # it says what --force would delete, before anyone types it
    assert "deletes pipekit.yaml, pipekit.db, source.db, warehouse.duckdb" in line
    assert "every connection, module and run" in line and "secrets.env" in line
    assert "Built" not in refused.output
    assert _snapshot(target) == before

    forced = cli("quickstart", str(target), "--force")
    assert forced.exit_code == 0, forced.output
    assert "every row identical" in forced.output
    assert len(_runs(target)) == 6  # a fresh state database, not the old runs plus new ones


def test_a_failed_run_exits_non_zero(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A check that always finds rows: the orders merge rolls back and its run fails.
    modules = tuple(
        {**m, "checks": (("always_fails", "SELECT id FROM shop.orders"),)}
        if m["name"] == "orders"
        else m
        for m in qs.MODULES
    )
    monkeypatch.setattr(qs, "MODULES", modules)
    result = cli("quickstart", str(tmp_path / "demo"))
    assert result.exit_code == 1, result.output
    assert "check 'always_fails' failed" in result.output
    assert "Run 2" not in result.output  # no point changing the source after a failure
    assert "error: group run 1 of 'shop' ended error" in result.output
