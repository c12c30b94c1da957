"""Users and password hashes, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from pipekit.errors import NotFoundError
from pipekit.store import Store
from pipekit.store import schema as s
from pipekit.store.users import UserSpecError


def test_set_verify_list_remove(store: Store) -> None:
    u = store.users.set_password("admin", "correct horse")
    assert store.users.verify("admin", "correct horse") is True
    assert store.users.verify("admin", "wrong") is False
    assert store.users.verify("nobody", "correct horse") is False
    with store.read() as conn:
        stored = conn.execute(s.user.select()).one().password_hash
    scheme, n, r, p, salt, _key = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(bytes.fromhex(salt)) == 16 and "correct horse" not in stored

    again = store.users.set_password("admin", "new pass")  # change, same user
    assert again.id == u.id and again.created_at == u.created_at
    assert store.users.verify("admin", "correct horse") is False
    assert store.users.verify("admin", "new pass") is True
    store.users.set_password("bob", "new pass")
    with store.read() as conn:
        hashes = [r.password_hash for r in conn.execute(s.user.select())]
    assert hashes[0] != hashes[1]  # random salt
    assert [x.name for x in store.users.list()] == ["admin", "bob"]
    store.users.remove("bob")
    assert [x.name for x in store.users.list()] == ["admin"]
    with pytest.raises(NotFoundError, match=r"no user named 'bob' \(known: admin\)"):
        store.users.remove("bob")
    with pytest.raises(UserSpecError, match="password for user 'admin' is empty"):
        store.users.set_password("admin", "")
    with pytest.raises(UserSpecError, match="invalid user name"):
        store.users.set_password("a b", "x")


def test_roles_are_stored_and_checked(store: Store) -> None:
    assert store.users.add("ann", "pw", "editor").role == "editor"
    assert store.users.get("ann").role == "editor"  # type: ignore[union-attr]
    assert store.users.set_role("ann", "operator").role == "operator"
    assert store.users.count_role("operator") == 1
    with pytest.raises(UserSpecError, match="unknown role 'root'; use one of viewer, operator"):
        store.users.set_role("ann", "root")
    with pytest.raises(UserSpecError, match="unknown role"):
        store.users.add("bea", "pw", "superuser")
    assert store.users.get("bea") is None  # nothing was created
    with pytest.raises(NotFoundError, match="no user named 'zed'"):
        store.users.set_role("zed", "admin")
    from pipekit.errors import AlreadyExistsError

    with pytest.raises(AlreadyExistsError, match="user 'ann' already exists"):
        store.users.add("ann", "pw", "viewer")


def test_users_before_the_roles_migration_become_admin(empty_store: Store) -> None:
    """Until roles existed every user could do everything: the migration keeps that."""
    from sqlalchemy import text

    from pipekit.store import utcnow
    from pipekit.store.migrations import MIGRATIONS, apply

    roles = next(i for i, m in enumerate(MIGRATIONS) if m.name == "user_roles_and_audit")
    if empty_store.target.path is not None:
        empty_store.target.path.parent.mkdir(parents=True, exist_ok=True)
    with empty_store.engine.begin() as conn:
        for migration in MIGRATIONS[:roles]:
            apply(conn, migration)
        conn.execute(
            text(
                'INSERT INTO "user" (name, password_hash, created_at) '
                "VALUES ('old', 'scrypt$x', :now)"
            ),
            {"now": utcnow()},
        )
    empty_store.init()
    assert empty_store.users.get("old").role == "admin"  # type: ignore[union-attr]
    assert empty_store.audit.list() == []
