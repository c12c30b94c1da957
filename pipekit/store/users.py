"""Users of the web UI / API: a name, a role (``pipekit.roles``) and a scrypt password hash.

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
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from pipekit.errors import (
    AlreadyExistsError,
    NotFoundError,
    UserSpecError,
)
from pipekit.roles import ROLES
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
    role: str
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


def check_role(role: str) -> str:
    """`role` if it is one of ``ROLES``; UserSpecError naming them otherwise."""
    if role not in ROLES:
        raise UserSpecError(f"unknown role {role!r}; use one of {', '.join(ROLES)}", path="role")
    return role


def _user(row: Any) -> User:
    return User(row.id, row.name, row.role, row.created_at)


class UserRepo:
    """Users by name. ``set_password`` creates the user or changes its password."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def set_password(self, name: str, password: str, *, role: str = "viewer") -> User:
        """Change `name`'s password, or create it with `role` if it is new."""
        check_name("user", name, UserSpecError, digits_ok=True)
        check_role(role)
        hashed = _hash_checked(name, password)
        with self._store.write() as conn:
            if conn.execute(select(_t.c.id).where(_t.c.name == name)).first():
                conn.execute(_t.update().where(_t.c.name == name).values(password_hash=hashed))
            else:
                conn.execute(
                    _t.insert().values(
                        name=name, password_hash=hashed, role=role, created_at=utcnow()
                    )
                )
            row = conn.execute(select(_t).where(_t.c.name == name)).one()
        return _user(row)

    def add(self, name: str, password: str, role: str) -> User:
        """A new user (AlreadyExistsError if the name is taken)."""
        check_name("user", name, UserSpecError, digits_ok=True)
        check_role(role)
        hashed = _hash_checked(name, password)
        with self._store.write() as conn:
            if conn.execute(select(_t.c.id).where(_t.c.name == name)).first():
                raise AlreadyExistsError(
                    f"user '{name}' already exists; change its password with "
                    f"`pipekit set-password {name}` or its role with `pipekit users set-role`",
                    path="name",
                )
            conn.execute(
                _t.insert().values(name=name, password_hash=hashed, role=role, created_at=utcnow())
            )
            row = conn.execute(select(_t).where(_t.c.name == name)).one()
        return _user(row)

    def get(self, name: str) -> User | None:
        with self._store.read() as conn:
            row = conn.execute(select(_t).where(_t.c.name == name)).first()
        return _user(row) if row else None

    def set_role(self, name: str, role: str) -> User:
        check_role(role)
        with self._store.write() as conn:
            if conn.execute(_t.update().where(_t.c.name == name).values(role=role)).rowcount == 0:
                self._not_found(conn, name)
            row = conn.execute(select(_t).where(_t.c.name == name)).one()
        return _user(row)

    def count_role(self, role: str) -> int:
        with self._store.read() as conn:
            return len(conn.execute(select(_t.c.id).where(_t.c.role == role)).all())

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
        return [_user(r) for r in rows]

    def remove(self, name: str) -> None:
        with self._store.write() as conn:
            if conn.execute(_t.delete().where(_t.c.name == name)).rowcount == 0:
                self._not_found(conn, name)

    @staticmethod
    def _not_found(conn: Any, name: str) -> None:
        known = conn.execute(select(_t.c.name).order_by(_t.c.name)).scalars().all()
        raise NotFoundError(
            f"no user named '{name}' (known: {', '.join(known) or 'none'})", path="name"
        )


def _hash_checked(name: str, password: str) -> str:
    if not isinstance(password, str) or not password:
        raise UserSpecError(f"the password for user '{name}' is empty", path="password")
    return hash_password(password)
