"""Migration 3: drop ``module.columns_json``.

It was declared for "the column mapping of the last run" and never written. The
mapping is derived from the source query whenever it is asked for
(``GET /api/modules/{id}/mapping``, the console's module page), and a run records
its SQL, so a stored copy could only go stale.
"""

from __future__ import annotations

from sqlalchemy import Connection, text


def upgrade(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE module DROP COLUMN columns_json"))
