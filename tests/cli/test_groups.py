"""`pipekit groups ...`: members in order, did-you-mean errors, and failures that change nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipekit.store import Store
from tests.helpers import Invoke, assert_clean_failure, tsv


def open_store(home: Path) -> Store:
    return Store.open(home / "pipekit.db")


def snapshot(home: Path) -> Any:
    """Everything a failed groups command must leave as it was."""
    with open_store(home) as store:
        return (
            [(g.name, g.description, g.members) for g in store.groups.list()],
            [(s.id, s.group, s.cron_expr, s.enabled) for s in store.schedules.list()],
            [(m.name, m.enabled) for m in store.modules.list()],
        )


@pytest.fixture
def modules(home: Path) -> Path:
    """Two connections and three modules: orders, customers, items."""
    with open_store(home) as store:
        store.connections.add("src", f"sqlite:///{home}/src.db")
        store.connections.add("wh", f"duckdb:///{home}/wh.duckdb")
        for name in ("orders", "customers", "items"):
            store.modules.add(
                name,
                source="src",
                dest="wh",
                dest_table=f"sync.{name}",
                source_query=f"SELECT * FROM {name}",
            )
    return home


def members(home: Path, group: str) -> tuple[str, ...]:
    with open_store(home) as store:
        return store.groups.get(group).members


def test_add_with_members_list_show_rm(cli: Invoke, modules: Path) -> None:
    added = cli("groups", "add", "nightly", "orders", "customers", "-d", "Every night")
    assert added.exit_code == 0, added.output
    assert "✓ added group 'nightly': orders → customers" in added.output
    assert "pipekit schedules add nightly" in added.output
    assert cli("groups", "add", "empty").exit_code == 0
    assert members(modules, "nightly") == ("orders", "customers")

    with open_store(modules) as store:
        store.modules.set_enabled("customers", False)
        sid = store.schedules.add("nightly", "0 2 * * *").id
        store.schedules.add("nightly", "30 5 * * 1", enabled=False)
        run = store.runs.start_group("nightly", triggered_by="schedule")
        store.runs.finish_group(run, "error", error="customers failed")

    listed = cli("groups", "list")
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.output.splitlines() if "nightly" in line)
    assert "orders → customers" in row
    assert "0 2 * * *, 30 5 * * 1 (off)" in row
    assert "error" in row and "Every night" in row
    empty = next(line for line in listed.output.splitlines() if "empty" in line)
    assert "(no modules)" in empty and "never" in empty

    shown = cli("groups", "show", "nightly")
    assert shown.exit_code == 0, shown.output
    out = shown.output
    assert "description:        Every night" in out
    lines = out.splitlines()
    assert "members" in lines and "schedules" in lines  # the tables' titles
    listed_members = [row for row in tsv(out) if row[1] in ("orders", "customers")]
    assert [(r[0], r[1], r[2]) for r in listed_members] == [
        ("1", "orders", "yes"),
        ("2", "customers", "no"),
    ]
    schedule = next(row for row in tsv(out) if row[1] == "0 2 * * *")
    assert schedule[:3] == [str(sid), "0 2 * * *", "yes"] and "- (disabled)" in out
    assert "customers failed" in out and "schedule" in out

    removed = cli("groups", "rm", "nightly")
    assert removed.exit_code == 0, removed.output
    assert "removed group 'nightly' and its 2 schedule(s)" in removed.output
    with open_store(modules) as store:
        assert [g.name for g in store.groups.list()] == ["empty"]
        assert store.schedules.list() == []
        assert len(store.modules.list()) == 3  # modules stay
        assert store.runs.list_group("nightly")[0].error == "customers failed"


def test_edit_rename_and_description(cli: Invoke, modules: Path) -> None:
    cli("groups", "add", "nightly", "orders", "-d", "old")
    result = cli("groups", "edit", "nightly", "--rename", "daily", "--description", "new")
    assert result.exit_code == 0, result.output
    assert "updated group 'daily' (renamed from 'nightly'; description: new)" in result.output
    cleared = cli("groups", "edit", "daily", "--description", "")
    assert "description: (none)" in cleared.output
    with open_store(modules) as store:
        group = store.groups.get("daily")
    assert (group.description, group.members) == (None, ("orders",))


def test_members_sets_exact_order_and_prints(cli: Invoke, modules: Path) -> None:
    cli("groups", "add", "g", "orders", "customers")
    result = cli("groups", "members", "g", "items", "orders")
    assert result.exit_code == 0, result.output
    assert "group 'g': items → orders" in result.output
    assert members(modules, "g") == ("items", "orders")
    again = cli("groups", "members", "g", "items", "orders")
    assert "already has these modules" in again.output
    shown = cli("groups", "members", "g")
    assert shown.output.splitlines() == ["1. items", "2. orders"]


def test_add_member_positions_and_move(cli: Invoke, modules: Path) -> None:
    cli("groups", "add", "g", "orders")
    last = cli("groups", "add-member", "g", "customers")
    assert "added 'customers' in group 'g' at position 2: orders → customers" in last.output
    first = cli("groups", "add-member", "g", "items", "--position", "1")
    assert first.exit_code == 0, first.output
    assert members(modules, "g") == ("items", "orders", "customers")
    moved = cli("groups", "add-member", "g", "items", "--position", "3")
    assert "moved 'items' in group 'g' at position 3" in moved.output
    assert members(modules, "g") == ("orders", "customers", "items")

    out = cli("groups", "remove-member", "g", "orders")
    assert out.exit_code == 0, out.output
    assert "removed 'orders' from group 'g': customers → items" in out.output
    with open_store(modules) as store:
        assert store.modules.get("orders").name == "orders"  # the module itself stays


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["add", "nightly"], ["a group named 'nightly' already exists"]),
        (["add", "bad name"], ["invalid group name 'bad name'"]),
        (["add", "g2", "ordrs"], ["no module named 'ordrs'; did you mean 'orders'?"]),
        (
            ["add", "g2", "ordrs", "custmers"],
            ["no modules named 'ordrs' (did you mean 'orders'?), 'custmers' (did you mean"],
        ),
        (["add", "g2", "orders", "orders"], ["listed more than once"]),
        (["edit", "nigthly", "--rename", "x"], ["no group named 'nigthly'; did you mean"]),
        (["edit", "nightly"], ["nothing to change"]),
        (["edit", "nightly", "--rename", "other"], ["a group named 'other' already exists"]),
        (["edit", "nightly", "--rename", "a b"], ["invalid group name 'a b'"]),
        (["members", "nightly", "orders", "itms"], ["no module named 'itms'; did you mean"]),
        (["members", "nightly", "items", "items"], ["listed more than once"]),
        (["members", "ghost", "orders"], ["no group named 'ghost'", "pipekit groups add"]),
        (["add-member", "nightly", "itemz"], ["did you mean 'items'?"]),
        (["add-member", "nightly", "items", "--position", "4"], ["--position 4 is out of range"]),
        (["add-member", "nightly", "items", "--position", "0"], ["use 1 to 3"]),
        (["add-member", "nightly", "orders", "--position", "3"], ["use 1 to 2"]),
        (["remove-member", "nightly", "items"], ["'items' is not a member of group 'nightly'"]),
        (["remove-member", "nightly", "itemz"], ["no module named 'itemz'; did you mean"]),
        (["show", "nightlyy"], ["did you mean 'nightly'?"]),
        (["rm", "nightlyy"], ["no group named 'nightlyy'; did you mean 'nightly'?"]),
    ],
)
def test_bad_input_changes_nothing(
    cli: Invoke, modules: Path, args: list[str], fragments: list[str]
) -> None:
    cli("groups", "add", "nightly", "orders", "customers")
    cli("groups", "add", "other")
    with open_store(modules) as store:
        store.schedules.add("nightly", "0 2 * * *")
    before = snapshot(modules)
    assert_clean_failure(cli("groups", *args), *fragments)
    assert snapshot(modules) == before


def test_list_when_empty(cli: Invoke, home: Path) -> None:
    result = cli("groups", "list")
    assert result.exit_code == 0
    assert "no groups yet" in result.output
