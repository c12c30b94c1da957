"""The state store: the only code that touches Pipekit's own database.

    >>> from pipekit.store import Store
    >>> with Store.open(config) as store:
    ...     store.init()
    ...     store.connections.add("erp", "postgresql://db1/erp", password="$ERP_PW")

SQLite by default (one file, WAL), PostgreSQL for several workers; the same
SQLAlchemy Core schema (``pipekit.store.schema``) and the same numbered
migrations (``pipekit.store.migrations``) serve both. See docs/state-store.md.
"""

from pipekit.store.connections import Connection, ConnectionRepo
from pipekit.store.migrations import LATEST_VERSION, Migration
from pipekit.store.repo import UNSET, AlreadyExistsError, InUseError
from pipekit.store.settings import SettingsRepo
from pipekit.store.store import Store
from pipekit.store.types import UTCDateTime, utcnow

__all__ = [
    "LATEST_VERSION",
    "UNSET",
    "AlreadyExistsError",
    "Connection",
    "ConnectionRepo",
    "InUseError",
    "Migration",
    "SettingsRepo",
    "Store",
    "UTCDateTime",
    "utcnow",
]
