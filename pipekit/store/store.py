"""``Store``: the state database, its schema version and its repositories.

    >>> store = Store.open(load_config())      # or a path, or postgresql://...
    >>> store.init()                           # create / upgrade (idempotent)
    >>> store.connections.add("erp", "postgresql://db1/erp", password="$ERP_PW")

Every read or write goes through ``Store.read()`` / ``Store.write()``, which
first make sure the database is initialised and at the version this code
knows; the repositories (``store.connections``, ``store.settings``, ...) are
thin typed layers on top of them.

A unit of work spans several repository calls::

    >>> with store.transaction() as tx:
    ...     tx.modules.add("orders", ...)
    ...     tx.watermarks.replace_all("orders", [...])

Inside the block every repository call of this thread joins one connection
and one transaction (each write in a savepoint of its own, so a refused write
can be caught without losing the others); the block commits when it ends and
rolls everything back when it raises.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from pipekit.errors import SchemaVersionError, StoreError
from pipekit.store.database import WRITE_OPTION, Target, make_engine, resolve_target
from pipekit.store.migrations import LATEST_VERSION, MIGRATIONS, Migration, apply, current_version

if TYPE_CHECKING:
    from pipekit.config import Config
    from pipekit.store.audit import AuditRepo
    from pipekit.store.connections import ConnectionRepo
    from pipekit.store.drivers import DriverRepo
    from pipekit.store.groups import GroupRepo
    from pipekit.store.module_hooks import HookRepo
    from pipekit.store.module_parts import CheckRepo, WatermarkRepo
    from pipekit.store.modules import ModuleRepo
    from pipekit.store.queue import QueueRepo
    from pipekit.store.runs import RunRepo
    from pipekit.store.schedules import ScheduleRepo
    from pipekit.store.settings import SettingsRepo
    from pipekit.store.users import UserRepo

# Key of the PostgreSQL advisory lock that serialises concurrent `pipekit init`s.
_MIGRATION_LOCK_KEY = 0x50495045  # "PIPE"


def create_private(path: Path) -> None:
    """Create the SQLite file `path` readable by its owner only (0600), if it is missing:
    it holds the users' password hashes and every run's SQL. SQLite gives its journal
    and WAL files the database file's mode."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise StoreError(
            f"cannot create state database {path}: {exc.strerror}; change 'database' in the config"
        ) from None
    os.close(fd)


class Store:
    """The state database. Create with ``Store.open``; close (or use ``with``) when done."""

    latest_version: int = LATEST_VERSION
    """The schema version this code creates and expects."""

    def __init__(self, target: Target) -> None:
        from pipekit.store.audit import AuditRepo
        from pipekit.store.connections import ConnectionRepo
        from pipekit.store.drivers import DriverRepo
        from pipekit.store.groups import GroupRepo
        from pipekit.store.module_hooks import HookRepo
        from pipekit.store.module_parts import CheckRepo, WatermarkRepo
        from pipekit.store.modules import ModuleRepo
        from pipekit.store.queue import QueueRepo
        from pipekit.store.runs import RunRepo
        from pipekit.store.schedules import ScheduleRepo
        from pipekit.store.settings import SettingsRepo
        from pipekit.store.users import UserRepo

        self.target = target
        self._engine: Engine | None = None
        self._checked = False
        self._local = threading.local()  # .conn: this thread's open transaction, if any
        self.connections: ConnectionRepo = ConnectionRepo(self)
        self.drivers: DriverRepo = DriverRepo(self)
        self.settings: SettingsRepo = SettingsRepo(self)
        self.modules: ModuleRepo = ModuleRepo(self)
        self.watermarks: WatermarkRepo = WatermarkRepo(self)
        self.hooks: HookRepo = HookRepo(self)
        self.checks: CheckRepo = CheckRepo(self)
        self.groups: GroupRepo = GroupRepo(self)
        self.schedules: ScheduleRepo = ScheduleRepo(self)
        self.runs: RunRepo = RunRepo(self)
        self.queue: QueueRepo = QueueRepo(self)
        self.users: UserRepo = UserRepo(self)
        self.audit: AuditRepo = AuditRepo(self)

    @classmethod
    def open(cls, target: Config | str | Path) -> Store:
        """A store for a loaded config, a SQLite file path or a database URL.

        Nothing is created or connected until the store is used.
        """
        return cls(resolve_target(target))

    # -- lifecycle ---------------------------------------------------------

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.target.dialect

    def display(self) -> str:
        """Where the database is, safe to print (no password)."""
        return self.target.display()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.target)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema version ----------------------------------------------------

    def schema_version(self) -> int | None:
        """The database's schema version; None when it was never initialised."""
        if self._missing_file():
            return None  # do not create an empty file just by looking
        with self._connection() as conn, conn.begin():
            return current_version(conn)

    def init(self) -> list[Migration]:
        """Create or upgrade the schema; returns the migrations applied (empty if none).

        Each migration runs in its own transaction with its ``schema_version``
        row. Concurrent calls are safe: SQLite's ``BEGIN IMMEDIATE`` and a
        PostgreSQL advisory lock make them take turns, and each re-reads the
        version inside its transaction.
        """
        if self.target.path is not None:
            try:
                self.target.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the folder of state database {self.display()}: "
                    f"{exc.strerror}; change 'database' in the config"
                ) from None
            create_private(self.target.path)
        applied: list[Migration] = []
        while True:
            with self._connection(write=True) as conn, conn.begin():
                if self.dialect == "postgresql":
                    lock = text("SELECT pg_advisory_xact_lock(:k)")
                    conn.execute(lock, {"k": _MIGRATION_LOCK_KEY})
                version = current_version(conn) or 0
                self._refuse_newer(version)
                pending = [m for m in MIGRATIONS if m.version > version]
                if not pending:
                    break
                apply(conn, pending[0])
                applied.append(pending[0])
        self._checked = True
        return applied

    def check(self) -> int:
        """The schema version, or a SchemaVersionError saying what to do."""
        version = self.schema_version()
        where = self.display()
        if version is None:
            raise SchemaVersionError(
                f"state database {where} is not initialised; run `pipekit init`"
            )
        self._refuse_newer(version)
        if version < LATEST_VERSION:
            raise SchemaVersionError(
                f"state database {where} is at schema version {version}, this Pipekit "
                f"needs {LATEST_VERSION}; run `pipekit init` to upgrade it"
            )
        self._checked = True
        return version

    def _refuse_newer(self, version: int) -> None:
        if version > LATEST_VERSION:
            raise SchemaVersionError(
                f"state database {self.display()} is at schema version {version}, this "
                f"Pipekit knows up to {LATEST_VERSION}; upgrade Pipekit"
            )

    def _missing_file(self) -> bool:
        return self.target.path is not None and not self.target.path.exists()

    # -- transactions --------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """A unit of work: repository calls in the block commit or roll back together.

        Yields the store itself; a nested ``transaction()`` joins the outer one.
        """
        if self._current() is not None:
            yield self
            return
        if not self._checked:
            self.check()
        with self._connection(write=True) as conn, conn.begin():
            self._local.conn = conn
            try:
                yield self
            finally:
                self._local.conn = None

    @property
    def in_transaction(self) -> bool:
        """Whether this thread is inside ``transaction()``."""
        return self._current() is not None

    def _current(self) -> Connection | None:
        return getattr(self._local, "conn", None)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection inside a read transaction on a current schema."""
        current = self._current()
        if current is not None:
            yield current
            return
        if not self._checked:
            self.check()
        with self._connection() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection inside a write transaction, committed when the block ends
        (inside ``transaction()``: a savepoint of the open transaction)."""
        current = self._current()
        if current is not None:
            with current.begin_nested():
                yield current
            return
        if not self._checked:
            self.check()
        with self._connection(write=True) as conn, conn.begin():
            yield conn

    @contextmanager
    def _connection(self, *, write: bool = False) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                if write:
                    conn.execution_options(**{WRITE_OPTION: True})
                yield conn
        except OperationalError as exc:
            # The driver's own words (unreachable, locked, permission denied)
            # without SQLAlchemy's statement dump.
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise StoreError(f"cannot use state database {self.display()}: {reason}") from None
