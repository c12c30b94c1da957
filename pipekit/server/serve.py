"""What `pipekit serve` runs: the app with its run pool, scheduler and notifier.

``build(config_path, grace_s)`` makes the app; its lifespan recovers runs left
``running`` by a dead process (``pool.recover()``), starts the scheduler thread,
and on shutdown (SIGTERM, Ctrl-C) stops the scheduler, then the pool
(``pool.shutdown(grace_s)``: no new runs, running ones get `grace_s` seconds,
then are cancelled; their locks are released). ``from_env`` is the factory
uvicorn's ``--reload`` imports (PIPEKIT_CONFIG, PIPEKIT_SERVE_GRACE).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from pipekit.server.app import create_app
from pipekit.services import Services

log = logging.getLogger("pipekit.server")
ENV_GRACE = "PIPEKIT_SERVE_GRACE"


def _notifier(config: Any) -> Any:
    from pipekit.runtime.notify import Notifier

    try:
        return Notifier.from_config(config)
    except Exception:
        log.exception("notifications disabled: the notifier could not be set up")
        return None


def make_pool(config_path: Path | None, config: Any, store: Any) -> Any:
    notifier = _notifier(config)

    def on_finished(run_id: int | None, group_run_id: int | None) -> None:
        if notifier is None:
            return
        try:
            if run_id is not None:
                run = store.runs.get(run_id)
                if run.status == "error" and run.group_run_id is None:
                    notifier.notify_run_failed(run)
            elif group_run_id is not None:
                group_run = store.runs.get_group(group_run_id)
                if group_run.status == "error":
                    runs = store.runs.list(group_run_id=group_run_id, limit=1000)
                    notifier.notify_group_failed(group_run, runs)
        except Exception:
            log.exception("a failure notification could not be sent")

    from pipekit.runtime.pool import RunPool

    workers = int(config["max_concurrent_runs"])
    return RunPool(config_path, max_workers=workers, on_finished=on_finished)


def build(config_path: Path | None, grace_s: float = 30.0) -> FastAPI:
    from pipekit.config import load_config
    from pipekit.runtime.scheduler import Scheduler

    config = load_config(config_path)
    services = Services.open(config, actor="api")
    store = services.store
    store.check()
    pool = make_pool(config_path, config, store)

    def fire(schedule: Any, now: Any) -> None:
        pool.submit_group(schedule.group, triggered_by=f"schedule:{schedule.id}")

    scheduler = Scheduler(store, fire)
    services.pool = pool
    services.scheduler = scheduler
    app = create_app(services)
    app.state.pool, app.state.scheduler, app.state.store = pool, scheduler, store

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for item in pool.recover() or []:
            log.warning("recovered %s", item)
        scheduler.start(float(config["scheduler.interval_s"]))
        try:
            yield
        finally:
            scheduler.stop()
            pool.shutdown(grace_s)
            store.close()

    app.router.lifespan_context = lifespan
    return app


def from_env() -> FastAPI:
    path = os.environ.get("PIPEKIT_CONFIG")
    return build(Path(path) if path else None, float(os.environ.get(ENV_GRACE, "30")))
