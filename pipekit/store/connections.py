"""Connections: named database locations with a user and a password *reference*.

The repository stores what it is given after checking what it alone can check
(name shape, password is a ``$VAR`` reference, unique name). Whether the URL
names a known driver is checked a layer up (``pipekit.engine.connections``),
because the store sits below the drivers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection as SAConnection
from sqlalchemy import Row, or_, select
from sqlalchemy.exc import IntegrityError

from pipekit.errors import ConnectionSpecError, NotFoundError, SecretError
from pipekit.secrets import is_reference
from pipekit.store import schema
from pipekit.store.repo import UNSET, AlreadyExistsError, InUseError, _Unset, check_name
from pipekit.store.types import utcnow

if TYPE_CHECKING:
    from pipekit.store.store import Store

_t = schema.connection


@dataclass(frozen=True)
class Connection:
    """One row of ``connection``. `password` is a reference such as ``$ERP_PW``."""

    id: int
    name: str
    url: str
    user: str | None
    password: str | None
    supports_deletes: bool
    driver_id: int | None
    created_at: datetime
    updated_at: datetime
    #: a connector connection's options (tables, pagination, auth kind); {} for databases
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Row[Any]) -> Connection:
        m = row._mapping
        return cls(
            id=m["id"],
            name=m["name"],
            url=m["url"],
            user=m["user"],
            password=m["password"],
            supports_deletes=bool(m["supports_deletes"]),
            driver_id=m["driver_id"],
            created_at=m["created_at"],
            updated_at=m["updated_at"],
            options=json.loads(m["options_json"]) if m["options_json"] else {},
        )


def _check_password(password: str | None) -> str | None:
    if password in (None, ""):
        return None
    if not is_reference(password):
        # Never echo the value: it is probably the real password.
        raise SecretError(
            "connection passwords are stored as secret references like '$ERP_PW', never "
            "as values; store the value with `pipekit secrets set ERP_PW` and give '$ERP_PW'"
        )
    return password


def _check_url(url: str) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ConnectionSpecError("connection URL is empty; expected e.g. postgresql://host/db")
    return url.strip()


def _options_json(options: Mapping[str, Any] | None) -> str | None:
    if not options:
        return None
    if not isinstance(options, Mapping):
        raise ConnectionSpecError("connection options must be a mapping (key: value)")
    return json.dumps(dict(options), sort_keys=True, default=str)


def _duplicate(name: str) -> AlreadyExistsError:
    return AlreadyExistsError(
        f"a connection named '{name}' already exists; pick another name, "
        f"or remove it first with `pipekit connections rm {name}`"
    )


class ConnectionRepo:
    """CRUD for connections, by name."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(
        self,
        name: str,
        url: str,
        *,
        user: str | None = None,
        password: str | None = None,
        supports_deletes: bool = True,
        driver_id: int | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Connection:
        """Create a connection; AlreadyExistsError if the name is taken."""
        check_name("connection", name, ConnectionSpecError)
        values = {
            "name": name,
            "url": _check_url(url),
            "user": user or None,
            "password": _check_password(password),
            "supports_deletes": supports_deletes,
            "driver_id": driver_id,
            "options_json": _options_json(options),
        }
        now = utcnow()
        try:
            with self._store.write() as conn:
                if self._find(conn, name) is not None:
                    raise _duplicate(name)
                conn.execute(_t.insert().values(**values, created_at=now, updated_at=now))
                row = self._find(conn, name)
        except IntegrityError:  # a concurrent add won the race
            raise _duplicate(name) from None
        assert row is not None
        return Connection.from_row(row)

    def get(self, name: str) -> Connection:
        """The connection called `name`; NotFoundError if there is none."""
        with self._store.read() as conn:
            row = self._find(conn, name)
            if row is None:
                raise self._not_found(conn, name)
        return Connection.from_row(row)

    def ensure_absent(self, name: str) -> None:
        """AlreadyExistsError if `name` is taken (to check before asking for more input)."""
        with self._store.read() as conn:
            if self._find(conn, name) is not None:
                raise _duplicate(name)

    def get_by_id(self, connection_id: int) -> Connection:
        with self._store.read() as conn:
            row = conn.execute(select(_t).where(_t.c.id == connection_id)).first()
        if row is None:
            raise NotFoundError(f"no connection with id {connection_id}")
        return Connection.from_row(row)

    def list(self) -> list[Connection]:
        """All connections, by name."""
        with self._store.read() as conn:
            rows = conn.execute(select(_t).order_by(_t.c.name)).all()
        return [Connection.from_row(r) for r in rows]

    def update(
        self,
        name: str,
        *,
        new_name: str | _Unset = UNSET,
        url: str | _Unset = UNSET,
        user: str | _Unset | None = UNSET,
        password: str | _Unset | None = UNSET,
        supports_deletes: bool | _Unset = UNSET,
        driver_id: int | _Unset | None = UNSET,
        options: Mapping[str, Any] | _Unset | None = UNSET,
    ) -> Connection:
        """Change the given fields (others stay as they are); returns the new state."""
        changes: dict[str, Any] = {}
        if not isinstance(options, _Unset):
            changes["options_json"] = _options_json(options)
        if new_name is not UNSET:
            changes["name"] = check_name("connection", new_name, ConnectionSpecError)
        if url is not UNSET:
            changes["url"] = _check_url(url)
        if user is not UNSET:
            changes["user"] = user or None
        if password is not UNSET:
            changes["password"] = _check_password(password)
        if supports_deletes is not UNSET:
            changes["supports_deletes"] = bool(supports_deletes)
        if driver_id is not UNSET:
            changes["driver_id"] = driver_id
        target = changes.get("name", name)
        try:
            with self._store.write() as conn:
                if self._find(conn, name) is None:
                    raise self._not_found(conn, name)
                if target != name and self._find(conn, target) is not None:
                    raise _duplicate(target)
                if changes:
                    conn.execute(
                        _t.update().where(_t.c.name == name).values(**changes, updated_at=utcnow())
                    )
                row = self._find(conn, target)
        except IntegrityError:
            raise _duplicate(target) from None
        assert row is not None
        return Connection.from_row(row)

    def remove(self, name: str) -> None:
        """Delete a connection; InUseError while modules or watermarks use it."""
        m, w = schema.module, schema.watermark
        with self._store.write() as conn:
            row = self._find(conn, name)
            if row is None:
                raise self._not_found(conn, name)
            cid = row._mapping["id"]
            users = conn.execute(
                select(m.c.name)
                .where(or_(m.c.source_connection_id == cid, m.c.dest_connection_id == cid))
                .union(
                    select(m.c.name)
                    .join(w, w.c.module_id == m.c.id)
                    .where(w.c.connection_id == cid)
                )
            ).scalars()
            names = sorted(set(users))
            if names:
                raise InUseError(
                    f"connection '{name}' is used by module(s) {', '.join(names)}; "
                    "point them at another connection or remove them first"
                )
            conn.execute(_t.delete().where(_t.c.id == cid))

    @staticmethod
    def _find(conn: SAConnection, name: str) -> Row[Any] | None:
        return conn.execute(select(_t).where(_t.c.name == name)).first()

    @staticmethod
    def _not_found(conn: SAConnection, name: str) -> NotFoundError:
        known = conn.execute(select(_t.c.name).order_by(_t.c.name).limit(20)).scalars().all()
        hint = f"known: {', '.join(known)}" if known else "none are defined yet"
        return NotFoundError(
            f"no connection named '{name}' ({hint}); add one with `pipekit connections add`"
        )
