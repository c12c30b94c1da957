"""Migration 4: ``run_log.committed`` — whether the run's merge committed.

A run that ends ``error`` may have changed the destination (the merge committed, then
a hook failed) or not (anything failed before the commit). A scheduler reading the
exit code, and a person reading the run log, need to tell the two apart; the error
text alone is not a contract. Runs recorded before this migration keep NULL: it is
not known for them.
"""

from __future__ import annotations

from sqlalchemy import Connection, text


def upgrade(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE run_log ADD COLUMN committed BOOLEAN"))
