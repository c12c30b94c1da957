"""The groups service on a real state database (SQLite file and PostgreSQL): lookups by
id or name, every unknown member named at once, positions, and all-or-nothing updates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pipekit.config import parse_config
from pipekit.errors import (
    AlreadyExistsError,
    GroupSpecError,
    NotFoundError,
    ValidationError,
)
from pipekit.services import Services
from pipekit.services.groups import GroupView, MemberView
from pipekit.services.views import to_json


def open_services(target: str, folder: Path) -> Services:
    config = parse_config({"database": target}, folder / "pipekit.yaml")
    sv = Services.open(config)
    sv.store.init()
    return sv


@pytest.fixture(params=["sqlite", "postgresql"])
def sv(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    """Services over an initialised state DB with modules orders, customers, items."""
    if request.param == "sqlite":
        target = str(tmp_path / "state.db")
    else:
        target = request.getfixturevalue("pg_url")
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
            conn.execute("CREATE SCHEMA public")
    with open_services(target, tmp_path) as services:
        for name in ("orders", "customers", "items"):
            services.store.modules.add(name)
        yield services


def test_add_show_list_by_id_and_name(sv: Services) -> None:
    g = sv.groups.add("nightly", "every night", ["orders", "customers"])
    assert isinstance(g, GroupView)
    assert (g.name, g.description, g.modules) == ("nightly", "every night", ["orders", "customers"])
    assert [m.run_order for m in g.members] == [0, 1]
    assert all(isinstance(m, MemberView) and m.id > 0 for m in g.members)
    assert sv.groups.show(g.id) == g
    assert sv.groups.show(str(g.id)) == g
    assert sv.groups.show("nightly") == g
    empty = sv.groups.add("empty")
    assert [x.name for x in sv.groups.list()] == ["empty", "nightly"]
    assert sv.groups.list() == [empty, g]
    assert to_json(g) == {
        "id": g.id,
        "name": "nightly",
        "description": "every night",
        "members": [
            {"id": g.members[0].id, "module": "orders", "run_order": 0},
            {"id": g.members[1].id, "module": "customers", "run_order": 1},
        ],
    }


def test_members_by_module_id(sv: Services) -> None:
    items = sv.store.modules.get("items").id
    g = sv.groups.add("g", members=[str(items), "orders"])
    assert g.modules == ["items", "orders"]


def test_unknown_group_suggests_the_closest(sv: Services) -> None:
    sv.groups.add("nightly")
    with pytest.raises(NotFoundError, match="no group named 'nigthly'; did you mean 'nightly'"):
        sv.groups.show("nigthly")
    with pytest.raises(NotFoundError, match="no group with id 999"):
        sv.groups.show("999")


def test_every_unknown_member_is_named_at_once(sv: Services) -> None:
    with pytest.raises(NotFoundError) as info:
        sv.groups.add("g", members=["ordrs", "orders", "custmers", "zzz"])
    exc = info.value
    assert exc.path == "members"
    assert "'ordrs' (did you mean 'orders'?)" in exc.message
    assert "'custmers' (did you mean 'customers'?)" in exc.message
    assert "'zzz'" in exc.message
    assert sv.groups.list() == []  # nothing was created


@pytest.mark.parametrize("name", ["42", "bad name", ""])
def test_bad_names_are_refused_with_the_path(sv: Services, name: str) -> None:
    with pytest.raises(GroupSpecError) as info:
        sv.groups.add(name)
    assert info.value.path == "name"
    assert sv.groups.list() == []


def test_duplicate_member_and_duplicate_name(sv: Services) -> None:
    with pytest.raises(GroupSpecError, match="more than once") as info:
        sv.groups.add("g", members=["orders", "orders"])
    assert info.value.path == "members"
    assert sv.groups.list() == []
    sv.groups.add("g")
    with pytest.raises(AlreadyExistsError):
        sv.groups.add("g")


def test_update_renames_describes_and_sets_members_together(sv: Services) -> None:
    g = sv.groups.add("nightly", "old", ["orders"])
    h = sv.groups.update("nightly", name="daily", description="", members=["items", "orders"])
    assert (h.id, h.name, h.description, h.modules) == (g.id, "daily", None, ["items", "orders"])
    # a membership that stays keeps its id
    assert next(m.id for m in h.members if m.module == "orders") == g.members[0].id


def test_a_refused_update_changes_nothing(sv: Services) -> None:
    sv.groups.add("nightly", "old", ["orders"])
    before = sv.groups.show("nightly")
    with pytest.raises(NotFoundError):  # the rename would work, the members do not
        sv.groups.update("nightly", name="daily", members=["orders", "nope"])
    with pytest.raises(GroupSpecError):
        sv.groups.update("nightly", description="new", members=["orders", "orders"])
    assert sv.groups.show(before.id) == before
    with pytest.raises(ValidationError) as info:
        sv.groups.update("nightly", name=None, members=None)  # type: ignore[arg-type]
    assert [p.path for p in info.value.problems] == ["name", "members"]


def test_add_member_positions(sv: Services) -> None:
    sv.groups.add("g", members=["orders"])
    assert sv.groups.add_member("g", "customers").modules == ["orders", "customers"]
    assert sv.groups.add_member("g", "items", 0).modules == ["items", "orders", "customers"]
    assert sv.groups.add_member("g", "items", 2).modules == ["orders", "customers", "items"]
    # counted from 1 (the CLI), the same place
    assert sv.groups.add_member("g", "items", 1, first=1).modules[0] == "items"
    with pytest.raises(GroupSpecError, match=r"position 3 is out of range.*use 0 to 2") as info:
        sv.groups.add_member("g", "items", 3)
    assert info.value.path == "position"
    with pytest.raises(GroupSpecError, match="use 1 to 3"):
        sv.groups.add_member("g", "items", 0, first=1)
    with pytest.raises(NotFoundError, match="did you mean 'items'") as missing:
        sv.groups.add_member("g", "itemz")
    assert missing.value.path == "module"
    assert sv.groups.show("g").modules == ["items", "orders", "customers"]


def test_remove_member_by_name_and_by_membership_id(sv: Services) -> None:
    g = sv.groups.add("g", members=["orders", "customers", "items"])
    assert sv.groups.remove_member("g", "customers").modules == ["orders", "items"]
    with pytest.raises(NotFoundError, match="'customers' is not a member of group 'g'") as info:
        sv.groups.remove_member("g", "customers")
    assert info.value.path == "module"
    with pytest.raises(NotFoundError, match="no module named 'custmers'; did you mean"):
        sv.groups.remove_member("g", "custmers")
    orders = g.members[0]
    after = sv.groups.remove_membership(orders.id)
    assert after.modules == ["items"]
    with pytest.raises(NotFoundError, match=f"no group member with id {orders.id}"):
        sv.groups.remove_membership(orders.id)
    assert sv.store.modules.get("orders").name == "orders"  # the module stays


def test_remove_takes_its_schedules_and_keeps_modules(sv: Services) -> None:
    g = sv.groups.add("g", members=["orders"])
    sv.schedules.add("g", "0 2 * * *")
    sv.schedules.add(g.id, "0 3 * * *")
    removed = sv.groups.remove(str(g.id))
    assert (removed.name, removed.schedules) == ("g", 2)
    assert sv.groups.list() == [] and sv.schedules.list() == []
    assert len(sv.store.modules.list()) == 3
    with pytest.raises(NotFoundError):
        sv.groups.remove("g")


def test_detail_and_overview(sv: Services) -> None:
    sv.store.modules.set_enabled("customers", False)
    sv.groups.add("g", members=["orders", "customers"])
    on = sv.schedules.add("g", "0 2 * * *")
    run = sv.store.runs.start_group("g", triggered_by="schedule")
    sv.store.runs.finish_group(run, "error", error="customers failed")
    detail = sv.groups.detail("g")
    assert [(m.position, m.module, m.enabled) for m in detail.members] == [
        (1, "orders", True),
        (2, "customers", False),
    ]
    assert detail.schedules == [sv.schedules.show(on.id)]
    assert [(r.id, r.status, r.error) for r in detail.runs] == [(run, "error", "customers failed")]
    (over,) = sv.groups.overview()
    assert over.group == detail.group and over.schedules == detail.schedules
    assert [r.id for r in over.runs] == [run]
