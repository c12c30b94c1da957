"""What the API needs of a run pool, and a small in-process one used until (or unless)
``pipekit.engine.pool.RunPool`` is available.

The fallback runs each module in a thread of the server process: it answers
with the run id at once (``Engine.start_module`` takes the lock), carries the
run out with ``Engine.run_module(run_id=...)``, and cancels through the state
store (``runs.request_cancel``), which the engine polls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pipekit.config import Config


class ThreadRunPool:
    def __init__(
        self,
        config: Config,
        *,
        max_workers: int,
        on_finished: Callable[[int | None, int | None], Any] | None = None,
    ) -> None:
        from pipekit.store import Store

        self.config = config
        self.store = Store.open(config)
        self.executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="run")
        self.on_finished = on_finished
        self.accepting = True
        self.max_workers = max_workers
        self._running: dict[int, threading.Event] = {}
        self._lock = threading.Lock()

    def _engine(self) -> Any:
        from pipekit.engine.run import Engine

        return Engine.from_config(self.store, self.config)

    def _refuse_if_stopping(self) -> None:
        from pipekit.errors import PipekitError

        if not self.accepting:
            raise PipekitError("the server is shutting down and accepts no new runs")

    def submit_module(
        self,
        name: str,
        *,
        triggered_by: str = "api",
        dry_run: bool = False,
        full_refresh: bool = False,
    ) -> int:
        self._refuse_if_stopping()
        engine = self._engine()
        self.store.modules.get(name)  # NotFoundError before anything is recorded
        run_id = engine.start_module(name, triggered_by=triggered_by)
        cancel = threading.Event()
        with self._lock:
            self._running[run_id] = cancel

        def work() -> None:
            try:
                run = engine.run_module(
                    name,
                    run_id=run_id,
                    dry_run=dry_run,
                    full_refresh=full_refresh,
                    triggered_by=triggered_by,
                    cancel=cancel,
                )
                if self.on_finished:
                    self.on_finished(run.id, None)
            finally:
                with self._lock:
                    self._running.pop(run_id, None)

        self.executor.submit(work)
        return run_id

    def submit_group(self, name: str, *, triggered_by: str = "api", dry_run: bool = False) -> int:
        from pipekit.engine.run import run_group

        self._refuse_if_stopping()
        self.store.groups.get(name)
        group_run_id = self.store.runs.start_group(name, triggered_by=triggered_by)
        engine = self._engine()

        def work() -> None:
            run_group(
                engine,
                name,
                dry_run=dry_run,
                triggered_by=triggered_by,
                group_run_id=group_run_id,
            )
            if self.on_finished:
                self.on_finished(None, group_run_id)

        self.executor.submit(work)
        return group_run_id

    def cancel(self, run_id: int) -> bool:
        with self._lock:
            event = self._running.get(run_id)
        if event is not None:
            event.set()
        return self.store.runs.request_cancel(run_id) or event is not None

    def running(self) -> list[int]:
        with self._lock:
            return list(self._running)

    def recover(self) -> list[Any]:
        from pipekit.engine.run import pid_alive

        return self.store.runs.recover_stale_locks(pid_alive)

    def shutdown(self, grace_s: float) -> None:
        import time

        self.accepting = False
        deadline = time.monotonic() + grace_s
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.1)
        for run_id in self.running():
            self.cancel(run_id)
        self.executor.shutdown(wait=True)

    def health(self) -> dict[str, Any]:
        return {
            "kind": "threads",
            "accepting": self.accepting,
            "max_workers": self.max_workers,
            "running": len(self.running()),
        }
