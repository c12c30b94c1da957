"""Migration 10: audit column names and a record-source audit column.

- ``module.audit_loaded_at_column`` / ``module.audit_run_id_column``: the names of
  the two audit columns (null: ``_pipekit_loaded_at`` / ``_pipekit_run_id``).
- ``module.audit_source_column``: the name of a record-source audit column (null:
  none), seeds/003's ``dss_record_source``.
"""

from __future__ import annotations

from sqlalchemy import Connection, text


def upgrade(conn: Connection) -> None:
    for column in ("audit_loaded_at_column", "audit_run_id_column", "audit_source_column"):
        conn.execute(text(f"ALTER TABLE module ADD COLUMN {column} TEXT"))
