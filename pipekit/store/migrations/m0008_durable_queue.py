"""Migration 8: a durable run queue, module leases and one firing per schedule slot.

- ``queued`` joins the run statuses of ``run_log`` and ``group_run`` (their CHECK);
- ``run_log.dry_run`` / ``full_refresh`` and ``group_run.dry_run``: what was asked,
  so a queued run can be started after a restart, by any server;
- ``run_log.sessions_json``: the database sessions (backend ids) of a run, so a
  killed run's sessions can be cancelled when its lease is recovered;
- ``module.lease_owner`` / ``lease_expires_at``: the module lock is a lease that its
  holder renews (a heartbeat); one that expired is recovered on any host;
- ``run_queue``: accepted runs waiting for a worker, claimed in id order;
- ``schedule_firing``: one row per (schedule, slot) fired, unique, so several
  servers sharing the store fire each slot once.

SQLite cannot change a CHECK constraint in place: ``run_log`` and ``group_run`` are
rebuilt from their own stored definition with the one clause changed (SQLite's
documented 12-step procedure, inside this migration's transaction). ``group_run`` is
renamed first, so dropping it never fires ``run_log``'s ON DELETE SET NULL.
"""

from __future__ import annotations

import re

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.schema import CreateColumn

from pipekit.store.types import UTCDateTime

STATUSES = ("queued", "running", "success", "dry_run", "error", "cancelled")
_CHECK = ", ".join(repr(s) for s in STATUSES)

metadata = MetaData(
    naming_convention={
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
# Stand-ins so the foreign keys below resolve; never created here.
Table("run_log", metadata, Column("id", Integer, primary_key=True))
Table("group_run", metadata, Column("id", Integer, primary_key=True))
Table("schedule", metadata, Column("id", Integer, primary_key=True))

run_queue = Table(
    "run_queue",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("run_log.id", ondelete="CASCADE")),
    Column("group_run_id", Integer, ForeignKey("group_run.id", ondelete="CASCADE")),
    Column("queued_at", UTCDateTime, nullable=False),
)

schedule_firing = Table(
    "schedule_firing",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("schedule_id", Integer, ForeignKey("schedule.id", ondelete="CASCADE"), nullable=False),
    Column("slot_at", UTCDateTime, nullable=False),
    Column("fired_at", UTCDateTime, nullable=False),
    Column("fired_by", String(255)),
    UniqueConstraint("schedule_id", "slot_at"),
)

NEW_COLUMNS: tuple[tuple[str, Column[object]], ...] = (
    ("module", Column("lease_owner", String(255))),
    ("module", Column("lease_expires_at", UTCDateTime)),
    ("run_log", Column("dry_run", Boolean, nullable=False, server_default=false())),
    ("run_log", Column("full_refresh", Boolean, nullable=False, server_default=false())),
    ("run_log", Column("sessions_json", Text)),
    ("group_run", Column("dry_run", Boolean, nullable=False, server_default=false())),
)


def upgrade(conn: Connection) -> None:
    for table, column in NEW_COLUMNS:
        ddl = CreateColumn(column).compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {ddl}"))
    if conn.dialect.name == "sqlite":
        _sqlite_widen_checks(conn)
    else:
        for table in ("run_log", "group_run"):
            conn.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT ck_{table}_status"))
            conn.execute(
                text(
                    f"ALTER TABLE {table} ADD CONSTRAINT ck_{table}_status "
                    f"CHECK (status IN ({_CHECK}))"
                )
            )
    run_queue.create(conn)
    schedule_firing.create(conn)


def _sqlite_widen_checks(conn: Connection) -> None:
    def definition(table: str) -> tuple[str, list[str]]:
        create = conn.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}
        ).scalar_one()
        indexes = conn.execute(
            text(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t "
                "AND sql IS NOT NULL"
            ),
            {"t": table},
        ).scalars()
        widened, n = re.subn(r"CHECK \(status IN \([^)]*\)\)", f"CHECK (status IN ({_CHECK}))",
                             create)  # fmt: skip
        if n != 1:
            raise RuntimeError(f"migration 8: cannot find the status CHECK of {table}")
        return widened, list(indexes)

    group_sql, group_indexes = definition("group_run")
    run_sql, run_indexes = definition("run_log")
    # 1. the old group_run steps aside (run_log's foreign key follows the rename)
    conn.execute(text("ALTER TABLE group_run RENAME TO group_run_old"))
    conn.execute(text(_named(group_sql, "group_run", "group_run")))
    conn.execute(text("INSERT INTO group_run SELECT * FROM group_run_old"))
    # 2. run_log rebuilt, now referring to the new group_run (its stored text says so)
    conn.execute(text(_named(run_sql, "run_log", "run_log_new")))
    conn.execute(text("INSERT INTO run_log_new SELECT * FROM run_log"))
    conn.execute(text("DROP TABLE run_log"))
    conn.execute(text("ALTER TABLE run_log_new RENAME TO run_log"))
    # 3. nothing refers to the old group_run any more: dropping it touches no row
    conn.execute(text("DROP TABLE group_run_old"))
    for sql in group_indexes + run_indexes:
        conn.execute(text(sql))


def _named(create_sql: str, old: str, new: str) -> str:
    """`create_sql` (a stored CREATE TABLE) creating table `new` instead of `old`."""
    head, sep, rest = create_sql.partition("(")
    head = re.sub(rf'"?{old}"?\s*$', f'"{new}"', head.rstrip()) + " "
    return head + sep + rest
