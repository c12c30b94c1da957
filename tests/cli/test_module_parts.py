"""`pipekit watermarks | hooks | checks ...`: a module's parts, one by one, with history."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from pipekit.store import Store
from tests.helpers import Invoke, assert_clean_failure, tsv

QUERY = "SELECT id, updated_at FROM orders"
RESOLVER = "SELECT max(updated_at) FROM sync.orders"


def open_store(home: Path) -> Store:
    return Store.open(home / "pipekit.db")


def assert_refused(result: Result, *fragments: str) -> None:
    line = assert_clean_failure(result)
    text = result.output[result.output.index(line) :]
    for fragment in fragments:
        assert fragment in text, text


def snapshot(home: Path) -> Any:
    with open_store(home) as store:
        return {
            m.name: (
                asdict(m),
                [asdict(w) for w in store.watermarks.list(m.name)],
                [asdict(h) for h in store.hooks.list(m.name)],
                [asdict(c) for c in store.checks.list(m.name)],
                len(store.modules.history(m.name)),
            )
            for m in store.modules.list()
        }


@pytest.fixture
def orders(home: Path) -> Path:
    """Module `orders` (SQLite source, DuckDB destination), nothing else."""
    with open_store(home) as store:
        store.connections.add("src", f"sqlite:///{home}/src.db")
        store.connections.add("wh", f"duckdb:///{home}/wh.duckdb")
        store.modules.add(
            "orders",
            source="src",
            dest="wh",
            dest_table="sync.orders",
            source_query=QUERY,
            merge_strategy="incremental",
            merge_key="id",
        )
    return home


def latest_diff(home: Path) -> dict[str, Any]:
    with open_store(home) as store:
        return store.modules.history("orders")[0].diff


# -- watermarks -----------------------------------------------------------------


def test_watermark_lifecycle_with_the_query(cli: Invoke, orders: Path) -> None:
    added = cli(
        "watermarks", "add", "orders", "since", "--connection", "wh",
        "--resolver-sql", RESOLVER, "--default", "2020-01-01",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "✓ added watermark {since} to module 'orders' (resolved on wh)" in added.output
    # not used by the query yet: allowed (the next step), with a warning saying what to do
    assert "! watermark {since} is not used by the source query yet" in added.output
    assert "pipekit modules edit orders --query" in added.output
    assert latest_diff(orders) == {
        "watermarks.since": [
            None,
            {"connection": "wh", "resolver_sql": RESOLVER, "default_value": "2020-01-01"},
        ]
    }

    used = cli("modules", "edit", "orders", "--query", QUERY + " WHERE updated_at > {since}")
    assert used.exit_code == 0, used.output
    assert "!" not in used.output

    with open_store(orders) as store:
        store.watermarks.set_last_value("orders", "since", "2026-01-05 10:00:00.123456")
    listed = cli("watermarks", "list", "orders")
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.output.splitlines() if "{since}" in line)
    for cell in ("wh", RESOLVER, "2020-01-01", "2026-01-05 10:00:00.123456"):
        assert cell in row

    shown = cli("watermarks", "show", "orders", "since")
    assert shown.exit_code == 0, shown.output
    assert "placeholder:        {since}" in shown.output
    assert "last value:         2026-01-05 10:00:00.123456" in shown.output
    assert f"resolver SQL:\n  {RESOLVER}" in shown.output

    edited = cli("watermarks", "edit", "orders", "since", "--default", "", "--resolver-sql-file",
                 "-", input="SELECT max(ts) FROM sync.orders\n")  # fmt: skip
    assert edited.exit_code == 0, edited.output
    assert "default '2020-01-01' → -" in edited.output
    with open_store(orders) as store:
        w = store.watermarks.get("orders", "since")
    assert (w.default_value, w.resolver_sql) == (None, "SELECT max(ts) FROM sync.orders")
    assert w.last_value == "2026-01-05 10:00:00.123456"  # run state survives edits

    # still used by the query: removing or renaming it would break runs
    before = snapshot(orders)
    assert_refused(
        cli("watermarks", "rm", "orders", "since"),
        "placeholder {since} is not a declared watermark",
        "take {since} out of the query first with `pipekit modules edit orders --query ...`",
    )
    assert_refused(
        cli("watermarks", "edit", "orders", "since", "--rename", "from_ts"),
        "placeholder {since} is not a declared watermark",
    )
    assert snapshot(orders) == before

    unused = cli("modules", "edit", "orders", "--query", QUERY)
    assert unused.exit_code == 0, unused.output
    assert "! watermark {since} is not used by the source query yet" in unused.output
    removed = cli("watermarks", "rm", "orders", "since")
    assert removed.exit_code == 0, removed.output
    assert "✓ removed watermark {since} from module 'orders'" in removed.output
    assert "watermarks.since" in latest_diff(orders)
    assert "has no watermarks" in cli("watermarks", "list", "orders").output


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (
            ["add", "ordrs", "w", "-c", "wh", "--resolver-sql", "SELECT 1"],
            ["no module named 'ordrs'; did you mean 'orders'?"],
        ),
        (
            ["add", "orders", "w", "-c", "whh", "--resolver-sql", "SELECT 1"],
            ["watermark connection 'whh' does not exist; did you mean 'wh'?"],
        ),
        (["add", "orders", "w", "-c", "wh", "--resolver-sql", "  "], ["resolver SQL is empty"]),
        (["add", "orders", "w", "-c", "wh"], ["the resolver SQL is missing"]),
        (
            ["add", "orders", "w", "-c", "wh", "--resolver-sql", "x", "--resolver-sql-file", "-"],
            ["not both"],
        ),
        (
            ["add", "orders", "1st", "-c", "wh", "--resolver-sql", "SELECT 1"],
            ["invalid watermark name '1st'"],
        ),
        (
            ["add", "orders", "since", "-c", "wh", "--resolver-sql", "SELECT 1"],
            ["already has a watermark 'since'", "pipekit watermarks edit orders since"],
        ),
        (["edit", "orders", "sinc", "--default", "1"], ["no watermark named 'sinc'; did you mean"]),
        (["edit", "orders", "since"], ["nothing to change"]),
        (["edit", "orders", "since", "-c", "nope"], ["watermark connection 'nope' does not exist"]),
        (["edit", "orders", "since", "--resolver-sql", ""], ["resolver SQL is empty"]),
        (["edit", "orders", "since", "--rename", "until"], ["already has a watermark 'until'"]),
        (["show", "orders", "snce"], ["did you mean 'since'?"]),
        (["rm", "orders", "ghost"], ["module 'orders' has no watermark named 'ghost'"]),
        (["list", "ghost"], ["no module named 'ghost'"]),
    ],
)
def test_watermark_refusals_change_nothing(
    cli: Invoke, orders: Path, args: list[str], fragments: list[str]
) -> None:
    with open_store(orders) as store:
        store.watermarks.add("orders", "since", connection="wh", resolver_sql=RESOLVER)
        store.watermarks.add("orders", "until", connection="wh", resolver_sql=RESOLVER)
    before = snapshot(orders)
    assert_refused(cli("watermarks", *args), *fragments)
    assert snapshot(orders) == before


# -- hooks ------------------------------------------------------------------------


def hook_order(home: Path) -> list[tuple[str, str]]:
    with open_store(home) as store:
        return [(h.sql, h.run_on) for h in store.hooks.list("orders")]


def test_hooks_add_in_order_edit_move_rm(cli: Invoke, orders: Path, tmp_path: Path) -> None:
    first = cli("hooks", "add", "orders", "--sql", "ANALYZE sync.orders")
    assert first.exit_code == 0, first.output
    assert "(position 1, runs on success)" in first.output
    assert latest_diff(orders) == {
        "hooks": [[], [{"run_order": 0, "sql": "ANALYZE sync.orders", "run_on": "success"}]]
    }
    sql_file = tmp_path / "notify.sql"
    sql_file.write_text("INSERT INTO audit.log VALUES ('orders failed')\n")
    cli("hooks", "add", "orders", "--sql-file", str(sql_file), "--run-on", "failure")
    front = cli("hooks", "add", "orders", "--sql", "SELECT 1", "--run-on", "always", "-p", "1")
    assert front.exit_code == 0, front.output
    assert "(position 1, runs on always)" in front.output
    assert hook_order(orders) == [
        ("SELECT 1", "always"),
        ("ANALYZE sync.orders", "success"),
        ("INSERT INTO audit.log VALUES ('orders failed')", "failure"),
    ]

    with open_store(orders) as store:
        ids = [h.id for h in store.hooks.list("orders")]
    listed = cli("hooks", "list", "orders")
    assert listed.exit_code == 0, listed.output
    header, *rows = tsv(listed.output)
    assert header == ["#", "id", "runs on", "sql"]
    assert [r[0] for r in rows] == ["1", "2", "3"]
    assert [int(r[1]) for r in rows] == ids
    assert rows[0][2:] == ["always", "SELECT 1"]

    moved = cli("hooks", "edit", str(ids[0]), "--position", "3", "--run-on", "success")
    assert moved.exit_code == 0, moved.output
    assert "position 1 → 3; runs on always → success" in moved.output
    assert hook_order(orders)[2] == ("SELECT 1", "success")
    new_sql = cli("hooks", "edit", str(ids[0]), "--sql", "SELECT 2")
    assert "SQL changed" in new_sql.output

    shown = cli("hooks", "show", str(ids[0]))
    assert shown.exit_code == 0, shown.output
    assert "position:           3 of 3" in shown.output
    assert "sql:\n  SELECT 2" in shown.output

    removed = cli("hooks", "rm", str(ids[1]))
    assert removed.exit_code == 0, removed.output
    assert f"removed hook {ids[1]} from module 'orders'" in removed.output
    assert [sql for sql, _ in hook_order(orders)] == [
        "INSERT INTO audit.log VALUES ('orders failed')",
        "SELECT 2",
    ]
    assert "hooks" in latest_diff(orders)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["add", "ordrs", "--sql", "SELECT 1"], ["did you mean 'orders'?"]),
        (["add", "orders", "--sql", "   "], ["the hook SQL is empty"]),
        (["add", "orders"], ["the hook SQL is missing", "--sql-file -"]),
        (["add", "orders", "--sql", "x", "--sql-file", "x.sql"], ["not both"]),
        (["add", "orders", "--sql-file", "/nonexistent.sql"], ["cannot read hook SQL"]),
        (
            ["add", "orders", "--sql", "x", "--run-on", "sucess"],
            ["--run-on 'sucess' is not one of success, failure, always; did you mean 'success'?"],
        ),
        (
            ["add", "orders", "--sql", "x", "--position", "4"],
            ["--position 4 is out of range", "use 1 to 3"],
        ),
        (["add", "orders", "--sql", "x", "--position", "0"], ["out of range"]),
        (["edit", "{id}"], ["nothing to change"]),
        (["edit", "{id}", "--run-on", "never"], ["is not one of success, failure, always"]),
        (["edit", "{id}", "--sql", ""], ["the hook SQL is empty"]),
        (["edit", "{id}", "--position", "3"], ["use 1 to 2"]),
        (["edit", "999", "--sql", "x"], ["no hook with id 999", "pipekit hooks list MODULE"]),
        (["show", "999"], ["no hook with id 999"]),
        (["rm", "999"], ["no hook with id 999"]),
    ],
)
def test_hook_refusals_change_nothing(
    cli: Invoke, orders: Path, args: list[str], fragments: list[str]
) -> None:
    with open_store(orders) as store:
        hook = store.hooks.add("orders", "ANALYZE sync.orders")
        store.hooks.add("orders", "SELECT 1", run_on="always")
    before = snapshot(orders)
    args = [a.replace("{id}", str(hook.id)) for a in args]
    assert_refused(cli("hooks", *args), *fragments)
    assert snapshot(orders) == before


# -- checks -----------------------------------------------------------------------


def test_checks_add_list_show_edit_rm(cli: Invoke, orders: Path) -> None:
    dupes = "SELECT id FROM sync.orders GROUP BY id HAVING count(*) > 1"
    added = cli("checks", "add", "orders", "no_dupes", "--sql", dupes)
    assert added.exit_code == 0, added.output
    assert "✓ added check 'no_dupes' to module 'orders'" in added.output
    assert latest_diff(orders) == {"checks.no_dupes": [None, {"sql": dupes, "run_order": 0}]}
    stdin = cli("checks", "add", "orders", "has_rows", "--sql-file", "-",
                input="SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM sync.orders)\n")  # fmt: skip
    assert stdin.exit_code == 0, stdin.output

    listed = cli("checks", "list", "orders")
    header, *rows = tsv(listed.output)
    assert header == ["#", "name", "sql"]
    assert rows[0][1] == "no_dupes" and rows[0][2].split() == dupes.split()  # one line
    assert rows[1][1] == "has_rows"

    shown = cli("checks", "show", "orders", "has_rows")
    assert "position:           2 of 2" in shown.output
    assert "sql:\n  SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM sync.orders)" in shown.output

    renamed = cli("checks", "edit", "orders", "has_rows", "--rename", "not_empty", "--sql",
                  "SELECT 1 WHERE (SELECT count(*) FROM sync.orders) = 0")  # fmt: skip
    assert renamed.exit_code == 0, renamed.output
    assert (
        "updated check 'not_empty' of module 'orders' (renamed from 'has_rows'; SQL changed)"
        in (renamed.output)
    )
    diff = latest_diff(orders)
    assert diff["checks.has_rows"][1] is None and diff["checks.not_empty"][0] is None

    removed = cli("checks", "rm", "orders", "no_dupes")
    assert removed.exit_code == 0
    with open_store(orders) as store:
        assert [c.name for c in store.checks.list("orders")] == ["not_empty"]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["add", "ordrs", "c", "--sql", "SELECT 1"], ["did you mean 'orders'?"]),
        (["add", "orders", "c", "--sql", ""], ["the check SQL is empty"]),
        (["add", "orders", "c"], ["the check SQL is missing"]),
        (["add", "orders", "bad-name", "--sql", "SELECT 1"], ["invalid check name 'bad-name'"]),
        (
            ["add", "orders", "no_dupes", "--sql", "SELECT 1"],
            ["already has a check 'no_dupes'", "pipekit checks edit orders no_dupes"],
        ),
        (
            ["edit", "orders", "no_dupe", "--sql", "SELECT 1"],
            ["no check named 'no_dupe'; did you mean 'no_dupes'?"],
        ),
        (["edit", "orders", "no_dupes"], ["nothing to change"]),
        (["edit", "orders", "no_dupes", "--rename", "other"], ["already has a check 'other'"]),
        (["edit", "orders", "no_dupes", "--sql", " "], ["the check SQL is empty"]),
        (["show", "orders", "nope"], ["has no check named 'nope'"]),
        (["rm", "orders", "no_dupess"], ["did you mean 'no_dupes'?"]),
        (["list", "ordrs"], ["did you mean 'orders'?"]),
    ],
)
def test_check_refusals_change_nothing(
    cli: Invoke, orders: Path, args: list[str], fragments: list[str]
) -> None:
    with open_store(orders) as store:
        store.checks.add("orders", "no_dupes", sql="SELECT 1 WHERE false")
        store.checks.add("orders", "other", sql="SELECT 2 WHERE false")
    before = snapshot(orders)
    assert_refused(cli("checks", *args), *fragments)
    assert snapshot(orders) == before
