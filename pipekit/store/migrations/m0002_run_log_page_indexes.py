"""Indexes for the web console's run pages at scale (a million runs and more).

- ``(module_name, started_at)``: the runs list filtered by module (it filters by name,
  so runs of a removed module stay listed), newest first, a page at a time;
- ``(status, started_at)``: the runs list filtered by status and the dashboard's
  recent failures and runs in progress;
- ``(module_id, status, started_at)``: each module's last success (late modules)
  in one index probe per module.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

INDEXES = (
    ("ix_run_log_module_name_started_at", "module_name, started_at"),
    ("ix_run_log_status_started_at", "status, started_at"),
    ("ix_run_log_module_id_status_started_at", "module_id, status, started_at"),
)


def upgrade(conn: Connection) -> None:
    for name, columns in INDEXES:
        conn.execute(text(f"CREATE INDEX {name} ON run_log ({columns})"))
