"""Run one module end to end (DESIGN 6.1): lock, watermarks, staging, merge, checks, hooks, log.

The destination is only ever changed inside one transaction (or, on MariaDB,
DDL that adds and never removes, followed by one transaction), so a run that
fails or is cancelled at any point leaves the destination as it was. Every
step is written to the run's live log as it happens, and the final record
(SQL, watermark values, counts, error) when it ends; the lock is released in
``finally``, and a lock left by a killed process is recovered by the next run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack, nullcontext, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from pipekit.engine.merge import (
    LOADED_AT,
    RUN_ID,
    MergePlan,
    declares_key,
    plan_merge,
    plan_swap,
    split_keys,
)
from pipekit.engine.staging import StagingSteps
from pipekit.errors import (
    CheckFailedError,
    DatabaseError,
    ModuleBusyError,
    PipekitError,
    RunCancelled,
)
from pipekit.redact import redact

if TYPE_CHECKING:
    from pipekit.config import Config
    from pipekit.drivers.base import Driver, SwapInfo, TableRef
    from pipekit.secrets import SecretsFile
    from pipekit.store import Store
    from pipekit.store.modules import Module
    from pipekit.store.runs import Run

POLL_EVERY_S = 0.5  # how often the cancel watcher asks the state store


@dataclass(frozen=True)
class RunEvent:
    """Progress of a run, for progress bars: each live-log line and the row count."""

    run_id: int
    module: str
    phase: str
    message: str | None
    rows: int
    rows_per_s: float


EventHandler = Callable[[RunEvent], None]


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

    @classmethod
    def from_config(cls, store: Store, config: Config) -> Engine:
        from pipekit.secrets import SecretsFile

        return cls(store, SecretsFile(config.secrets_path), config.staging_schema)

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
        if run_id is None:
            run_id = self._begin(name, group_run_id, triggered_by)
        else:
            self.store.runs.adopt(run_id, os.getpid(), socket.gethostname())
        return _ModuleRun(
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

    def preview(self, name: str) -> Preview:
        """What the next run of module `name` would execute, planned as a dry run plans
        it (watermarks resolved, the query probed, the merge planned) but recorded
        nowhere: no run row, no live log, no lock. The connections are opened to read."""
        return _Preview(self, self.store.modules.get(name)).plan()

    def _begin(self, name: str, group_run_id: int | None, triggered_by: str) -> int:
        kwargs: dict[str, Any] = {
            "group_run_id": group_run_id,
            "triggered_by": triggered_by,
            "pid": os.getpid(),
            "host": socket.gethostname(),
        }
        try:
            return self.store.runs.begin(name, **kwargs)
        except ModuleBusyError:
            # A lock whose process died is freed (its run marked "interrupted").
            if not self.store.runs.recover_stale_locks(pid_alive):
                raise
            return self.store.runs.begin(name, **kwargs)

    def cancel_run(self, run_id: int) -> bool:
        """Ask a running run, in this or any other process, to stop; False if not running."""
        return self.store.runs.request_cancel(run_id)

    def open_connection(self, name: str) -> Driver:
        from pipekit.drivers import connect
        from pipekit.secrets import resolve

        conn = self.store.connections.get(name)
        return connect(conn.url, user=conn.user, password=resolve(conn.password, self.secrets))


class _Watcher:
    """Polls the state store for a cancel request and interrupts the drivers while it stands."""

    def __init__(self, run: _ModuleRun) -> None:
        self._run = run
        self._stop = threading.Event()
        self.armed = True  # cleared after commit: nothing may interrupt hooks' bookkeeping
        self._thread = threading.Thread(target=self._loop, name="pipekit-cancel", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        run = self._run
        while not self._stop.wait(POLL_EVERY_S):
            if not run.cancel.is_set():
                with suppress(Exception):
                    if run.engine.store.runs.cancel_requested(run.run_id):
                        run.cancel.set()
            # Every poll, not once: a cancel landing between two statements must
            # still interrupt the statement that starts next.
            if run.cancel.is_set() and self.armed:
                for driver in list(run.drivers):
                    with suppress(Exception):
                        driver.cancel()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class _ModuleRun(StagingSteps):
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
        self.started = time.monotonic()
        self.rows = 0
        self.phase = "start"
        self.record: dict[str, Any] = {}
        self.watermarks: dict[str, Any] = {}
        self.named_values: dict[str, str | None] = {}
        self.check_sql: list[str] = []
        self.hook_sql: list[str] = []
        self.committed = False

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
        return driver

    # -- the run -------------------------------------------------------------

    def execute(self) -> Run:
        status, error = "success", None
        pending: BaseException | None = None  # SystemExit and the like: re-raised at the end
        watcher = _Watcher(self)
        try:
            self.log(f"run {self.run_id} of module {self.module.name} started", phase="start")
            self._run()
            status = "dry_run" if self.dry_run else "success"
        except BaseException as exc:
            cancelled = self.cancel.is_set() or isinstance(exc, RunCancelled | KeyboardInterrupt)
            status = "cancelled" if cancelled else "error"
            error = "cancelled" if cancelled else _describe(exc)
            unchanged = "" if self.committed else " (destination unchanged)"
            self.log(f"{status}: {error}{unchanged}")
            if not isinstance(exc, Exception | KeyboardInterrupt):
                pending = exc
        watcher.armed = False
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
        self.record["watermarks_json"] = json.dumps(self.watermarks, default=str, sort_keys=True)
        if self.check_sql:
            self.record["check_sql"] = "\n".join(self.check_sql)
        if self.hook_sql:
            self.record["hook_sql"] = "\n".join(self.hook_sql)
        self.record.setdefault("rows_read", self.rows)
        elapsed = time.monotonic() - self.started
        self.log(f"finished: {status} in {elapsed:.1f} s", phase="done")
        try:
            run = store.runs.finish(self.run_id, status, error=error, **self.record)
        finally:
            store.runs.unlock(self.module.name, self.run_id)
        return run

    def _run(self) -> None:
        m = self.module
        if not (m.source and m.dest and m.dest_table and m.source_query):
            raise PipekitError(
                f"module '{m.name}' is incomplete: it needs source, dest, dest_table and "
                "source_query; see `pipekit modules edit`"
            )
        from pipekit.drivers.base import TableRef

        self.table = TableRef.parse(m.dest_table)
        dest_conn = self.engine.store.connections.get(m.dest)
        self.supports_deletes = dest_conn.supports_deletes
        self.log(f"connecting to {m.source} (source) and {m.dest} (destination)", phase="connect")
        self.src = self.open(m.source)
        self.dest = self.open(m.dest)
        self.dest.prepare_copy_from(self.src)
        self.table = _resolve_table(self.dest, self.table)
        self.staged = self.dest.staging_table(m.name, self.engine.staging_schema, self.table)
        self.dest_exists = self.dest.table_exists(self.table)
        self.full = self._full_refresh_due()
        self.check_cancel()

        query = self._source_query()
        self.record["source_query"] = query
        self.keys = split_keys(m.merge_key)
        key_query = self._key_query() if self._wants_key_sync() else None
        if key_query:
            self.record["source_query"] = f"{query}\n-- key_sync keys:\n{key_query}"
        self.check_cancel()

        if self.dry_run:
            plan = self._plan(self.src.probe(query), key_query is not None)
            self.record.update(merge_sql=plan.sql(), merge_strategy=plan.strategy)
            self.check_sql = [f"-- check {c.name}\n{c.sql}" for c in self._checks()]
            self.log(f"dry run: {plan.strategy} merge planned, no data moved")
            return

        plan = self._stage(query, key_query is not None)
        if key_query is not None:
            self._stage_keys(key_query)
        self.record.update(merge_sql=plan.sql(), merge_strategy=plan.strategy)
        self.engine.store.runs.set_progress(self.run_id, merge_strategy=plan.strategy)
        self._merge(plan)
        for name, text in self.named_values.items():
            with suppress(Exception):  # run state for display; the run log has it too
                self.engine.store.watermarks.set_last_value(self.module.name, name, text)
        self._drop_staging(key_query is not None)

    # -- planning --------------------------------------------------------------

    def _full_refresh_due(self) -> bool:
        m = self.module
        if self.full_refresh:
            self.log("full refresh requested")
            return True
        if not m.full_refresh_cron or m.merge_strategy == "full":
            return False
        from croniter import croniter

        now = self.engine.now().astimezone()  # cron reads local server time
        last_slot = croniter(m.full_refresh_cron, now).get_prev(dt.datetime)
        for run in self.engine.store.runs.list(module=m.name, status="success", limit=200):
            if run.merge_strategy == "full" and run.id != self.run_id:
                if run.started_at >= last_slot.astimezone(dt.UTC):
                    return False
                break
        if not self.dest_exists:
            return False  # a first run reads everything anyway
        self.log(f"full refresh due (full_refresh_cron '{m.full_refresh_cron}', slot {last_slot})")
        return True

    def _source_query(self) -> str:
        from pipekit.engine.columns import parse_columns
        from pipekit.engine.source_sql import (
            column_window,
            fill_placeholders,
            placeholders,
            resolve_named,
            with_condition,
        )
        from pipekit.errors import DatabaseError

        m = self.module
        self.phase = "watermarks"
        literals: dict[str, str] = {}
        if placeholders(m.source_query or ""):
            named = {}
            for wm in self.engine.store.watermarks.list(m.name):
                conn_name = wm.connection or m.dest
                resolver = self.dest if conn_name == m.dest else self.open(conn_name)
                try:
                    value = resolve_named(
                        wm.name, wm.resolver_sql, wm.default_value, resolver, self.src
                    )
                except DatabaseError:
                    # A first run: the resolver reads the destination table, not there yet.
                    if resolver is not self.dest or self.dest_exists:
                        raise
                    self.log(f"watermark {{{wm.name}}}: destination table missing, default")
                    value = resolve_named(wm.name, None, wm.default_value, None, self.src)
                literals[wm.name] = value.literal
                named[wm.name] = {"value": value.text, "from": value.origin}
                self.named_values[wm.name] = value.text
                self.log(f"watermark {{{wm.name}}} = {value.text} ({value.origin})")
            self.watermarks["named"] = named
        query = fill_placeholders(m.source_query or "", literals)
        cmap = parse_columns(query, self.src.dialect.sqlglot)
        column = self._watermark_column()
        if column is None or self.full or m.merge_strategy == "full":
            if self.full and column:
                self.log("full refresh: reading every source row")
            return query
        source_type = None
        # The source's type is needed for a first run's safety lag, and where the
        # destination stores zoned timestamps without their zone (MariaDB DATETIME).
        drops_zones = self.dest.ddl_type(pa.timestamp("us", tz="UTC")) == self.dest.ddl_type(
            pa.timestamp("us")
        )
        if (m.safety_lag and not self.dest_exists) or (drops_zones and self.dest_exists):
            schema = self.src.probe(query)
            source_type = _field_type(schema, column, self.src)
        window = column_window(
            cmap,
            column,
            op=m.watermark_op,
            lookback=m.lookback,
            safety_lag=m.safety_lag,
            keyed=m.merge_strategy in ("incremental", "upsert"),
            source=self.src,
            dest=self.dest,
            dest_table=self.table,
            dest_exists=self.dest_exists,
            source_type=source_type,
            now=self.engine.now(),
        )
        self.watermarks["column"] = window.as_json()
        if window.lower is None:
            self.log(f"watermark {column}: destination empty or missing, reading every row")
        else:
            self.log(
                f"watermark {column}: destination max {window.max_value}, reading "
                f"{window.expression} {window.lower.op} {window.lower.text()}"
            )
        if window.upper is not None:
            self.log(f"safety lag {m.safety_lag}: reading rows below {window.upper.text()}")
        if m.merge_strategy == "append" and window.condition:
            self.log("append: source rows whose watermark is NULL are not picked up")
        return with_condition(query, cmap, window.condition)

    def _watermark_column(self) -> str | None:
        m = self.module
        if m.watermark_column:
            return m.watermark_column
        from pipekit.engine.source_sql import placeholders

        keys = split_keys(m.merge_key)
        # A query with named watermarks filters itself: the key as a second watermark
        # would skip changed rows whose key is old.
        named = placeholders(m.source_query or "")
        if m.merge_strategy == "incremental" and len(keys) == 1 and not named:
            return keys[0]
        return None

    def _wants_key_sync(self) -> bool:
        m = self.module
        if not m.key_sync or self.full or m.merge_strategy not in ("incremental", "upsert"):
            return False
        if not self.supports_deletes:
            self.log("destination does not support deletes: key_sync skipped")
            return False
        return True

    def _key_query(self) -> str:
        from pipekit.engine.source_sql import fill_placeholders, placeholders

        m = self.module
        if m.key_sync_query:
            return fill_placeholders(m.key_sync_query, {})
        if placeholders(m.source_query or ""):
            raise PipekitError(
                f"module '{m.name}' uses key_sync with named watermarks in its query, so "
                "the query alone cannot list every source key; set key_sync_query"
            )
        cols = ", ".join(self.src.quote(k) for k in self.keys)
        inner = (m.source_query or "").strip().rstrip(";")
        return f"SELECT {cols} FROM ({inner}\n) pipekit_keys"  # \n: ends a -- comment

    def _audit(self) -> dict[str, str] | None:
        if not self.module.audit_columns:
            return None
        from pipekit.engine.watermarks import render_literal
        from pipekit.store.types import utcnow

        loaded_at = pa.scalar(utcnow(), pa.timestamp("us", tz="UTC"))
        return {
            LOADED_AT: render_literal(loaded_at, self.dest),
            RUN_ID: self.dest.literal(self.run_id),
        }

    def _plan(self, schema: pa.Schema, key_sync: bool) -> MergePlan:
        existing = self.dest.list_columns(self.table) if self.dest_exists else None
        # the destination's primary key once the merge's DDL has run
        self.dest_pk = (
            [c.name.lower() for c in existing if c.primary_key]
            if existing is not None
            else (
                [k.lower() for k in self.keys]
                if declares_key(self.dest, self.module.merge_strategy)
                else []
            )
        )
        swap = self._swap_info()
        if swap is not None and not swap.blockers:
            self.staged = self.dest.swap_table(self.staged, self.table)
            plan = plan_swap(
                self.dest.dialect,
                table=self.table,
                shadow=self.staged,
                source_schema=schema,
                existing=existing,
                strategy=self.module.merge_strategy,
                keys=self.keys,
                full_refresh=self.full,
                audit=self._audit(),
                info=swap,
                tag=f"pipekit_swap_{self.run_id}",
            )
        else:
            if swap is not None:
                self.log(
                    f"{self.table} is refreshed through staging, not swapped: "
                    + "; ".join(swap.blockers)
                )
            plan = plan_merge(
                self.dest.dialect,
                table=self.table,
                staged=self.staged,
                key_table=self._key_table() if key_sync else None,
                source_schema=schema,
                existing=existing,
                strategy=self.module.merge_strategy,
                keys=self.keys,
                full_refresh=self.full,
                supports_deletes=self.supports_deletes,
                audit=self._audit(),
            )
        for note in plan.notes:
            self.log(note)
        if plan.schema_changes:
            self.record["schema_changes"] = "\n".join(plan.schema_changes)
        return plan

    def _swap_info(self) -> SwapInfo | None:
        """The swap facts when the rows may land in a new table renamed into place:
        a full refresh, or any first load (there is no old table to merge with)."""
        if not (self.supports_deletes and self.dest.swap_full_refresh):
            return None
        if not self.dest_exists or self.full or self.module.merge_strategy == "full":
            return self.dest.swap_info(self.table)
        return None

    def _key_table(self) -> TableRef:
        return self.dest.staging_table(
            f"{self.module.name}__keys", self.engine.staging_schema, self.table
        )

    def _checks(self) -> list[Any]:
        return self.engine.store.checks.list(self.module.name)

    # -- merge ------------------------------------------------------------------

    def _merge(self, plan: MergePlan) -> None:
        keyed = sorted(self.dest_pk) == sorted(k.lower() for k in self.keys)
        # A full or delete-and-insert load into a table keyed on the merge key gets the
        # same refusal from the primary key itself (a swap's new table from building
        # its key); grouping every staged row first would cost a scan. The grouping
        # then only words the refusal.
        if plan.swap is not None:
            key_refuses = keyed
        else:
            key_refuses = keyed and plan.strategy in ("full", "incremental")
        if not key_refuses:
            self._check_duplicates()
        try:
            self._merge_in_transaction(plan)
        except DatabaseError:
            if key_refuses and plan.swap is None:
                self._check_duplicates()  # rolled back; raises when a key came twice
            raise

    def _merge_in_transaction(self, plan: MergePlan) -> None:
        dest = self.dest
        self.log(f"merging into {self.table} ({plan.strategy})", phase="merge")
        if not dest.transactional_ddl:
            for sql in plan.ddl:  # MariaDB commits DDL at once; it only ever adds
                dest.execute(sql)
        counts: dict[str, int] = {}
        # Statements that only insert and delete are held to the load's memory cap
        # where the database spills past it (DuckDB); an upsert is not: DuckDB
        # keeps an UPDATE's new values in memory and ran out under the cap.
        touched = [self.table, self.staged]
        if plan.key_sync:
            touched.append(self._key_table())
        # Nor is a clear of the whole table (a full refresh that cannot swap): DuckDB
        # holds the id of every row a transaction deleted, about 50 MB per 6M rows.
        uncapped = any(what in ("upsert", "clear") for what, _ in plan.statements)
        capped = nullcontext() if uncapped else dest.capped_memory(touched)
        with capped, dest.transaction():
            if dest.transactional_ddl:
                for sql in plan.ddl:
                    dest.execute(sql)
            for change in plan.schema_changes:
                self.log(change)
            before = None
            if plan.strategy == "full" and self.dest_exists:
                before = _count(dest, self.table)
            with ExitStack() as alongside:
                counted = None
                if self._count_alongside(plan):
                    counted = alongside.enter_context(dest.count_alongside(self.table))
                for what, sql in plan.statements:
                    self.check_cancel()
                    if what == "replace and insert":
                        # every staged row is written; the statement counts the replaced
                        counts["replace"] = int(dest.query(sql)[0][0])
                        counts["insert"] = self.rows
                    else:
                        counts[what] = dest.execute_count(sql)
                    if what == "lock" and plan.swap is not None:
                        self._recheck_swap(plan)
                self.check_cancel()
                self._run_checks()
                if plan.swap is not None:
                    counts["insert"] = self.rows
                start = counted() if counted is not None else None
            if plan.strategy == "full":
                # after a full load the table holds exactly the rows inserted
                total = counts["insert"]
            elif start is not None:
                added = counts.get("insert", 0) + counts.get("insert new", 0)
                total = start + added - counts.get("replace", 0) - counts.get("key_sync", 0)
            else:
                total = _count(dest, self.table)
            self.check_cancel()
            self.phase = "commit"
        self.committed = True
        inserted = sum(counts.get(k, 0) for k in ("insert", "insert new"))
        if "upsert" in counts:
            # every staged row is inserted or updates its row; MariaDB's affected-row
            # count says 2 for an update and 0 for an unchanged row, so it is not used
            inserted = self.rows
        deleted = counts.get("replace", 0) + counts.get("key_sync", 0)
        if before is not None:
            deleted += before
        self.record.update(rows_inserted=inserted, rows_deleted=deleted, row_count=total)
        parts = [f"{inserted:,} rows written"]
        if "replace" in counts:
            parts.append(f"{counts['replace']:,} replaced")
        if "key_sync" in counts:
            parts.append(f"{counts['key_sync']:,} deleted by key_sync")
        if before is not None:
            parts.append(f"{before:,} old rows replaced")
        self.log(f"committed: {', '.join(parts)}; {self.table} has {total:,} rows")

    def _count_alongside(self, plan: MergePlan) -> bool:
        """Whether the rows after the merge follow from a count of the table before
        it and the statements' own counts (every one of them exact), with no DDL in
        the transaction whose lock the count would wait for."""
        if not self.dest_exists or plan.ddl or plan.swap is not None:
            return False
        exact = {"replace and insert", "replace", "insert", "insert new", "key_sync"}
        return plan.strategy != "full" and all(w in exact for w, _ in plan.statements)

    def _recheck_swap(self, plan: MergePlan) -> None:
        """Under the lock: refuse the swap if the table changed while the rows loaded."""
        now = self.dest.swap_info(self.table)
        if now != plan.swap:
            changed = "; ".join(now.blockers) or "its grants, comment or primary key changed"
            raise PipekitError(
                f"{self.table} changed during the run ({changed}), so the new rows were not "
                "swapped in (nothing was changed); run again: the next run sees the change"
            )

    def _check_duplicates(self) -> None:
        if not self.keys or self.module.merge_strategy == "append":
            return
        # a hash table of every staged key (DuckDB holds it to a memory cap)
        rows = self.dest.duplicate_keys(self.staged, self.keys)
        if rows:
            shown = "; ".join(f"({', '.join(str(v) for v in r[:-1])}) x{r[-1]}" for r in rows)
            raise PipekitError(
                f"the source returned the merge key ({', '.join(self.keys)}) more than once: "
                f"{shown}; make the query return one row per key or change merge_key "
                "(nothing was changed)"
            )

    def _run_checks(self) -> None:
        for check in self._checks():
            self.check_cancel()
            sql = check.sql.strip().rstrip(";")
            self.check_sql.append(f"-- check {check.name}\n{sql}")
            rows = self.dest.query(f"SELECT * FROM ({sql}\n) pipekit_check LIMIT 6")
            if rows:
                shown = "; ".join(str(tuple(r)) for r in rows[:5])
                more = " (and more)" if len(rows) > 5 else ""
                raise CheckFailedError(
                    f"check '{check.name}' failed: it returned rows, first: {shown}{more}; "
                    "the merge was rolled back"
                )
            self.log(f"check {check.name} passed")

    # -- hooks ------------------------------------------------------------------

    def _hooks(self, status: str) -> str | None:
        """Run hooks after commit by run_on; returns the first failure, if any."""
        hooks = self.engine.store.hooks.list(self.module.name)
        if not hooks:
            return None
        dest = next((d for d in self.drivers if d is getattr(self, "dest", None)), None)
        first_error: str | None = None
        outcome = "success" if status == "success" else "failure"
        for position, hook in enumerate(hooks, 1):
            if hook.run_on not in (outcome, "always"):
                continue
            label = f"hook {position} ({hook.run_on})"
            self.phase = "hooks"
            if dest is None:
                self.hook_sql.append(f"-- {label}: not run, no destination\n{hook.sql}")
                continue
            try:
                dest.execute(hook.sql)
            except Exception as exc:
                reason = _describe(exc)
                self.hook_sql.append(f"-- {label}: FAILED\n{hook.sql}")
                self.log(f"{label} failed: {reason}")
                if first_error is None:
                    kept = "; the merged data stays committed" if self.committed else ""
                    first_error = f"{label} failed: {reason}{kept}"
                    outcome = "failure"  # from here only failure/always hooks run
                continue
            self.hook_sql.append(f"-- {label}: ok\n{hook.sql}")
            self.log(f"{label} ok")
        return first_error


@dataclass(frozen=True)
class Preview:
    """The plan of a module's next run (``Engine.preview``); `error` when it cannot be made."""

    source_query: str | None
    merge_sql: str | None
    check_sql: str | None
    merge_strategy: str | None
    watermarks: dict[str, Any]
    error: str | None
    log: list[str]


class _Preview(_ModuleRun):
    """A dry run's planning without its bookkeeping: log lines are kept in memory,
    and nothing is begun, finished, locked or unlocked in the state store."""

    def __init__(self, engine: Engine, module: Module) -> None:
        # run id 0: no run exists (it only names the swap tag and the audit literal)
        super().__init__(
            engine,
            module,
            0,
            dry_run=True,
            full_refresh=False,
            cancel=threading.Event(),
            on_event=None,
        )
        self.lines: list[str] = []

    def log(self, message: str, *, phase: str | None = None) -> None:
        if phase:
            self.phase = phase
        self.lines.append(message)

    def plan(self) -> Preview:
        error = None
        try:
            self._run()
        except Exception as exc:
            error = _describe(exc)
        finally:
            for d in self.drivers:
                with suppress(Exception):
                    d.close()
        return Preview(
            source_query=self.record.get("source_query"),
            merge_sql=self.record.get("merge_sql"),
            check_sql="\n".join(self.check_sql) or None,
            merge_strategy=self.record.get("merge_strategy"),
            watermarks=json.loads(json.dumps(self.watermarks, default=str)),
            error=error,
            log=self.lines,
        )


def _count(driver: Driver, table: TableRef) -> int:
    return int(driver.query(f"SELECT COUNT(*) FROM {driver.table_sql(table)}")[0][0])


def _resolve_table(dest: Driver, table: TableRef) -> TableRef:
    """SQLite has one schema per file: ``main.t`` is ``t``; other prefixes are refused."""
    from pipekit.drivers.base import TableRef

    if dest.kind == "sqlite" and table.schema:
        if table.schema.lower() != "main":
            raise PipekitError(
                f"dest_table '{table}': SQLite has no schemas; write the table name "
                f"alone ('{table.name}')"
            )
        return TableRef(table.name)
    return table


def _field_type(schema: pa.Schema, column: str, driver: Driver) -> pa.DataType | None:
    for f in schema:
        if driver.same_name(f.name, column):
            return f.type
    return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, PipekitError):
        return str(exc)  # redacted when it was made
    return redact(f"{type(exc).__name__}: {exc}")


# run_group lives in groups.py; imported here too, where callers have always found it.
from pipekit.engine.groups import GroupResult, run_group  # noqa: E402

__all__ = ["Engine", "GroupResult", "Preview", "RunEvent", "run_group"]
