"""Numbered schema migrations of the state store.

Each migration is a module ``mNNNN_<name>.py`` in this package with a function
``upgrade(conn)``; numbers start at 1 and have no gaps. ``Store.init()``
applies the missing ones in order, each in its own transaction together with
its row in ``schema_version``, so a failed migration leaves the database at
the version before it. Migrations are frozen once released: they define the
tables they touch themselves instead of importing ``pipekit.store.schema``.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Column, Connection, Integer, MetaData, String, Table, func, inspect, select

from pipekit.store.types import UTCDateTime, utcnow

_NAME_RE = re.compile(r"^m(\d{4})_(\w+)$")

# The bookkeeping table; its shape never changes, so it is defined once here.
_meta = MetaData()
version_table = Table(
    "schema_version",
    _meta,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)


@dataclass(frozen=True)
class Migration:
    """One step of the schema: its number, its name and what it does."""

    version: int
    name: str
    upgrade: Callable[[Connection], None]


def discover() -> tuple[Migration, ...]:
    """Every migration module in this package, in order; gaps are a packaging bug."""
    found: list[Migration] = []
    for info in pkgutil.iter_modules(__path__):
        m = _NAME_RE.match(info.name)
        if not m:
            continue
        found.append(Migration(int(m.group(1)), m.group(2), _deferred(info.name)))
    found.sort(key=lambda mig: mig.version)
    for expected, mig in enumerate(found, 1):
        if mig.version != expected:
            raise RuntimeError(f"state store migrations are not numbered 1..N: missing {expected}")
    return tuple(found)


def _deferred(module_name: str) -> Callable[[Connection], None]:
    """The module's ``upgrade``, imported only when it runs.

    A migration builds its tables at import; every command opens the store but
    only ``pipekit init`` upgrades it, so the others need just the numbers.
    """

    def upgrade(conn: Connection) -> None:
        importlib.import_module(f"{__name__}.{module_name}").upgrade(conn)

    return upgrade


MIGRATIONS: tuple[Migration, ...] = discover()
LATEST_VERSION: int = MIGRATIONS[-1].version


def current_version(conn: Connection) -> int | None:
    """The schema version of the database, or None when it was never initialised."""
    if not inspect(conn).has_table("schema_version"):
        return None
    return conn.execute(select(func.max(version_table.c.version))).scalar()


def apply(conn: Connection, migration: Migration) -> None:
    """Run one migration and record it, inside the caller's transaction."""
    _meta.create_all(conn, checkfirst=True)
    migration.upgrade(conn)
    conn.execute(
        version_table.insert().values(
            version=migration.version, name=migration.name, applied_at=utcnow()
        )
    )
