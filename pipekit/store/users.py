"""Users of the web UI / API: a name and a scrypt password hash.

Hashes are stored as ``scrypt$n$r$p$salt$hash`` (salt and hash in hex), so the
cost parameters can be raised later without breaking existing passwords.
Passwords are never stored, logged or echoed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from pipekit.errors import (
    NotFoundError,
    UserSpecError,
)
from pipekit.store import schema
from pipekit.store.repo import check_name
from pipekit.store.types import utcnow

if TYPE_CHECKING:
    from pipekit.store.store import Store

_t = schema.user

SCRYPT_N, SCRYPT_R, SCRYPT_P, SALT_BYTES, KEY_BYTES = 2**14, 8, 1, 16, 32


@dataclass(frozen=True)
class User:
    id: int
    name: str
    created_at: datetime


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${key.hex()}"


def check_password(password: str, stored: str) -> bool:
    """True if `password` matches the stored hash (constant-time compare)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(key)
        actual = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p), len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int = KEY_BYTES) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=256 * n * r + 2**20
    )


class UserRepo:
    """Users by name. ``set_password`` creates the user or changes its password."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def set_password(self, name: str, password: str) -> User:
        check_name("user", name, UserSpecError, digits_ok=True)
        if not isinstance(password, str) or not password:
            raise UserSpecError(f"the password for user '{name}' is empty")
        hashed = hash_password(password)
        with self._store.write() as conn:
            if conn.execute(select(_t.c.id).where(_t.c.name == name)).first():
                conn.execute(_t.update().where(_t.c.name == name).values(password_hash=hashed))
            else:
                conn.execute(
                    _t.insert().values(name=name, password_hash=hashed, created_at=utcnow())
                )
            row = conn.execute(select(_t).where(_t.c.name == name)).one()
        return User(row.id, row.name, row.created_at)

    def verify(self, name: str, password: str) -> bool:
        """True if `name` exists and `password` is its password."""
        with self._store.read() as conn:
            stored = conn.execute(select(_t.c.password_hash).where(_t.c.name == name)).scalar()
        if stored is None:
            hash_password(password)  # same work either way: no timing hint that the user exists
            return False
        return check_password(password, stored)

    def list(self) -> list[User]:
        with self._store.read() as conn:
            rows = conn.execute(select(_t).order_by(_t.c.name)).all()
        return [User(r.id, r.name, r.created_at) for r in rows]

    def remove(self, name: str) -> None:
        with self._store.write() as conn:
            if conn.execute(_t.delete().where(_t.c.name == name)).rowcount == 0:
                known = conn.execute(select(_t.c.name).order_by(_t.c.name)).scalars().all()
                raise NotFoundError(f"no user named '{name}' (known: {', '.join(known) or 'none'})")
