"""Migration 6 (issue 17): a role on every user, and the audit trail.

- ``user.role``: ``viewer``, ``operator``, ``editor`` or ``admin`` (``pipekit.roles``).
  Users that exist before this migration become ``admin``: until now every user could
  do everything, so any other role would take rights away from a running installation
  without anyone deciding it (and could leave it with no admin at all). Lower them with
  ``pipekit users set-role``. The repository always writes the role of a new user; the
  column's default only fills the rows that are already there.
- ``audit_log``: who (``api:<user>``, ``web:<user>``, ``cli:<os user>``) changed which
  object, when, and which fields (names only, never values).

Frozen: it defines the table it creates itself instead of importing ``schema.py``.
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, Index, Integer, MetaData, String, Table, Text, text

from pipekit.store.types import UTCDateTime

_meta = MetaData()
audit_log = Table(
    "audit_log",
    _meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(40), nullable=False),
    Column("object_type", String(40), nullable=False),
    Column("object_name", String(400)),
    Column("fields_json", Text, nullable=False),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_object_type_object_name_at", "object_type", "object_name", "at"),
    Index("ix_audit_log_actor_at", "actor", "at"),
)


def upgrade(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE \"user\" ADD COLUMN role VARCHAR(20) DEFAULT 'admin' NOT NULL"))
    _meta.create_all(conn)
