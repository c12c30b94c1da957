"""Migration 5: ``run_log.rows_replaced`` and ``run_log.rows_cleared``.

Until now ``rows_deleted`` added up three different things: rows replaced by a new
version of the same key, rows deleted by key_sync, and a full load's old rows. From
this version each has its own counter and ``rows_deleted`` means only "deleted by
key_sync" (see ``pipekit.run_counters``). Runs recorded before keep their total in
``rows_deleted`` and NULL in the two new columns: it cannot be split afterwards.
"""

from __future__ import annotations

from sqlalchemy import Connection, text


def upgrade(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE run_log ADD COLUMN rows_replaced INTEGER"))
    conn.execute(text("ALTER TABLE run_log ADD COLUMN rows_cleared INTEGER"))
