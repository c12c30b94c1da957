"""Users and roles through the service: add, set-role, remove, the last admin, authorize."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipekit.config import load_config
from pipekit.errors import NotFoundError, PermissionDeniedError, UserSpecError
from pipekit.services import Services


@pytest.fixture
def sv(pipekit_home: Path) -> Services:
    (pipekit_home / "pipekit.yaml").write_text("database: state.db\n")
    services = Services.open(load_config(pipekit_home / "pipekit.yaml"))
    services.store.init()
    return services


def test_first_user_of_set_password_is_admin_later_ones_viewers(sv: Services) -> None:
    assert sv.users.set_password("root", "pw").role == "admin"
    assert sv.users.set_password("later", "pw").role == "viewer"
    assert sv.users.set_password("root", "pw2").role == "admin"  # a change keeps the role
    assert [(u.name, u.role) for u in sv.users.list()] == [("later", "viewer"), ("root", "admin")]


def test_the_last_admin_cannot_be_removed_or_demoted(sv: Services) -> None:
    sv.users.add("ann", "pw", "admin")
    sv.users.add("bob", "pw", "editor")
    with pytest.raises(UserSpecError, match="cannot demote 'ann': it is the last admin"):
        sv.users.set_role("ann", "viewer")
    with pytest.raises(UserSpecError, match="cannot remove 'ann': it is the last admin"):
        sv.users.remove("ann")
    assert sv.users.show("ann").role == "admin"  # nothing changed
    sv.users.set_role("bob", "admin")
    assert sv.users.set_role("ann", "viewer").role == "viewer"
    assert sv.users.remove("ann").name == "ann"
    with pytest.raises(NotFoundError, match="no user named 'ann' \\(known: bob\\)"):
        sv.users.remove("ann")


def test_authorize_names_the_role_needed(sv: Services) -> None:
    sv.users.add("ann", "pw", "operator")
    assert sv.users.authorize("ann", "viewer") == "operator"
    assert sv.users.authorize("ann", "operator") == "operator"
    with pytest.raises(PermissionDeniedError) as exc:
        sv.users.authorize("ann", "editor")
    assert "needs the role 'editor'" in exc.value.message
    assert "user 'ann' has 'operator'" in exc.value.message
    with pytest.raises(PermissionDeniedError, match="has 'none'"):
        sv.users.authorize("ghost", "viewer")
