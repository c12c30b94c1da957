"""The audit trail in the services: each change once, with field names, by whoever
acts; refused changes leave nothing; manifest applies recorded per object."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from pipekit.config import load_config
from pipekit.errors import InvalidError, NotFoundError
from pipekit.services import Services


@pytest.fixture
def sv(pipekit_home: Path) -> Services:
    (pipekit_home / "pipekit.yaml").write_text("database: state.db\n")
    services = Services.open(load_config(pipekit_home / "pipekit.yaml"))
    services.store.init()
    return services


def _trail(sv: Services) -> list[tuple[str, str, str, str | None, list[str]]]:
    return [(e.actor, e.action, e.object_type, e.object_name, e.fields) for e in sv.audit.list()]


def test_each_change_is_recorded_once_by_its_actor(sv: Services) -> None:
    me = f"cli:{getpass.getuser()}"
    sv.groups.add("g")
    sv.groups.set_members("g", [])  # through update: one entry, not two
    api = sv.as_actor("api:ann")
    api.groups.update("g", description="nightly")
    with pytest.raises(NotFoundError):
        api.groups.remove("nope")
    api.schedules.add("g", "0 2 * * *")
    api.groups.remove("g")
    assert _trail(sv)[::-1] == [
        (me, "add", "group", "g", ["name"]),
        (me, "update", "group", "g", ["members"]),
        ("api:ann", "update", "group", "g", ["description"]),
        ("api:ann", "add", "schedule", "1", ["cron_expr", "group"]),  # those given
        ("api:ann", "remove", "group", "g", []),
    ]


def test_users_are_audited_without_their_passwords(sv: Services) -> None:
    sv.users.set_password("root", "hunter2-secret")
    sv.users.add("bob", "pw-secret", "viewer")
    sv.users.set_role("bob", "editor")
    sv.users.remove("bob")
    trail = _trail(sv)
    assert [(a, o, n, f) for _, a, o, n, f in trail[::-1]] == [
        ("set_password", "user", "root", ["password"]),
        ("add", "user", "bob", ["name", "password", "role"]),
        ("set_role", "user", "bob", ["role"]),
        ("remove", "user", "bob", []),
    ]
    assert "secret" not in repr(trail)


def test_apply_records_each_object_it_changed(sv: Services, tmp_path: Path) -> None:
    sv.manifest.apply("groups:\n  a: []\n  b: []\n", dry_run=True)
    assert _trail(sv) == []  # a dry run changes nothing
    sv.manifest.apply("groups:\n  a: []\n  b: []\n")
    sv.manifest.apply("groups:\n  a: []\n  b: []\n")  # unchanged: nothing
    assert sorted((a, o, n) for _, a, o, n, _ in _trail(sv)) == [
        ("apply:created", "group", "a"),
        ("apply:created", "group", "b"),
    ]


def test_the_trail_is_filtered_and_its_filters_checked(sv: Services) -> None:
    sv.groups.add("g1")
    sv.as_actor("api:ann").groups.add("g2")
    assert [e.object_name for e in sv.audit.list(actor="api:ann")] == ["g2"]
    assert [e.object_name for e in sv.audit.list(object_type="group", object_name="g1")] == ["g1"]
    assert len(sv.audit.list(limit=1)) == 1
    with pytest.raises(InvalidError, match="unknown object type 'grup'; use one of"):
        sv.audit.list(object_type="grup")
    with pytest.raises(InvalidError, match="limit 0 is out of range"):
        sv.audit.list(limit=0)
