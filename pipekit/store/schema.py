"""The state store schema as it is at the latest migration (SQLAlchemy Core).

Queries are written against these ``Table`` objects. The migrations in
``pipekit.store.migrations`` build the same schema step by step; a test checks
that a migrated database matches this metadata, so a change here without a
migration (or the reverse) fails the suite.

Conventions: integer surrogate keys named ``id``; names unique; timestamps are
``UTCDateTime`` (see ``pipekit.store.types``); JSON documents are text columns
named ``*_json``; booleans are ``Boolean``. Constraint names follow
``NAMING_CONVENTION`` so later migrations can refer to them on both backends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)

# declared with the module settings they constrain; re-exported for the repositories
from pipekit.module_settings import MERGE_STRATEGIES as MERGE_STRATEGIES
from pipekit.module_settings import SETTINGS, SettingInfo
from pipekit.module_settings import WATERMARK_OPS as WATERMARK_OPS
from pipekit.status import RUN_STATUSES as _STATUSES
from pipekit.store.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

RUN_STATUSES = _STATUSES  # declared once in pipekit.status, for every face
HOOK_RUN_ON = ("success", "failure", "always")

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True, autoincrement=True)


def _setting_column(s: SettingInfo) -> Column[Any]:
    """The column of one module setting, as the settings table declares it."""
    if s.spec.connection:
        fk = ForeignKey("connection.id", ondelete="RESTRICT")
        return Column(f"{s.name}_connection_id", Integer, fk)
    if s.kind == "bool":
        default = true() if s.default else false()
        return Column(s.name, Boolean, nullable=False, server_default=default)
    kind = String(s.spec.max_length) if s.spec.max_length else Text
    if s.default is None:
        return Column(s.name, kind)
    return Column(s.name, kind, nullable=False, server_default=str(s.default))


def _created() -> Column[datetime]:
    return Column("created_at", UTCDateTime, nullable=False)


def _updated() -> Column[datetime]:
    return Column("updated_at", UTCDateTime, nullable=False)


schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

driver = Table(
    "driver",
    metadata,
    _id(),
    Column("kind", String(50), nullable=False),
    Column("name", String(200), nullable=False, unique=True),
    Column("class_name", Text),
    Column("url_template", Text),
    _created(),
    # JSON list of the jar files in driver_dir (migration 7)
    Column("jars", Text),
)

connection = Table(
    "connection",
    metadata,
    _id(),
    Column("name", String(200), nullable=False, unique=True),
    Column("url", Text, nullable=False),
    # JDBC connections name their registered driver; native kinds leave it empty.
    Column("driver_id", Integer, ForeignKey("driver.id", ondelete="RESTRICT")),
    Column("user", String(200)),
    # Only ever a `$VAR` reference (enforced by the repository), never a value.
    Column("password", String(200)),
    Column("supports_deletes", Boolean, nullable=False, server_default=true()),
    _created(),
    _updated(),
    # A connector connection's options (tables, pagination, auth kind) as JSON; no secret.
    Column("options_json", Text),
)

module = Table(
    "module",
    metadata,
    _id(),
    Column("name", String(200), nullable=False, unique=True),
    *(_setting_column(s) for s in SETTINGS),
    # Lock: taken with UPDATE ... SET running = true WHERE running = false.
    Column("running", Boolean, nullable=False, server_default=false()),
    Column("locked_by_run_id", Integer),  # no FK: run_log references module already
    Column("locked_pid", Integer),
    Column("locked_host", String(255)),
    Column("locked_at", UTCDateTime),
    # migration 8: the lock is a lease; its holder renews lease_expires_at (a heartbeat)
    # and a lease that expired is recovered on any host. NULL while a queued run holds it.
    Column("lease_owner", String(255)),  # host:pid:random of the process holding it
    Column("lease_expires_at", UTCDateTime),
    _created(),
    _updated(),
    CheckConstraint(_in("merge_strategy", MERGE_STRATEGIES), name="merge_strategy"),
    CheckConstraint(_in("watermark_op", WATERMARK_OPS), name="watermark_op"),
)

watermark = Table(
    "watermark",
    metadata,
    _id(),
    Column("module_id", Integer, ForeignKey("module.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("connection_id", Integer, ForeignKey("connection.id", ondelete="RESTRICT")),
    Column("resolver_sql", Text),
    Column("default_value", Text),
    Column("last_value", Text),
    UniqueConstraint("module_id", "name"),
)

hook = Table(
    "hook",
    metadata,
    _id(),
    Column("module_id", Integer, ForeignKey("module.id", ondelete="CASCADE"), nullable=False),
    Column("run_order", Integer, nullable=False, server_default="0"),
    Column("sql", Text, nullable=False),
    Column("run_on", String(10), nullable=False, server_default="success"),
    CheckConstraint(_in("run_on", HOOK_RUN_ON), name="run_on"),
    Index("ix_hook_module_id_run_order", "module_id", "run_order"),
)

module_check = Table(
    "module_check",
    metadata,
    _id(),
    Column("module_id", Integer, ForeignKey("module.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("sql", Text, nullable=False),
    Column("run_order", Integer, nullable=False, server_default="0"),
    UniqueConstraint("module_id", "name"),
)

grp = Table(
    "grp",
    metadata,
    _id(),
    Column("name", String(200), nullable=False, unique=True),
    Column("description", Text),
)

group_member = Table(
    "group_member",
    metadata,
    _id(),
    Column("group_id", Integer, ForeignKey("grp.id", ondelete="CASCADE"), nullable=False),
    Column("module_id", Integer, ForeignKey("module.id", ondelete="CASCADE"), nullable=False),
    Column("run_order", Integer, nullable=False, server_default="0"),
    UniqueConstraint("group_id", "module_id"),
)

group_run = Table(
    "group_run",
    metadata,
    _id(),
    # History outlives the group: the id is cleared and the name kept.
    Column("group_id", Integer, ForeignKey("grp.id", ondelete="SET NULL")),
    Column("group_name", String(200), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("status", String(20), nullable=False, server_default="running"),
    Column("triggered_by", String(200)),  # manual | schedule:{id} | api:{user} | ...
    Column("error", Text),
    Column("dry_run", Boolean, nullable=False, server_default=false()),  # migration 8
    CheckConstraint(_in("status", RUN_STATUSES), name="status"),
    Index("ix_group_run_group_id_started_at", "group_id", "started_at"),
)

schedule = Table(
    "schedule",
    metadata,
    _id(),
    Column("group_id", Integer, ForeignKey("grp.id", ondelete="CASCADE"), nullable=False),
    Column("cron_expr", String(200), nullable=False),
    Column("enabled", Boolean, nullable=False, server_default=true()),
    Column("last_fired_at", UTCDateTime),
    _created(),
    Index("ix_schedule_group_id", "group_id"),
)

run_log = Table(
    "run_log",
    metadata,
    _id(),
    # The audit trail outlives the module: the id is cleared and the name kept.
    Column("module_id", Integer, ForeignKey("module.id", ondelete="SET NULL")),
    Column("module_name", String(200), nullable=False),
    Column("group_run_id", Integer, ForeignKey("group_run.id", ondelete="SET NULL")),
    Column("triggered_by", String(200)),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("status", String(20), nullable=False, server_default="running"),
    Column("merge_strategy", String(20)),  # the strategy actually used (full refresh, fallback)
    Column("rows_read", Integer),
    Column("rows_inserted", Integer),
    Column("rows_deleted", Integer),
    Column("row_count", Integer),
    Column("error", Text),
    Column("source_query", Text),
    Column("merge_sql", Text),
    Column("hook_sql", Text),
    Column("check_sql", Text),
    Column("watermarks_json", Text),
    Column("schema_changes", Text),
    Column("live_log", Text),
    Column("cancel_requested", Boolean, nullable=False, server_default=false()),
    Column("pid", Integer),
    Column("host", String(255)),
    # migration 4: the merge committed (NULL for runs recorded before it)
    Column("committed", Boolean),
    # migration 5: rows_deleted is key_sync's alone since (pipekit.run_counters)
    Column("rows_replaced", Integer),
    Column("rows_cleared", Integer),
    # migration 8: what was asked (a queued run is started from it, perhaps elsewhere),
    # and the run's database sessions ([{"connection", "kind", "backend", "started"}])
    Column("dry_run", Boolean, nullable=False, server_default=false()),
    Column("full_refresh", Boolean, nullable=False, server_default=false()),
    Column("sessions_json", Text),
    CheckConstraint(_in("status", RUN_STATUSES), name="status"),
    Index("ix_run_log_module_id_started_at", "module_id", "started_at"),
    Index("ix_run_log_status", "status"),
    Index("ix_run_log_started_at", "started_at"),
    Index("ix_run_log_group_run_id", "group_run_id"),
    # migration 2: the web console's run pages
    Index("ix_run_log_module_name_started_at", "module_name", "started_at"),
    Index("ix_run_log_status_started_at", "status", "started_at"),
    Index("ix_run_log_module_id_status_started_at", "module_id", "status", "started_at"),
)

module_history = Table(
    "module_history",
    metadata,
    _id(),
    Column("module_id", Integer, ForeignKey("module.id", ondelete="CASCADE"), nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
    Column("changed_by", String(200)),
    Column("diff_json", Text, nullable=False),  # {"field": [old, new], ...}
    Index("ix_module_history_module_id_changed_at", "module_id", "changed_at"),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text),
    Column("updated_at", UTCDateTime, nullable=False),
)

user = Table(
    "user",
    metadata,
    _id(),
    Column("name", String(200), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    # pipekit.roles; the default only filled the users migration 6 found (see there):
    # the repository writes every new user's role itself
    Column("role", String(20), nullable=False, server_default="admin"),
    _created(),
)

# who changed which object, when, and which fields (names only, never values)
audit_log = Table(
    "audit_log",
    metadata,
    _id(),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(40), nullable=False),
    Column("object_type", String(40), nullable=False),
    Column("object_name", String(400)),
    Column("fields_json", Text, nullable=False),  # ["url", "user"]
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_object_type_object_name_at", "object_type", "object_name", "at"),
    Index("ix_audit_log_actor_at", "actor", "at"),
)

# migration 8: accepted runs waiting for a worker, claimed in id order (FIFO) by any
# server sharing the store (PostgreSQL: FOR UPDATE SKIP LOCKED)
run_queue = Table(
    "run_queue",
    metadata,
    _id(),
    Column("run_id", Integer, ForeignKey("run_log.id", ondelete="CASCADE")),
    Column("group_run_id", Integer, ForeignKey("group_run.id", ondelete="CASCADE")),
    Column("queued_at", UTCDateTime, nullable=False),
)

# migration 8: one row per schedule slot fired; the unique key makes a slot fire once
# across every server sharing the store
schedule_firing = Table(
    "schedule_firing",
    metadata,
    _id(),
    Column("schedule_id", Integer, ForeignKey("schedule.id", ondelete="CASCADE"), nullable=False),
    Column("slot_at", UTCDateTime, nullable=False),
    Column("fired_at", UTCDateTime, nullable=False),
    Column("fired_by", String(255)),
    UniqueConstraint("schedule_id", "slot_at"),
)
