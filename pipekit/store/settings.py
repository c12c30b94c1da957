"""Settings: a small key/value table for state that belongs with the database.

The bootstrap YAML says where things are; ``settings`` holds what operators
change at run time (for example the scheduler's pause switch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from pipekit.store import schema
from pipekit.store.types import utcnow

if TYPE_CHECKING:
    from pipekit.store.store import Store

_t = schema.settings


class SettingsRepo:
    """Get and set string values by key."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, key: str, default: str | None = None) -> str | None:
        with self._store.read() as conn:
            row = conn.execute(select(_t.c.value).where(_t.c.key == key)).first()
        return default if row is None else row[0]

    def set(self, key: str, value: str | None) -> None:
        """Insert or replace `key` (portable: no dialect-specific upsert needed)."""
        with self._store.write() as conn:
            updated = conn.execute(
                _t.update().where(_t.c.key == key).values(value=value, updated_at=utcnow())
            ).rowcount
            if not updated:
                conn.execute(_t.insert().values(key=key, value=value, updated_at=utcnow()))

    def delete(self, key: str) -> bool:
        """Remove `key`; False when it was not set."""
        with self._store.write() as conn:
            return bool(conn.execute(_t.delete().where(_t.c.key == key)).rowcount)

    def all(self) -> dict[str, str | None]:
        with self._store.read() as conn:
            rows = conn.execute(select(_t.c.key, _t.c.value).order_by(_t.c.key)).all()
        return {k: v for k, v in rows}
