"""Registered JDBC drivers: a name, the jars (copied into ``driver_dir``), the driver
class and a URL template; connections name theirs through ``connection.driver_id``.

The repository stores what it is given after the checks it alone can make (the
name's shape, a unique name); whether the jars hold the class is checked a
layer up (``pipekit.services.drivers``), where the files are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection as SAConnection
from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError

from pipekit.errors import ConnectionSpecError, NotFoundError
from pipekit.store import schema
from pipekit.store.repo import AlreadyExistsError, InUseError, check_name
from pipekit.store.types import utcnow

if TYPE_CHECKING:
    from pipekit.store.store import Store

_t = schema.driver


@dataclass(frozen=True)
class RegisteredDriver:
    """One row of ``driver``."""

    id: int
    name: str
    kind: str
    jars: list[str]
    class_name: str | None
    url_template: str | None
    created_at: datetime

    @property
    def subprotocol(self) -> str | None:
        """``as400`` of a template ``jdbc:as400://{host}``."""
        template = self.url_template or ""
        if not template.lower().startswith("jdbc:"):
            return None
        return template[5:].split(":", 1)[0].lower() or None

    @classmethod
    def from_row(cls, row: Row[Any]) -> RegisteredDriver:
        m = row._mapping
        return cls(
            id=m["id"],
            name=m["name"],
            kind=m["kind"],
            jars=list(json.loads(m["jars"] or "[]")),
            class_name=m["class_name"],
            url_template=m["url_template"],
            created_at=m["created_at"],
        )


def _duplicate(name: str) -> AlreadyExistsError:
    return AlreadyExistsError(
        f"a driver named '{name}' is already registered; pick another name, "
        f"or remove it first with `pipekit drivers rm {name}`"
    )


class DriverRepo:
    """CRUD for registered JDBC drivers, by name."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(
        self,
        name: str,
        *,
        jars: list[str],
        class_name: str,
        url_template: str | None = None,
        kind: str = "jdbc",
    ) -> RegisteredDriver:
        check_name("driver", name, ConnectionSpecError)
        values = {
            "name": name,
            "kind": kind,
            "jars": json.dumps(jars),
            "class_name": class_name,
            "url_template": url_template,
            "created_at": utcnow(),
        }
        try:
            with self._store.write() as conn:
                if self._find(conn, name) is not None:
                    raise _duplicate(name)
                conn.execute(_t.insert().values(**values))
                row = self._find(conn, name)
        except IntegrityError:
            raise _duplicate(name) from None
        assert row is not None
        return RegisteredDriver.from_row(row)

    def ensure_absent(self, name: str) -> None:
        with self._store.read() as conn:
            if self._find(conn, name) is not None:
                raise _duplicate(name)

    def get(self, name: str) -> RegisteredDriver:
        with self._store.read() as conn:
            row = self._find(conn, name)
        if row is None:
            raise NotFoundError(
                f"no driver named '{name}' is registered; see `pipekit drivers list`"
            )
        return RegisteredDriver.from_row(row)

    def get_by_id(self, driver_id: int) -> RegisteredDriver:
        with self._store.read() as conn:
            row = conn.execute(select(_t).where(_t.c.id == driver_id)).first()
        if row is None:
            raise NotFoundError(f"no driver with id {driver_id}")
        return RegisteredDriver.from_row(row)

    def list(self) -> list[RegisteredDriver]:
        with self._store.read() as conn:
            rows = conn.execute(select(_t).order_by(_t.c.name)).all()
        return [RegisteredDriver.from_row(r) for r in rows]

    def remove(self, name: str) -> RegisteredDriver:
        """Delete a driver; InUseError while connections name it."""
        c = schema.connection
        with self._store.write() as conn:
            row = self._find(conn, name)
            if row is None:
                raise NotFoundError(
                    f"no driver named '{name}' is registered; see `pipekit drivers list`"
                )
            found = RegisteredDriver.from_row(row)
            users = (
                conn.execute(select(c.c.name).where(c.c.driver_id == found.id).order_by(c.c.name))
                .scalars()
                .all()
            )
            if users:
                raise InUseError(
                    f"driver '{name}' is used by connection(s) {', '.join(users)}; "
                    "remove them or point them at another driver first"
                )
            conn.execute(_t.delete().where(_t.c.id == found.id))
        return found

    @staticmethod
    def _find(conn: SAConnection, name: str) -> Row[Any] | None:
        return conn.execute(select(_t).where(_t.c.name == name)).first()
