"""Migration 9: connectors as module sources.

- ``module.source_table``: a module reads a table of a connector connection
  (``rest+https://``, ``file:///``, ``s3://``, ``connector://``) instead of running
  ``source_query``; exactly one of the two is set.
- ``connection.options_json``: a connector connection's options (its tables,
  pagination, auth kind...), as JSON; never a secret (that stays the password
  reference).
"""

from __future__ import annotations

from sqlalchemy import Connection, text


def upgrade(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE module ADD COLUMN source_table TEXT"))
    conn.execute(text("ALTER TABLE connection ADD COLUMN options_json TEXT"))
