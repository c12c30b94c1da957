"""Migration 7: a registered JDBC driver keeps a list of jars (``driver.jars``).

``driver.jar_file`` held one path and was never written; a driver may need several
jars (a jar and its dependencies), so it becomes ``jars``, a JSON list of the
files copied into ``driver_dir``.
"""

from __future__ import annotations

from sqlalchemy import Connection, text


def upgrade(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE driver ADD COLUMN jars TEXT"))
    conn.execute(text("ALTER TABLE driver DROP COLUMN jar_file"))
