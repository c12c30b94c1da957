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
