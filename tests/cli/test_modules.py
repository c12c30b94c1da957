"""`pipekit modules ...`: definitions checked by the shared validator, history, refusals.

The source connection `erp` points at a port where nothing listens: every
command here must work without connecting to it (validation is static).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from pipekit.store import Store
from tests.helpers import Invoke, assert_clean_failure, error_lines, tsv

QUERY = 'SELECT "DCORD#" AS dcord, RTRIM(dcname) AS name, updated_at FROM lgdat.qcrh'
BASE = ["--source", "erp", "--dest", "wh", "--dest-table", "sync.orders"]


def assert_refused(result: Result, *fragments: str) -> str:
    """A clean failure whose error (its line and the problem lines under it) has every fragment."""
    line = assert_clean_failure(result)
    text = result.output[result.output.index(line) :]
    for fragment in fragments:
        assert fragment in text, text
    return text


def open_store(home: Path) -> Store:
    return Store.open(home / "pipekit.db")


def snapshot(home: Path) -> Any:
    """Everything a refused command must leave exactly as it was."""
    with open_store(home) as store:
        modules = store.modules.list()
        return {
            m.name: (
                asdict(m),
                [asdict(w) for w in store.watermarks.list(m.name)],
                [asdict(h) for h in store.hooks.list(m.name)],
                [asdict(c) for c in store.checks.list(m.name)],
                len(store.modules.history(m.name)),
            )
            for m in modules
        }


@pytest.fixture
def conns(cli: Invoke, home: Path) -> Path:
    """erp (PostgreSQL, unreachable: nothing may connect), wh (DuckDB file)."""
    assert cli("connections", "add", "erp", "postgresql://127.0.0.1:1/erp").exit_code == 0
    assert cli("connections", "add", "wh", f"duckdb:///{home}/wh.duckdb").exit_code == 0
    return home


@pytest.fixture
def orders(cli: Invoke, conns: Path) -> Path:
    """An incremental module `orders` keyed on dcord."""
    result = cli(
        "modules", "add", "orders", *BASE, "--query", QUERY,
        "--strategy", "incremental", "--merge-key", "dcord",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return conns


def test_add_list_show(cli: Invoke, conns: Path) -> None:
    added = cli(
        "modules", "add", "orders", *BASE, "--query", QUERY, "--strategy", "incremental",
        "--merge-key", "dcord", "--watermark-column", "updated_at", "--watermark-op", ">=",
        "--lookback", "2 days", "--safety-lag", "5 minutes", "--key-sync",
        "--full-refresh-cron", "0 3 * * 0", "--audit-columns",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "✓ added module 'orders': erp → wh sync.orders (incremental, key dcord)" in added.output
    assert "pipekit run orders --dry-run" in added.output
    with open_store(conns) as store:
        m = store.modules.get("orders")
        assert (m.source, m.dest, m.dest_table, m.source_query) == (
            "erp",
            "wh",
            "sync.orders",
            QUERY,
        )
        assert (m.merge_strategy, m.merge_key, m.watermark_column, m.watermark_op) == (
            "incremental", "dcord", "updated_at", ">=",
        )  # fmt: skip
        assert (m.lookback, m.safety_lag, m.key_sync, m.full_refresh_cron) == (
            "2 days", "5 minutes", True, "0 3 * * 0",
        )  # fmt: skip
        assert m.audit_columns and m.enabled
        history = store.modules.history("orders")
        assert len(history) == 1 and history[0].changed_by == "cli"
        assert history[0].diff["merge_key"] == [None, "dcord"]
        run = store.runs.start("orders", triggered_by="cli", pid=1, host="h")
        store.runs.finish(run, "success", row_count=42)

    off = cli("modules", "add", "items", *BASE[:4], "--dest-table", "sync.items",
              "--query", "SELECT id FROM items", "--disabled")  # fmt: skip
    assert off.exit_code == 0, off.output
    assert "(full), disabled" in off.output

    listed = cli("modules", "list")
    assert listed.exit_code == 0, listed.output
    header, *lines = tsv(listed.output)
    assert header == [
        "name",
        "source → dest",
        "table",
        "strategy",
        "enabled",
        "running",
        "last run",
    ]
    rows = {line[0]: line for line in lines}
    assert rows["orders"][:6] == ["orders", "erp → wh", "sync.orders", "incremental", "yes", "no"]
    assert "success" in rows["orders"][6]
    assert rows["items"][3:] == ["full", "no", "no", "never"]

    shown = cli("modules", "show", "orders")
    assert shown.exit_code == 0, shown.output
    out = shown.output
    for expected in (
        "source → dest:      erp → wh",
        "dest table:         sync.orders",
        "strategy:           incremental",
        "merge key:          dcord",
        "watermark column:   updated_at (>=)",
        "lookback:           2 days",
        "safety lag:         5 minutes",
        "key sync:           yes",
        "full refresh cron:  0 3 * * 0",
        "audit columns:      _pipekit_loaded_at, _pipekit_run_id",
        "source query:\n  " + QUERY,
        "watermarks: none",
        "hooks: none",
        "checks: none",
    ):
        assert expected in out, expected
    last = next(row for row in tsv(out) if "success" in row)
    assert last[0].isdigit() and last[3:5] == ["success", "42"]
    assert "history" not in out


def test_add_reads_the_query_from_a_file_or_stdin(cli: Invoke, conns: Path, tmp_path: Path) -> None:
    path = tmp_path / "orders.sql"
    path.write_text(f"-- the orders\n{QUERY}\n")
    from_file = cli("modules", "add", "a", *BASE, "--query-file", str(path))
    assert from_file.exit_code == 0, from_file.output
    from_stdin = cli("modules", "add", "b", *BASE, "--query-file", "-", input=QUERY + "\n")
    assert from_stdin.exit_code == 0, from_stdin.output
    with open_store(conns) as store:
        assert store.modules.get("a").source_query == f"-- the orders\n{QUERY}"
        assert store.modules.get("b").source_query == QUERY


def test_add_with_named_watermarks(cli: Invoke, conns: Path) -> None:
    query = QUERY + " WHERE updated_at > {since} AND dcord > {min_id}"
    result = cli(
        "modules", "add", "orders", *BASE, "--query", query, "--strategy", "append",
        "--watermark", "since:wh=SELECT max(updated_at) FROM sync.orders",
        "--watermark", "min_id:erp=SELECT 0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "watermark {since} resolved on wh" in result.output
    with open_store(conns) as store:
        marks = {w.name: (w.connection, w.resolver_sql) for w in store.watermarks.list("orders")}
    assert marks == {
        "since": ("wh", "SELECT max(updated_at) FROM sync.orders"),
        "min_id": ("erp", "SELECT 0"),
    }


def test_edit_changes_only_what_is_given_and_records_history(cli: Invoke, orders: Path) -> None:
    result = cli(
        "modules", "edit", "orders", "--merge-key", "dcord, name",
        "--watermark-column", "updated_at", "--lookback", "1 day",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        "✓ updated module 'orders': merge_key 'dcord' → 'dcord, name'; "
        "watermark_column - → 'updated_at'; lookback - → '1 day'"
    ) in result.output
    with open_store(orders) as store:
        m = store.modules.get("orders")
        assert (m.merge_key, m.watermark_column, m.lookback) == (
            "dcord, name",
            "updated_at",
            "1 day",
        )
        assert (m.merge_strategy, m.source_query, m.dest_table) == (
            "incremental", QUERY, "sync.orders",
        )  # fmt: skip
        latest = store.modules.history("orders")[0]
    assert latest.changed_by == "cli"
    assert latest.diff == {
        "merge_key": ["dcord", "dcord, name"],
        "watermark_column": [None, "updated_at"],
        "lookback": [None, "1 day"],
    }

    cleared = cli("modules", "edit", "orders", "--lookback", "")
    assert "lookback '1 day' → -" in cleared.output
    renamed = cli("modules", "edit", "orders", "--rename", "orders_v2", "--query-file", "-",
                  input=QUERY + " WHERE dcord > 0")  # fmt: skip
    assert renamed.exit_code == 0, renamed.output
    assert "updated module 'orders_v2': name 'orders' → 'orders_v2'; source_query changed" in (
        renamed.output
    )
    same = cli("modules", "edit", "orders_v2", "--strategy", "incremental")
    assert same.exit_code == 0
    assert "nothing changed" in same.output
    with open_store(orders) as store:
        m = store.modules.get("orders_v2")
        assert m.lookback is None and m.source_query.endswith("WHERE dcord > 0")
        assert len(store.modules.history("orders_v2")) == 4  # add + 3 edits; no-op records nothing


def test_enable_disable_and_history(cli: Invoke, orders: Path) -> None:
    off = cli("modules", "disable", "orders")
    assert off.exit_code == 0 and "✓ disabled module 'orders'" in off.output
    again = cli("modules", "disable", "orders")
    assert again.exit_code == 0 and "was already disabled" in again.output
    on = cli("modules", "enable", "orders")
    assert "✓ enabled module 'orders'" in on.output
    with open_store(orders) as store:
        diffs = [h.diff for h in store.modules.history("orders")]
    assert diffs[:2] == [{"enabled": [False, True]}, {"enabled": [True, False]}]

    shown = cli("modules", "show", "orders", "--history")
    assert shown.exit_code == 0, shown.output
    text = shown.output
    assert "history (3 change(s), newest first):" in text
    assert text.index("enabled: no → yes") < text.index("enabled: yes → no")
    assert "merge_key: - → 'dcord'" in text and "by cli" in text


def test_show_json(cli: Invoke, orders: Path) -> None:
    """--json prints the API's objects: the module (as GET /api/modules/{id}), its parts
    and its history each from their own command."""
    with open_store(orders) as store:
        store.watermarks.add("orders", "since", connection="wh", resolver_sql="SELECT 1")
        store.hooks.add("orders", "ANALYZE sync.orders")
        store.checks.add("orders", "no_dupes", sql="SELECT 1 WHERE false")
        store.groups.add("nightly", members=["orders"])
        mid = store.modules.get("orders").id
    result = cli("modules", "show", "orders", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["id"] == mid and doc["name"] == "orders" and doc["merge_key"] == "dcord"
    assert doc["source"] == "erp" and doc["source_query"] == QUERY and doc["enabled"] is True
    assert "warnings" not in doc and "locked_pid" not in doc
    assert doc["created_at"].endswith("Z")
    assert json.loads(cli("modules", "show", str(mid), "--json").output) == doc

    marks = json.loads(cli("watermarks", "list", "orders", "--json").output)
    assert [w["name"] for w in marks] == ["since"]
    hooks = json.loads(cli("hooks", "list", "orders", "--json").output)
    assert hooks[0]["sql"] == "ANALYZE sync.orders"
    checks = json.loads(cli("checks", "list", "orders", "--json").output)
    assert checks[0]["name"] == "no_dupes"
    history = json.loads(cli("modules", "history", "orders", "--json").output)
    assert history[-1]["diff"]["name"] == [None, "orders"]
    assert len(json.loads(cli("modules", "history", "orders", "-n", "1", "--json").output)) == 1

    text = cli("modules", "show", "orders").output
    assert "groups:             nightly" in text
    assert "{since}" in text and "ANALYZE sync.orders" in text and "no_dupes" in text


def test_rm_asks_and_refuses_while_running(cli: Invoke, orders: Path) -> None:
    with open_store(orders) as store:
        store.groups.add("nightly", members=["orders"])
        run = store.runs.start("orders", triggered_by="cli", pid=os.getpid(), host="here")
        assert store.runs.try_lock("orders", run, os.getpid(), "here")
    before = snapshot(orders)
    assert_clean_failure(cli("modules", "rm", "orders", "--yes"), "module 'orders' is running")
    assert snapshot(orders) == before

    with open_store(orders) as store:
        store.runs.unlock("orders", run)
        store.runs.finish(run, "success")
    before = snapshot(orders)
    declined = cli("modules", "rm", "orders", input="n\n")
    assert_clean_failure(declined, "module 'orders' was not removed", "--yes")
    assert "Remove module 'orders' with its 0 watermark(s), 0 hook(s), 0 check(s)" in (
        declined.output
    )
    assert_clean_failure(cli("modules", "rm", "orders"), "was not removed")  # no answer
    assert snapshot(orders) == before

    removed = cli("modules", "rm", "orders", input="y\n")
    assert removed.exit_code == 0, removed.output
    assert "✓ removed module 'orders'" in removed.output
    assert "taken out of group(s): nightly" in removed.output
    with open_store(orders) as store:
        assert store.modules.list() == []
        assert store.groups.get("nightly").members == ()
        assert store.runs.list(module="orders")[0].id == run  # the run log stays


def with_options(*extra: str) -> list[str]:
    """BASE with the values of its options replaced by `extra`'s; other tokens appended."""
    given = dict(zip(BASE[::2], BASE[1::2], strict=True))
    rest: list[str] = []
    tokens = iter(extra)
    for token in tokens:
        if token in given:
            given[token] = next(tokens)
        else:
            rest.append(token)
    return [part for kv in given.items() for part in kv] + rest


ADD_REFUSALS = [
    (
        ["--source", "erpp"],
        ["source (--source): source connection 'erpp' does not exist", "did you mean 'erp'?"],
    ),
    (["--dest", "whh"], ["dest (--dest): destination connection 'whh'", "did you mean 'wh'?"]),
    (["--strategy", "fulll"], ["'fulll' is not a merge strategy; did you mean 'full'?"]),
    (["--strategy", "incremental"], ["merge_key (--merge-key): is required for merge_strategy"]),
    (
        ["--strategy", "upsert", "--merge-key", "dcordd"],
        ["'dcordd' is not a destination column of the source query; did you mean 'dcord'?"],
    ),
    (["--strategy", "append", "--watermark-column", "updated"], ["'updated' is not a destination"]),
    (["--watermark-op", "<"], ["'<' is not '>' or '>='"]),
    (
        ["--strategy", "upsert", "--merge-key", "dcord", "--full-refresh-cron", "0 25 * * *"],
        ["'0 25 * * *': the hour field 25 is out of range 0-23"],
    ),
    (
        ["--strategy", "append", "--watermark-column", "updated_at", "--lookback", "two days"],
        ["lookback (--lookback):"],
    ),
    (["--key-sync"], ["key_sync (--key-sync): needs merge_strategy incremental or upsert"]),
    (["--dest-table", "sync orders"], ["dest_table (--dest-table): 'sync orders' is not a table"]),
    (["--watermark", "since=SELECT 1"], ["--watermark 'since=SELECT 1' is not NAME:CONNECTION="]),
    (
        ["--watermark", "since:whh=SELECT 1"],
        ["watermark connection 'whh' does not exist; did you mean 'wh'?"],
    ),
]


@pytest.mark.parametrize(("extra", "fragments"), ADD_REFUSALS)
def test_add_refuses_bad_definitions(
    cli: Invoke, orders: Path, extra: list[str], fragments: list[str]
) -> None:
    args = with_options(*extra)
    before = snapshot(orders)
    result = cli("modules", "add", "new", *args, "--query", QUERY)
    assert_refused(result, *fragments)
    assert snapshot(orders) == before


def test_add_lists_every_problem_at_once(cli: Invoke, conns: Path) -> None:
    result = cli("modules", "add", "new", "--strategy", "upsert", "--source", "erp")
    line = assert_clean_failure(result, "module 'new' has 4 problems; nothing was changed:")
    problems = result.output.split(line, 1)[1].strip().splitlines()
    assert [p.split(":")[0].strip() for p in problems] == [
        "dest (--dest)",
        "dest_table (--dest-table)",
        "source_query (--query)",
        "merge_key (--merge-key)",
    ]
    assert snapshot(conns) == {}


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["orders", *BASE, "--query", QUERY], ["a module named 'orders' already exists"]),
        (["bad name", *BASE, "--query", QUERY], ["invalid module name 'bad name'"]),
        (["new", *BASE, "--query", "  "], ["the source query is empty"]),
        (["new", *BASE, "--query", QUERY, "--query-file", "-"], ["not both"]),
        (["new", *BASE, "--query-file", "/nonexistent/q.sql"], ["cannot read source query"]),
        (["new", *BASE, "--query", "SELEC dcord FROM"], ["does not parse as postgres SQL"]),
        (
            ["new", *BASE, "--query", QUERY + " WHERE updated_at > {since}"],
            ["placeholder {since} is not a declared watermark"],
        ),
        (
            [
                "new",
                *BASE,
                "--query",
                QUERY + " WHERE updated_at > '{since}'",
                "--watermark",
                "since:wh=SELECT 1",
            ],
            ["without quotes"],
        ),
    ],
)
def test_add_refuses_bad_input(
    cli: Invoke, orders: Path, args: list[str], fragments: list[str]
) -> None:
    before = snapshot(orders)
    assert_refused(cli("modules", "add", *args), *fragments)
    assert snapshot(orders) == before


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["ordrs", "--lookback", "1 day"], ["no module named 'ordrs'; did you mean 'orders'?"]),
        (["orders"], ["nothing to change"]),
        (["orders", "--strategy", "sideways"], ["'sideways' is not a merge strategy"]),
        (["orders", "--merge-key", ""], ["merge_key (--merge-key): is required for"]),
        (["orders", "--merge-key", "nope"], ["'nope' is not a destination column"]),
        (["orders", "--source", "erpp"], ["did you mean 'erp'?"]),
        (["orders", "--full-refresh-cron", "61 * * * *"], ["the minute field 61 is out of range"]),
        (["orders", "--dest-table", ""], ["--dest-table cannot be cleared"]),
        (["orders", "--strategy", ""], ["--strategy cannot be cleared"]),
        (["orders", "--rename", "items"], ["a module named 'items' already exists"]),
        (["orders", "--rename", "a/b"], ["invalid module name 'a/b'"]),
        (["orders", "--query", "SELECT x FROM t"], ["'dcord' is not a destination column"]),
        # cleared, a module still needs a query or a connector table
        (["orders", "--query", ""], ["is required: the SELECT that reads the source, or instead"]),
    ],
)
def test_edit_refuses_bad_input(
    cli: Invoke, orders: Path, args: list[str], fragments: list[str]
) -> None:
    assert cli("modules", "add", "items", *BASE, "--query", "SELECT 1 AS id").exit_code == 0
    before = snapshot(orders)
    assert_refused(cli("modules", "edit", *args), *fragments)
    assert snapshot(orders) == before


def test_audit_column_names_are_set_shown_and_checked(cli: Invoke, orders: Path) -> None:
    edited = cli(
        "modules", "edit", "orders", "--audit-columns", "--audit-loaded-at-column",
        "dss_load_date", "--audit-source-column", "dss_record_source",
    )  # fmt: skip
    assert edited.exit_code == 0, edited.output
    shown = cli("modules", "show", "orders")
    assert "audit columns:      dss_load_date, _pipekit_run_id, dss_record_source" in shown.output
    before = snapshot(orders)
    refused = cli("modules", "edit", "orders", "--audit-run-id-column", "run id")
    assert_refused(refused, "audit_run_id_column", "'run id' is not a column name")
    refused = cli("modules", "edit", "orders", "--audit-source-column", "dcord")
    assert_refused(refused, "audit_source_column", "dcord is also a column of the source query")
    assert snapshot(orders) == before
    # "" clears a name: back to the default
    assert cli("modules", "edit", "orders", "--audit-loaded-at-column", "").exit_code == 0
    with open_store(orders) as store:
        assert store.modules.get("orders").audit_loaded_at_column is None


@pytest.mark.parametrize("command", ["show", "rm", "enable", "disable"])
def test_unknown_module_suggests(cli: Invoke, orders: Path, command: str) -> None:
    before = snapshot(orders)
    assert_clean_failure(
        cli("modules", command, "order", *(["--yes"] if command == "rm" else [])),
        "no module named 'order'; did you mean 'orders'?",
        "known: orders",
    )
    assert snapshot(orders) == before


def test_list_when_empty(cli: Invoke, home: Path) -> None:
    result = cli("modules", "list")
    assert result.exit_code == 0
    assert "no modules yet" in result.output
    assert error_lines(result.output) == []
