"""Run one module end to end (DESIGN 6.1): lock, watermarks, staging, merge, checks, hooks, log.

``Engine`` is the entry point the runtime and the services call; the run itself
is split by concern: ``plan.py`` (what to read and how to merge it, pure),
``execute.py`` (the run while it goes), ``staging.py``, ``commit.py``,
``hooks.py``, ``preview.py`` and ``groups.py`` (``run_group``).

The destination is only ever changed inside one transaction (or, on MariaDB,
DDL that adds and never removes, followed by one transaction), so a run that
fails or is cancelled at any point leaves the destination as it was. Every
step is written to the run's live log as it happens, and the final record
(SQL, watermark values, counts, error) when it ends; the lock is released in
``finally``, and a lock left by a killed process is recovered by the next run.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipekit.engine.events import EventHandler, RunEvent
from pipekit.engine.execute import ModuleRun
from pipekit.engine.leases import end_sessions, owner_id
from pipekit.engine.preview import Preview, PreviewRun
from pipekit.errors import ModuleBusyError

if TYPE_CHECKING:
    from pipekit.config import Config
    from pipekit.drivers.base import Driver
    from pipekit.files import FilePolicy
    from pipekit.secrets import SecretsFile
    from pipekit.store import Store
    from pipekit.store.runs import Lease, LockHolder, Run

log = logging.getLogger("pipekit.engine")
#: seconds a module lease lasts without a heartbeat (``runs.lease_s`` in the config)
DEFAULT_LEASE_S = 60.0


def pid_alive(pid: int | None, host: str | None) -> bool:
    """Whether the process holding a lock still runs; other hosts' processes count as alive."""
    if pid is None or host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """Whether `pid` has exited but not been reaped yet.

    A killed worker whose parent died too is re-parented to PID 1, and some
    container inits reap late or never: the dead process still answers
    ``kill(pid, 0)``, and its lock would look held for good.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False  # no /proc (not Linux): trust kill()
    # "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ")"
    state = stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3]
    return state in (b"Z", b"X")


@dataclass
class Engine:
    """Runs modules and groups against one state store."""

    store: Store
    secrets: SecretsFile | None = None
    staging_schema: str = "pipekit_staging"
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    #: the files connections may open (``pipekit.files``); None: any but the state
    #: database's own file. Every connection a run opens (source, destination, the
    #: watermark resolvers, checks and hooks on them) is held to it.
    files: FilePolicy | None = None
    #: how long a module lease lasts without a heartbeat (renewed every third of it)
    lease_s: float = DEFAULT_LEASE_S
    #: the clock leases are taken, renewed and judged by (injected by tests)
    lease_clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    owner: str = field(default_factory=owner_id)
    #: how a connector source waits (Retry-After, backoff); tests inject one that records
    sleep: Callable[[float], None] = field(default=time.sleep)

    @classmethod
    def from_config(cls, store: Store, config: Config) -> Engine:
        from pipekit.engine.connections import configure_jvm
        from pipekit.secrets import SecretsFile

        configure_jvm(config)
        return cls(
            store,
            SecretsFile(config.secrets_path),
            config.staging_schema,
            files=config.file_policy(),
            lease_s=float(config["runs.lease_s"]),
        )

    def lease(self) -> Lease:
        """A lease for this process from now on, for ``lease_s`` seconds."""
        from pipekit.store.runs import Lease

        return Lease.for_(self.owner, self.lease_clock(), self.lease_s)

    def run_module(
        self,
        name: str,
        *,
        dry_run: bool = False,
        full_refresh: bool = False,
        triggered_by: str = "cli",
        group_run_id: int | None = None,
        cancel: threading.Event | None = None,
        on_event: EventHandler | None = None,
        run_id: int | None = None,
    ) -> Run:
        """Run module `name` once; returns its finished run-log row.

        Raises ``ModuleBusyError`` (nothing recorded) when another run holds the
        module's lock; every other failure is recorded in the returned run.
        With `run_id` (from ``start_module``, perhaps in another process) the lock
        is already held: this process adopts the run and carries it out.
        """
        self.remember_secrets()
        if run_id is None:
            run_id = self._begin(name, group_run_id, triggered_by)
        else:
            self.store.runs.adopt(run_id, os.getpid(), socket.gethostname(), self.lease())
        return ModuleRun(
            self,
            self.store.modules.get(name),
            run_id,
            dry_run=dry_run,
            full_refresh=full_refresh,
            cancel=cancel or threading.Event(),
            on_event=on_event,
        ).execute()

    def start_module(
        self, name: str, *, triggered_by: str = "api", group_run_id: int | None = None
    ) -> int:
        """Open a run and take the lock now, to carry it out later (``run_module(run_id=)``),
        so a caller can answer with the run id at once. ``ModuleBusyError`` if held."""
        return self._begin(name, group_run_id, triggered_by)

    def enqueue_module(
        self,
        name: str,
        *,
        triggered_by: str = "api",
        dry_run: bool = False,
        full_refresh: bool = False,
    ) -> int:
        """Record a run ``queued`` in the state store, holding the module's lock, for
        any server to claim (``store.queue``). ``ModuleBusyError`` if held by a live run."""
        kwargs: dict[str, Any] = {
            "triggered_by": triggered_by,
            "dry_run": dry_run,
            "full_refresh": full_refresh,
        }
        try:
            return self.store.queue.enqueue_module(name, **kwargs)
        except ModuleBusyError:
            if not self.recover_stale():
                raise
            return self.store.queue.enqueue_module(name, **kwargs)

    def recover_stale(self) -> list[LockHolder]:
        """Free locks whose lease expired or whose process (on this host) is gone: their
        runs end ``error`` "interrupted" (not retried) and their database sessions are
        ended. Returns the locks freed."""
        freed = self.store.runs.recover_stale_locks(pid_alive, now=self.lease_clock())
        for holder in freed:
            for line in end_sessions(holder.sessions_json, self.open_connection):
                log.warning("run %s of module %s interrupted: %s", holder.run_id, holder.module,
                            line)  # fmt: skip
        return freed

    def unlock(self, name: str, *, by: str) -> LockHolder | None:
        """Free module `name`'s lock by hand (None when not locked): a queued run holding
        it is cancelled, a running one ends "interrupted" and its sessions are ended."""
        holder = self.store.runs.force_unlock(name, by=by)
        if holder is not None:
            end_sessions(holder.sessions_json, self.open_connection)
        return holder

    def preview(self, name: str) -> Preview:
        """What the next run of module `name` would execute, planned as a dry run plans
        it (watermarks resolved, the query probed, the merge planned) but recorded
        nowhere: no run row, no live log, no lock. The connections are opened to read."""
        self.remember_secrets()
        return PreviewRun(self, self.store.modules.get(name)).plan()

    def remember_secrets(self) -> None:
        """Read every secret value a run could meet, so it is masked wherever it turns
        up (a query, an error, a watermark; ``pipekit.redact``): the secrets file's
        values and the environment variables the connections refer to."""
        from pipekit.errors import PipekitError
        from pipekit.secrets import resolve

        for connection in self.store.connections.list():
            with suppress(PipekitError, OSError):
                resolve(connection.password, self.secrets)
        if self.secrets is not None:
            with suppress(PipekitError, OSError):
                self.secrets.read()

    def _begin(self, name: str, group_run_id: int | None, triggered_by: str) -> int:
        kwargs: dict[str, Any] = {
            "group_run_id": group_run_id,
            "triggered_by": triggered_by,
            "pid": os.getpid(),
            "host": socket.gethostname(),
        }
        try:
            return self.store.runs.begin(name, lease=self.lease(), **kwargs)
        except ModuleBusyError:
            # A lock whose lease expired or whose process died is freed (its run
            # marked "interrupted", its sessions ended).
            if not self.recover_stale():
                raise
            return self.store.runs.begin(name, lease=self.lease(), **kwargs)

    def cancel_run(self, run_id: int) -> bool:
        """Ask a running run, in this or any other process, to stop; False if not running."""
        return self.store.runs.request_cancel(run_id)

    def open_connection(self, name: str) -> Driver:
        from pipekit.engine.connections import open_driver
        from pipekit.files import FilePolicy
        from pipekit.secrets import resolve

        files = self.files or FilePolicy()
        if self.store.target.path is not None:  # the users' password hashes are in it
            files = files.protecting(self.store.target.path)
        conn = self.store.connections.get(name)
        from pipekit.connectors.sources import is_connector_url

        if is_connector_url(conn.url):
            from pipekit.engine.connector_source import ConnectorSource

            password = resolve(conn.password, self.secrets)
            return ConnectorSource.open(conn, password, sleep=self.sleep, files=files)
        return open_driver(conn, self.secrets, files, self.store)


# run_group lives in groups.py; imported here too, where callers have always found it.
from pipekit.engine.groups import GroupResult, run_group  # noqa: E402

__all__ = ["Engine", "EventHandler", "GroupResult", "Preview", "RunEvent", "run_group"]
