"""The state store: the only code that touches Pipekit's own database.

    >>> from pipekit.store import Store
    >>> with Store.open(config) as store:
    ...     store.init()
    ...     store.connections.add("erp", "postgresql://db1/erp", password="$ERP_PW")

SQLite by default (one file, WAL), PostgreSQL for several workers; the same
SQLAlchemy Core schema (``pipekit.store.schema``) and the same numbered
migrations (``pipekit.store.migrations``) serve both. See docs/state-store.md.
"""

from pipekit.errors import GroupSpecError, ModuleSpecError, ScheduleSpecError, UserSpecError
from pipekit.store.connections import Connection, ConnectionRepo
from pipekit.store.drivers import DriverRepo, RegisteredDriver
from pipekit.store.groups import Group, GroupRepo
from pipekit.store.migrations import LATEST_VERSION, Migration
from pipekit.store.module_hooks import Hook, HookRepo
from pipekit.store.module_parts import Check, CheckRepo, Watermark, WatermarkRepo
from pipekit.store.modules import HistoryEntry, Module, ModuleRepo
from pipekit.store.repo import UNSET, AlreadyExistsError, InUseError
from pipekit.store.runs import GroupRun, LockHolder, Run, RunRepo
from pipekit.store.schedules import Schedule, ScheduleRepo
from pipekit.store.settings import SettingsRepo
from pipekit.store.store import Store
from pipekit.store.types import UTCDateTime, utcnow
from pipekit.store.users import User, UserRepo

__all__ = [
    "LATEST_VERSION",
    "UNSET",
    "AlreadyExistsError",
    "Check",
    "CheckRepo",
    "Connection",
    "ConnectionRepo",
    "DriverRepo",
    "Group",
    "GroupRepo",
    "GroupRun",
    "GroupSpecError",
    "HistoryEntry",
    "Hook",
    "HookRepo",
    "InUseError",
    "LockHolder",
    "Migration",
    "Module",
    "ModuleRepo",
    "ModuleSpecError",
    "RegisteredDriver",
    "Run",
    "RunRepo",
    "Schedule",
    "ScheduleRepo",
    "ScheduleSpecError",
    "SettingsRepo",
    "Store",
    "UTCDateTime",
    "User",
    "UserRepo",
    "UserSpecError",
    "Watermark",
    "WatermarkRepo",
    "utcnow",
]
