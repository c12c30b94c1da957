"""Groups and their ordered members, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from pipekit.errors import NotFoundError
from pipekit.store import AlreadyExistsError, Store
from pipekit.store.groups import GroupSpecError


@pytest.fixture
def mods(store: Store) -> Store:
    for name in ("a", "b", "c"):
        store.modules.add(name)
    return store


def test_crud_and_members_in_order(mods: Store) -> None:
    store = mods
    g = store.groups.add("nightly", description="every night", members=["b", "a"])
    assert (g.name, g.description, g.members) == ("nightly", "every night", ("b", "a"))
    assert store.groups.get("nightly") == g
    assert store.groups.set_members("nightly", ["c", "a", "b"]).members == ("c", "a", "b")
    assert store.groups.add_member("nightly", "b", position=0).members == ("b", "c", "a")
    assert store.groups.remove_member("nightly", "c").members == ("b", "a")
    assert store.groups.add_member("nightly", "c").members == ("b", "a", "c")
    store.modules.set_enabled("a", False)
    assert [m.name for m in store.groups.enabled_modules("nightly")] == ["b", "c"]
    store.groups.add("hourly", members=["a"])
    assert [x.name for x in store.groups.list()] == ["hourly", "nightly"]
    assert store.groups.groups_of("a") == ["hourly", "nightly"]
    assert store.groups.update("hourly", new_name="hourly2").name == "hourly2"
    store.modules.remove("c")
    assert store.groups.get("nightly").members == ("b", "a")
    store.groups.remove("nightly")
    assert [x.name for x in store.groups.list()] == ["hourly2"]


def test_errors(mods: Store) -> None:
    store = mods
    with pytest.raises(GroupSpecError, match="invalid group name 'no way'"):
        store.groups.add("no way")
    with pytest.raises(NotFoundError, match=r"no module named 'zz' \(known: a, b, c\)"):
        store.groups.add("g", members=["a", "zz"])
    assert store.groups.list() == []  # nothing half-created
    store.groups.add("g")
    with pytest.raises(AlreadyExistsError, match="a group named 'g' already exists"):
        store.groups.add("g")
    with pytest.raises(GroupSpecError, match="listed more than once in the group: a"):
        store.groups.set_members("g", ["a", "b", "a"])
    with pytest.raises(NotFoundError, match=r"module 'a' is not a member of group 'g'"):
        store.groups.remove_member("g", "a")
    with pytest.raises(NotFoundError, match=r"no group named 'x' \(known: g\)"):
        store.groups.get("x")
