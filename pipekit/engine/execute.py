"""One run while it goes: read what planning needs, plan, stage, commit, hooks, run log.

``ModuleRun`` does the I/O around the pure planning of ``engine/plan.py``: it
opens the source and destination, reads the destination's state and the named
watermarks' resolvers, asks ``plan_run`` what to read, stages the rows
(``StagingSteps``), merges them in one transaction (``CommitSteps``), runs the
hooks (``HookSteps``) and writes every step to the live log and the final
record. A watcher thread polls the state store for a cancel request and
interrupts both connections.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
import time
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from pipekit.engine.commit import CommitSteps
from pipekit.engine.events import EventHandler, RunEvent
from pipekit.engine.hooks import HookSteps
from pipekit.engine.leases import Heartbeat, session_record
from pipekit.engine.merge import MergePlan
from pipekit.engine.plan import (
    DestState,
    NamedInput,
    PlanInputs,
    PlanSettings,
    RunPlan,
    dest_table_ref,
    field_type,
    filled_query,
    full_refresh_due,
    named_values,
    needs_last_full_refresh,
    needs_source_type,
    plan_load,
    plan_run,
    swap_candidate,
    window_column,
)
from pipekit.engine.source_sql import dest_name, first_cell, placeholders
from pipekit.engine.staging import StagingSteps
from pipekit.engine.watermarks import read_max
from pipekit.errors import DatabaseError, PipekitError, RunCancelled
from pipekit.redact import redact
from pipekit.store.runs import INTERRUPTED

if TYPE_CHECKING:
    from pipekit.drivers.base import Driver, TableRef
    from pipekit.engine.run import Engine
    from pipekit.store.modules import Module
    from pipekit.store.runs import Run

POLL_EVERY_S = 0.5  # how often the cancel watcher asks the state store


def describe(exc: BaseException) -> str:
    """An error as the run log and record show it (redacted)."""
    if isinstance(exc, PipekitError):
        return str(exc)  # redacted when it was made
    return redact(f"{type(exc).__name__}: {exc}")


class Watcher:
    """Polls the state store for a cancel request and interrupts the drivers while it
    stands; renews the run's module lease (the heartbeat) on the same polls. A run
    whose lease was taken away (recovered elsewhere, unlocked by hand) is stopped."""

    def __init__(self, run: ModuleRun) -> None:
        self._run = run
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.armed = True  # cleared by disarm(): nothing may interrupt the hooks
        engine = run.engine
        self.heartbeat = Heartbeat(
            lambda: engine.store.runs.heartbeat(run.run_id, engine.lease()), engine.lease_s / 3
        )
        self._thread = threading.Thread(target=self._loop, name="pipekit-cancel", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        run = self._run
        while not self._stop.wait(POLL_EVERY_S):
            if not self.heartbeat.beat() and not run.cancel.is_set():
                run.lease_lost = True
                run.cancel.set()
            if not run.cancel.is_set():
                with suppress(Exception):
                    if run.engine.store.runs.cancel_requested(run.run_id):
                        run.cancel.set()
            # Every poll, not once: a cancel landing between two statements must
            # still interrupt the statement that starts next.
            with self._lock:
                if run.cancel.is_set() and self.armed:
                    for driver in list(run.drivers):
                        with suppress(Exception):
                            driver.cancel()

    def disarm(self) -> None:
        """No interrupt from here on. Waits for one being sent: otherwise it could land
        on the first hook's statement (a failure hook after a cancel, say)."""
        with self._lock:
            self.armed = False

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class ModuleRun(StagingSteps, CommitSteps, HookSteps):
    """The state of one run while it goes."""

    def __init__(
        self,
        engine: Engine,
        module: Module,
        run_id: int,
        *,
        dry_run: bool,
        full_refresh: bool,
        cancel: threading.Event,
        on_event: EventHandler | None,
    ) -> None:
        self.engine = engine
        self.module = module
        self.run_id = run_id
        self.dry_run = dry_run
        self.full_refresh = full_refresh
        self.cancel = cancel
        self.on_event = on_event
        self.drivers: list[Driver] = []
        self.sessions: list[dict[str, str]] = []
        self.lease_lost = False
        self.started = time.monotonic()
        self.rows = 0
        self.phase = "start"
        self.record: dict[str, Any] = {}
        self.watermarks: dict[str, Any] = {}
        self.named_values: dict[str, str | None] = {}
        self.check_sql: list[str] = []
        self.hook_sql: list[str] = []
        self.committed = False
        #: DDL the destination committed on its own (MariaDB), whatever the merge does
        self.ddl_committed = False
        self.run_plan: RunPlan  # set by _run once the source side is planned

    # -- bookkeeping ---------------------------------------------------------

    def log(self, message: str, *, phase: str | None = None) -> None:
        if phase:
            self.phase = phase
        stamp = dt.datetime.now().strftime("%H:%M:%S")
        with suppress(Exception):  # the log must never be what fails a run
            self.engine.store.runs.append_live(self.run_id, redact(f"{stamp} {message}"))
        self._emit(message)

    def _emit(self, message: str | None) -> None:
        if self.on_event is None:
            return
        elapsed = max(time.monotonic() - self.started, 1e-9)
        with suppress(Exception):
            self.on_event(
                RunEvent(
                    self.run_id,
                    self.module.name,
                    self.phase,
                    message,
                    self.rows,
                    self.rows / elapsed,
                )
            )

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise RunCancelled("cancelled")

    def open(self, connection: str) -> Driver:
        driver = self.engine.open_connection(connection)
        self.drivers.append(driver)
        # Recorded before any statement of the run, so a killed run's sessions can be
        # ended; the side sessions a binary copy opens are reported as they open.
        self._record_session(session_record(connection, driver))
        driver.on_session = lambda session: self._record_session(
            {"connection": connection, "kind": driver.kind, "session": session}
        )
        return driver

    def _record_session(self, record: dict[str, str] | None) -> None:
        if record is None:
            return
        self.sessions.append(record)
        with suppress(Exception):  # bookkeeping must never be what fails a run
            self.engine.store.runs.set_sessions(self.run_id, json.dumps(self.sessions))

    # -- the run -------------------------------------------------------------

    def execute(self) -> Run:
        status, error = "success", None
        pending: BaseException | None = None  # SystemExit and the like: re-raised at the end
        watcher = Watcher(self)
        try:
            self.log(f"run {self.run_id} of module {self.module.name} started", phase="start")
            self._run()
            status = "dry_run" if self.dry_run else "success"
        except BaseException as exc:
            cancelled = self.cancel.is_set() or isinstance(exc, RunCancelled | KeyboardInterrupt)
            status = "cancelled" if cancelled else "error"
            error = "cancelled" if cancelled else describe(exc)
            if self.lease_lost:
                status, error = "error", f"{INTERRUPTED}: the module's lock was taken away"
            unchanged = "" if self.committed else " (destination unchanged)"
            self.log(f"{status}: {error}{unchanged}")
            if not isinstance(exc, Exception | KeyboardInterrupt):
                pending = exc
        watcher.disarm()
        try:
            if not self.dry_run and pending is None:
                hook_error = self._hooks(status)
                if hook_error and status == "success":
                    status, error = "error", hook_error
        finally:
            watcher.stop()
            for d in self.drivers:
                d.close()
            run = self._finish(status, error)
        if pending is not None:
            raise pending
        return run

    def _finish(self, status: str, error: str | None) -> Run:
        store = self.engine.store
        with suppress(Exception):  # the record must never be what fails a run
            self._connector_record()
        self.record["watermarks_json"] = json.dumps(self.watermarks, default=str, sort_keys=True)
        if self.check_sql:
            self.record["check_sql"] = "\n".join(self.check_sql)
        if self.hook_sql:
            self.record["hook_sql"] = "\n".join(self.hook_sql)
        self.record.setdefault("rows_read", self.rows)
        self.record["committed"] = self.committed
        if not (self.committed or self.ddl_committed):
            # planned, never applied (dry run, cancel, failure before the commit): the
            # run record tells what changed, and nothing did
            self.record.pop("schema_changes", None)
        elapsed = time.monotonic() - self.started
        self.log(f"finished: {status} in {elapsed:.1f} s", phase="done")
        try:
            run = store.runs.finish(self.run_id, status, error=error, **self.record)
        finally:
            store.runs.unlock(self.module.name, self.run_id)
        return run

    def _run(self) -> None:
        m = self.module
        settings = PlanSettings.from_module(m)
        assert m.source and m.dest  # from_module refuses a module without them
        dest_conn = self.engine.store.connections.get(m.dest)
        self.supports_deletes = dest_conn.supports_deletes
        self.log(f"connecting to {m.source} (source) and {m.dest} (destination)", phase="connect")
        self.src = self.open(m.source)
        self.dest = self.open(m.dest)
        self.dest.prepare_copy_from(self.src)
        self.table = dest_table_ref(self.dest, settings.dest_table)
        self.staged = self.dest.staging_table(m.name, self.engine.staging_schema, self.table)
        self.dest_exists = self.dest.table_exists(self.table)
        self.check_cancel()

        self.phase = "watermarks"
        plan = plan_run(self._plan_inputs(settings), source=self.src, dest=self.dest)
        self.run_plan = plan
        self.full = plan.full
        self.keys = plan.keys
        for note in plan.notes:
            self.log(note)
        self.watermarks = plan.watermarks
        self.named_values = dict(plan.named_values)
        self.record["source_query"] = plan.recorded_query
        query, key_query = plan.query, plan.key_query
        if m.source_table:
            self._plan_connector_read(plan, m.source_table)
        self.check_cancel()

        if self.dry_run:
            merge = self._plan(self._declared(query, self.src.probe(query)), key_query is not None)
            self.record.update(merge_sql=merge.sql(), merge_strategy=merge.strategy)
            self.check_sql = [f"-- check {c.name}\n{c.sql}" for c in self._checks()]
            self.log(f"dry run: {merge.strategy} merge planned, no data moved")
            return

        merge = self._stage(query, key_query is not None)
        if key_query is not None:
            self._stage_keys(key_query)
        self.record.update(merge_sql=merge.sql(), merge_strategy=merge.strategy)
        self.engine.store.runs.set_progress(self.run_id, merge_strategy=merge.strategy)
        self._merge(merge)
        for name, text in self.named_values.items():
            with suppress(Exception):  # run state for display; the run log has it too
                self.engine.store.watermarks.set_last_value(self.module.name, name, text)
        self._drop_staging(key_query is not None)

    def _plan_connector_read(self, plan: RunPlan, table: str) -> None:
        """A connector source reads `table`: the window becomes its ReadOptions."""
        from pipekit.engine.connector_source import ConnectorSource
        from pipekit.errors import ModuleSpecError

        if not isinstance(self.src, ConnectorSource):
            raise ModuleSpecError(
                f"module '{self.module.name}' names source_table {table!r}, but its source "
                f"connection '{self.module.source}' is a database; read it with source_query",
                path="source_table",
            )
        key = plan.keys[0] if len(plan.keys) == 1 else None
        self.src.plan_read(plan.query, plan.window, key, self.check_cancel)

    def _connector_record(self) -> None:
        """What a connector source read, ahead of the query in the run record."""
        if "pipekit.engine.connector_source" not in sys.modules:
            return  # no connector was opened (and DuckDB need not be imported to say so)
        from pipekit.engine.connector_source import ConnectorSource

        src = getattr(self, "src", None)
        if isinstance(src, ConnectorSource) and src.reads:
            head = "\n".join(redact(r.comment(), [src.secret]) for r in src.reads)
            self.record["source_query"] = f"{head}\n{self.record.get('source_query') or ''}"

    # -- reading what planning needs ------------------------------------------

    def _plan_inputs(self, settings: PlanSettings) -> PlanInputs:
        """What ``plan_run`` reads, read only where the plan will use it."""
        from pipekit.store.types import utcnow

        now = self.engine.now()
        last_full = None
        if needs_last_full_refresh(settings, self.full_refresh):
            last_full = self._last_full_refresh()
        full, _ = full_refresh_due(
            settings,
            requested=self.full_refresh,
            now=now,
            last_full_refresh=last_full,
            dest_exists=self.dest_exists,
        )
        named = self._read_named(settings)
        current: pa.Scalar[Any] | None = None
        source_type = None
        column = window_column(settings, full)
        if column is not None:
            if self.dest_exists:
                spelled = dest_name(self.dest, self.dest.list_columns(self.table), column)
                current = read_max(self.dest, str(self.table), spelled)
            if needs_source_type(settings, self.dest, self.dest_exists):
                query = filled_query(settings, named_values(settings, named, self.src))
                source_type = field_type(self.src.probe(query), column, self.src)
        return PlanInputs(
            settings=settings,
            now=now,
            dest=DestState(exists=self.dest_exists, watermark_max=current),
            named=named,
            source_type=source_type,
            full_refresh=self.full_refresh,
            last_full_refresh=last_full,
            supports_deletes=self.supports_deletes,
            run_id=self.run_id,
            loaded_at=utcnow(),
        )

    def _last_full_refresh(self) -> dt.datetime | None:
        """When the newest successful full run of the module (not this one) started."""
        for run in self.engine.store.runs.list(
            module=self.module.name, status="success", limit=200
        ):
            if run.merge_strategy == "full" and run.id != self.run_id:
                return run.started_at
        return None

    def _read_named(self, settings: PlanSettings) -> tuple[NamedInput, ...]:
        """Each named watermark's resolver value, when the query uses placeholders."""
        if not placeholders(settings.source_query):
            return ()
        m = self.module
        named = []
        for wm in self.engine.store.watermarks.list(m.name):
            # No connection of its own (or the destination's): the resolver reads the destination.
            if not wm.connection or wm.connection == m.dest:
                resolver = self.dest
            else:
                resolver = self.open(wm.connection)
            value, missing = None, False
            if wm.resolver_sql:
                try:
                    value = first_cell(resolver, wm.resolver_sql)
                except DatabaseError:
                    # A first run: the resolver reads the destination table, not there yet.
                    if resolver is not self.dest or self.dest_exists:
                        raise
                    missing = True
            named.append(NamedInput(wm.name, value, wm.default_value, missing))
        return tuple(named)

    # -- the merge plan, once the source schema is known ----------------------

    def _plan(self, schema: pa.Schema, key_sync: bool) -> MergePlan:
        plan = self.run_plan
        swap = None
        if swap_candidate(
            self.dest, plan, supports_deletes=self.supports_deletes, dest_exists=self.dest_exists
        ):
            swap = self.dest.swap_info(self.table)
        load = plan_load(
            self.dest,
            plan,
            schema=schema,
            staged=self.staged,
            key_table=self._key_table() if key_sync else None,
            existing=self.dest.list_columns(self.table) if self.dest_exists else None,
            swap=swap,
            supports_deletes=self.supports_deletes,
            run_id=self.run_id,
        )
        self.staged = load.staged
        self.dest_pk = load.dest_pk
        for note in load.notes:
            self.log(note)
        if load.merge.schema_changes:
            self.record["schema_changes"] = "\n".join(load.merge.schema_changes)
        return load.merge

    def _key_table(self) -> TableRef:
        return self.dest.staging_table(
            f"{self.module.name}__keys", self.engine.staging_schema, self.table
        )
