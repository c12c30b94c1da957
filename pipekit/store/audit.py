"""The audit trail: one row per change of a connection, module, group, schedule, user
or setting — who, when, what (action, object, changed field names; never values).

Rows are only added (``record``) and read (``list``); nothing updates or deletes them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from pipekit.store import schema
from pipekit.store.types import utcnow

if TYPE_CHECKING:
    from pipekit.store.store import Store

_t = schema.audit_log


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_name: str | None
    fields: tuple[str, ...]


class AuditRepo:
    def __init__(self, store: Store) -> None:
        self._store = store

    def record(
        self,
        actor: str,
        action: str,
        object_type: str,
        object_name: str | None,
        fields: Sequence[str] = (),
    ) -> None:
        with self._store.write() as conn:
            conn.execute(
                _t.insert().values(
                    at=utcnow(),
                    actor=actor,
                    action=action,
                    object_type=object_type,
                    object_name=object_name,
                    fields_json=json.dumps(sorted(set(fields))),
                )
            )

    def list(
        self,
        *,
        object_type: str | None = None,
        object_name: str | None = None,
        actor: str | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """The newest `limit` entries matching every filter given, newest first."""
        q = select(_t).order_by(_t.c.id.desc()).limit(limit)
        if object_type is not None:
            q = q.where(_t.c.object_type == object_type)
        if object_name is not None:
            q = q.where(_t.c.object_name == object_name)
        if actor is not None:
            q = q.where(_t.c.actor == actor)
        with self._store.read() as conn:
            rows = conn.execute(q).all()
        return [
            AuditEntry(
                r.id,
                r.at,
                r.actor,
                r.action,
                r.object_type,
                r.object_name,
                tuple(json.loads(r.fields_json)),
            )
            for r in rows
        ]
