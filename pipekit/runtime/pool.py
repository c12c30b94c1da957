"""Background runs for the server: a bounded pool of child processes (issue 4),
fed by the durable run queue in the state store (issue 17).

``RunPool.submit_module`` records the run ``queued`` in the state store and takes
the module's lock in the calling process (``Engine.enqueue_module``), so the caller
gets the run id, or ``ModuleBusyError``, at once. Whenever a worker is free, the
pool claims the oldest queued entry (``store.queue.claim``: FIFO by id, ``FOR
UPDATE SKIP LOCKED`` on PostgreSQL), which makes the run ``running`` with a lease
on its lock, and hands it to a child process, ``python -m pipekit.runtime.worker``,
which adopts the run (its own lease, renewed by a heartbeat). A queued run waits
with the live-log line ``queued: waiting for a free worker``. The queue lives in
the state store: runs still queued when the server stops or is killed are
started after a restart, in order, each once, and several servers sharing a
PostgreSQL store share the queue (a poll every ``poll_s`` seconds picks up what
other servers or a restart left).

A child is a fresh interpreter (not a fork of a threaded server): a run that
crashes, exhausts memory or is killed takes only its own process down, and a
child whose server died stops at once (it watches its parent). A thread per
child waits for its exit; if the run (or group run, and its current member) is
still ``running`` then, the parent records it as ``error`` ("worker process
killed by signal 9 (SIGKILL)") and frees the lock, guarded by the run id so a
lock taken since by another run is never touched.

See docs/server-runs.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal, ParamSpec, TypeVar

from pipekit.errors import UnavailableError

log = logging.getLogger("pipekit.pool")
#: one line per run that starts (the server logs its end); `pipekit serve` shows them
runs_log = logging.getLogger("pipekit.runs")

QUEUED = "queued: waiting for a free worker"
#: seconds between two looks at the state store's queue (runs other servers queued)
POLL_S = 2.0
SHUTTING_DOWN = "the server is shutting down; no new runs are accepted"
#: after the grace period and a cancel, how long a child may take to roll back before SIGKILL
ROLLBACK_WAIT_S = 20.0

FinishedCallback = Callable[[int | None, int | None], None]
_P = ParamSpec("_P")
_R = TypeVar("_R")


@dataclass(eq=False)
class _Job:
    kind: Literal["module", "group"]
    id: int  # run id (module) or group run id (group)
    name: str
    triggered_by: str
    dry_run: bool = False
    full_refresh: bool = False
    proc: subprocess.Popen[bytes] | None = None
    stderr: IO[bytes] | None = None
    started: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Recovered:
    """A run or group run that ``RunPool.recover`` marked ``error`` ("interrupted")."""

    kind: Literal["run", "group"]
    id: int
    name: str


class RunPool:
    """Runs modules and groups in child processes, at most `max_workers` at a time."""

    def __init__(
        self,
        config_path: Path | None,
        *,
        max_workers: int,
        on_finished: FinishedCallback | None = None,
        memory_limit_mb: int | None = None,
        poll_s: float = POLL_S,
    ) -> None:
        from pipekit.config import load_config
        from pipekit.engine.run import Engine
        from pipekit.store import Store

        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.config_path = config_path
        self.config = load_config(config_path)
        self.store = Store.open(self.config)
        self.engine = Engine.from_config(self.store, self.config)
        self.max_workers = max_workers
        self.on_finished = on_finished
        self.memory_limit_mb = memory_limit_mb
        self._cond = threading.Condition()
        self._active: list[_Job] = []
        self._closing = False
        self.poll_s = poll_s
        self._stop_poll = threading.Event()
        self._poller: threading.Thread | None = None

    # -- submitting -----------------------------------------------------------

    def submit_module(
        self,
        name: str,
        *,
        triggered_by: str = "api",
        dry_run: bool = False,
        full_refresh: bool = False,
    ) -> int:
        """Queue a run of module `name` and take its lock now; returns the run id at once.

        ``ModuleBusyError`` (its ``run_id`` is the running run) or ``NotFoundError``
        before anything starts; ``UnavailableError`` (503) while shutting down.
        """
        self._refuse_if_closing()
        run_id = self.engine.enqueue_module(
            name, triggered_by=triggered_by, dry_run=dry_run, full_refresh=full_refresh
        )
        self._dispatch_and_note(run_id)
        return run_id

    def submit_group(self, name: str, *, triggered_by: str = "api", dry_run: bool = False) -> int:
        """Queue a run of group `name`; returns the group run id at once (``NotFoundError``)."""
        self._refuse_if_closing()
        group_run_id = self.store.queue.enqueue_group(
            name, triggered_by=triggered_by, dry_run=dry_run
        )
        self.dispatch()
        return group_run_id

    def _refuse_if_closing(self) -> None:
        if self._closing:
            raise UnavailableError(SHUTTING_DOWN)

    def _dispatch_and_note(self, run_id: int) -> None:
        self.dispatch()
        run = self._safe(self.store.runs.get, run_id)
        if run is not None and run.status == "queued":
            self._safe(self.store.runs.append_live, run_id, f"{_stamp()} {QUEUED}")

    def dispatch(self) -> int:
        """Claim queued entries from the state store while workers are free, and start
        them; returns how many started. Called on submit, when a child ends, and by
        the poll thread (entries queued by other servers, or before a restart)."""
        started, failed = 0, []
        with self._cond:
            while len(self._active) < self.max_workers and not self._closing:
                claimed = self._safe(self.store.queue.claim, self.engine.lease())
                if claimed is None:
                    break
                job = _Job(
                    claimed.kind,
                    claimed.id,
                    claimed.name,
                    claimed.triggered_by,
                    claimed.dry_run,
                    claimed.full_refresh,
                )
                try:
                    self._launch(job)
                except Exception as exc:  # cannot even start a process: the run fails
                    log.exception("cannot start a worker for %s %s", job.kind, job.id)
                    self._safe(self._fail, job, f"cannot start a worker process: {exc}")
                    failed.append(job)
                    continue
                self._active.append(job)
                started += 1
                _log_start(job)
        self._notify(*failed)  # outside the lock: on_finished may be slow (notifications)
        return started

    def start_polling(self) -> None:
        """Claim queued entries every ``poll_s`` seconds on a thread (``shutdown`` stops it)."""
        if self._poller is not None:
            return

        def loop() -> None:
            while not self._stop_poll.wait(self.poll_s):
                try:
                    self.dispatch()
                except Exception:
                    log.exception("claiming queued runs failed")

        self._poller = threading.Thread(target=loop, name="pipekit-queue", daemon=True)
        self._poller.start()

    def _launch(self, job: _Job) -> None:
        cmd = [sys.executable, "-m", "pipekit.runtime.worker"]
        if self.config_path is not None:
            cmd += ["--config", str(Path(self.config_path).absolute())]
        if self.memory_limit_mb:
            cmd += ["--memory-limit-mb", str(self.memory_limit_mb)]
        cmd += [job.kind, str(job.id), job.name]
        if job.dry_run:
            cmd.append("--dry-run")
        if job.full_refresh:
            cmd.append("--full-refresh")
        if job.kind == "group":
            cmd += ["--triggered-by", job.triggered_by]
        job.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed when the child is reaped
        job.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=job.stderr,
            close_fds=True,
            start_new_session=True,  # a Ctrl-C on the server's terminal is not the child's
        )
        job.started = time.monotonic()
        threading.Thread(
            target=self._wait_for, args=(job,), name=f"pipekit-run-{job.kind}-{job.id}", daemon=True
        ).start()

    # -- a child ends -----------------------------------------------------------

    def _wait_for(self, job: _Job) -> None:
        assert job.proc is not None
        code = job.proc.wait()
        try:
            if code != 0:
                detail = _exit_text(code)
                tail = _tail(job.stderr)
                if tail:
                    detail += f": {tail}"
                log.warning("worker for %s %s %s", job.kind, job.id, detail)
                self._fail(job, detail)
            else:
                # exited cleanly but left the run open (it should not): still fail it
                self._fail(job, "worker process exited without finishing the run")
        except Exception:
            log.exception("cannot record the end of %s %s", job.kind, job.id)
        finally:
            if job.stderr is not None:
                job.stderr.close()
            # Before the job leaves `_active`: shutdown() waits for an empty `_active`,
            # so a run that ends as the server stops is still logged and notified.
            self._notify(job)
            with self._cond:
                if job in self._active:
                    self._active.remove(job)
                self._cond.notify_all()
        self.dispatch()

    def _fail(self, job: _Job, error: str) -> None:
        """Record a job whose process is gone as ``error`` if it is still running."""
        runs = self.store.runs
        if job.kind == "module":
            self._fail_run(job.id, job.name, error)
            return
        for member in runs.list(group_run_id=job.id, status="running", limit=1000):
            self._fail_run(member.id, member.module_name, error)
        if runs.get_group(job.id).status == "running":
            runs.finish_group(job.id, "error", error=error)

    def _fail_run(self, run_id: int, module: str, error: str) -> None:
        runs = self.store.runs
        if runs.get(run_id).status != "running":
            return  # the child recorded its outcome before it went
        self._safe(runs.append_live, run_id, f"{_stamp()} error: {error}")
        runs.finish(run_id, "error", error=error)
        self._safe(runs.unlock, module, run_id)

    def _notify(self, *jobs: _Job) -> None:
        """Call on_finished for ended jobs; never with the pool's lock held."""
        if self.on_finished is None:
            return
        for job in jobs:
            run_id, group_run_id = (job.id, None) if job.kind == "module" else (None, job.id)
            try:
                self.on_finished(run_id, group_run_id)
            except Exception:
                log.exception("on_finished(%s, %s) failed", run_id, group_run_id)

    # -- control ------------------------------------------------------------------

    def cancel(self, run_id: int) -> bool:
        """Ask run `run_id` to stop (in this pool or any process); False if not running.

        A run still queued (here or on any server sharing the store) ends
        ``cancelled`` at once, its lock freed.
        """
        if self.store.queue.cancel_run(run_id, "cancelled before it started"):
            self._notify(_Job("module", run_id, "", ""))
            return True
        return self.engine.cancel_run(run_id)

    def cancel_group(self, group_run_id: int) -> bool:
        """Stop a group run of this pool: the member running now is cancelled and no
        further member starts. False if the group run is not queued nor in flight here."""
        if self.store.queue.cancel_group(group_run_id, "cancelled before it started"):
            self._notify(_Job("group", group_run_id, "", ""))
            return True
        with self._cond:
            active = next(
                (j for j in self._active if j.kind == "group" and j.id == group_run_id), None
            )
        if active is None:
            return False
        self._stop(active)
        return True

    def _stop(self, job: _Job) -> None:
        """Cancel a running job: the cancel flag in the store, and SIGTERM to its child
        (which sets the run's cancel event: a group starts no further member)."""
        runs = self.store.runs
        if job.kind == "module":
            self._safe(runs.request_cancel, job.id)
        else:
            for member in self._safe(runs.list, group_run_id=job.id, status="running") or []:
                self._safe(runs.request_cancel, member.id)
        if job.proc is not None and job.proc.poll() is None:
            with suppress(ProcessLookupError):
                job.proc.send_signal(signal.SIGTERM)

    def running(self) -> list[int]:
        """Run ids in flight: module runs queued (on any server sharing the store) or
        running here, and the member runs that group runs of this pool carry out now."""
        with self._cond:
            jobs = list(self._active)
        ids = (self._safe(self.store.queue.queued_run_ids) or []) + [
            j.id for j in jobs if j.kind == "module"
        ]
        for job in jobs:
            if job.kind == "group":
                members = self._safe(self.store.runs.list, group_run_id=job.id, status="running")
                ids += [m.id for m in members or []]
        return ids

    def running_groups(self) -> list[int]:
        """Group run ids in flight here."""
        with self._cond:
            return [j.id for j in self._active if j.kind == "group"]

    def health(self) -> dict[str, object]:
        """For ``GET /health``: ok (False once shutting down), workers alive, running here,
        and queued (in the state store, for every server sharing it)."""
        queued = self._safe(self.store.queue.count)
        with self._cond:
            alive = sum(1 for j in self._active if j.proc is not None and j.proc.poll() is None)
            return {
                "ok": not self._closing,
                "kind": "processes",
                "accepting": not self._closing,
                "max_workers": self.max_workers,
                "workers_alive": alive,
                "running": len(self._active),
                "queued": queued or 0,
            }

    def join(self, timeout: float | None = None) -> bool:
        """Wait until no job runs here and (unless shutting down) none is queued;
        False if `timeout` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._active or (not self._closing and self._queued_count()):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left if left is None else min(left, 1.0))
        return True

    def _queued_count(self) -> int:
        count: int | None = self._safe(self.store.queue.count)
        return count or 0

    # -- start-up and shutdown ----------------------------------------------------------

    def recover(self, *, settle_s: float = 10.0) -> list[Recovered]:
        """At start-up: runs left ``running`` by a process that is gone (or whose lease
        expired) become ``error`` ("interrupted", not retried), their locks are freed
        and their database sessions ended; group runs left ``running`` with no member
        running and no sign of life for `settle_s` seconds become ``error`` too.
        Queued runs stay queued: ``dispatch`` starts them."""
        from pipekit.store.runs import INTERRUPTED

        runs = self.store.runs
        done = [
            Recovered("run", h.run_id, h.module)
            for h in self.engine.recover_stale()
            if h.run_id is not None
        ]
        with self._cond:
            mine = {j.id for j in self._active if j.kind == "group"}
        now = dt.datetime.now(dt.UTC)
        for group in runs.list_group(limit=1000):
            if group.status != "running" or group.id in mine:
                continue
            members = runs.list(group_run_id=group.id, limit=1000)
            if any(m.status in ("queued", "running") for m in members):
                continue  # a live process is carrying out a member
            stamps = [group.started_at] + [m.finished_at for m in members if m.finished_at]
            if (now - max(_aware(s) for s in stamps)).total_seconds() < settle_s:
                continue  # perhaps between two members in a live process
            runs.finish_group(group.id, "error", error=INTERRUPTED)
            done.append(Recovered("group", group.id, group.group_name))
        for item in done:
            log.warning(
                "recovered %s %s (%s) left running: marked interrupted", *vars(item).values()
            )
        return done

    def shutdown(self, grace_s: float = 30) -> None:
        """Stop accepting and claiming runs, let running ones finish for up to `grace_s`
        seconds, then cancel the rest and wait for them to roll back. Queued runs stay
        queued in the state store (a restart, or another server, starts them). No lock
        of a run this pool started is left behind."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._stop_poll.set()
        if self._poller is not None:
            self._poller.join(10)
        if not self.join(grace_s):
            with self._cond:
                active = list(self._active)
            for job in active:
                log.warning("shutdown: cancelling %s %s after the grace period", job.kind, job.id)
                self._stop(job)
            if not self.join(ROLLBACK_WAIT_S):
                with self._cond:
                    active = list(self._active)
                for job in active:
                    if job.proc is not None and job.proc.poll() is None:
                        log.error("shutdown: killing %s %s, it did not stop", job.kind, job.id)
                        job.proc.kill()
                self.join(10)
        self.store.close()

    # -- helpers ----------------------------------------------------------------------

    @staticmethod
    def _safe(fn: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R | None:
        try:
            return fn(*args, **kwargs)
        except Exception:
            log.exception("%s failed", getattr(fn, "__name__", fn))
            return None


def _stamp() -> str:
    return dt.datetime.now().strftime("%H:%M:%S")


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown"
        return f"worker process killed by signal {-code} ({name})"
    return f"worker process exited with code {code}"


def _tail(f: IO[bytes] | None, limit: int = 4000) -> str:
    """The last non-empty line of a child's stderr (the exception of a traceback)."""
    if f is None:
        return ""
    try:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - limit))
        lines = [ln.strip() for ln in f.read().decode(errors="replace").splitlines()]
    except OSError:
        return ""
    lines = [ln for ln in lines if ln]
    return lines[-1][:500] if lines else ""


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _log_start(job: _Job) -> None:
    what = "run" if job.kind == "module" else "group run"
    flags = "".join(
        f", {flag}"
        for flag, on in (("dry run", job.dry_run), ("full refresh", job.full_refresh))
        if on
    )
    key = "run_id" if job.kind == "module" else "group_run_id"
    runs_log.info(
        "%s %s started: %s %s%s, triggered by %s",
        what,
        job.id,
        job.kind,
        job.name,
        flags,
        job.triggered_by,
        extra={
            "event": f"{'run' if job.kind == 'module' else 'group_run'}_started",
            key: job.id,
            f"{job.kind}_name": job.name,
            "trigger": job.triggered_by,
        },
    )
