"""What `pipekit serve` runs: the app with its run pool, scheduler and notifier.

``build(config_path, grace_s)`` makes the app; its lifespan recovers runs left
``running`` by a dead process (``pool.recover()``), starts the runs left queued
(``pool.dispatch()``, then a poll for runs other servers queue), starts the
scheduler thread unless ``scheduler.enabled`` is false,
and on shutdown (SIGTERM, Ctrl-C) stops the scheduler, then the pool
(``pool.shutdown(grace_s)``: no new runs, running ones get `grace_s` seconds,
then are cancelled; their locks are released). ``from_env`` is the factory
uvicorn's ``--reload`` imports (PIPEKIT_CONFIG, PIPEKIT_SERVE_GRACE).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from pipekit.server.app import create_app
from pipekit.services import Services

log = logging.getLogger("pipekit.server")
runs_log = logging.getLogger("pipekit.runs")
ENV_GRACE = "PIPEKIT_SERVE_GRACE"


def log_end(store: Any, run_id: int | None, group_run_id: int | None) -> None:
    """One line for a run or group run that ended: what, how, rows, time, error."""
    if run_id is not None:
        run = store.runs.get(run_id)
        what, name, kind, key = f"run {run_id}", run.module_name, "module", "run_id"
        rows: int | None = run.rows_read
    else:
        run = store.runs.get_group(group_run_id)
        what, name, kind, key = f"group run {group_run_id}", run.group_name, "group", "group_run_id"
        rows = None
    seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
    parts = [f"{kind} {name}"]
    if rows is not None:
        parts.append(f"{rows:,} row{'' if rows == 1 else 's'} read")
    if seconds is not None:
        parts.append(f"in {seconds:.1f} s")
    text = f"{what} ended {run.status}: " + ", ".join(parts)
    if run.error:
        text += f": {run.error}"
    level = {"error": logging.ERROR, "cancelled": logging.WARNING}.get(run.status, logging.INFO)
    runs_log.log(
        level,
        "%s",
        text,
        extra={
            "event": "run_ended" if run_id is not None else "group_run_ended",
            key: run_id if run_id is not None else group_run_id,
            f"{kind}_name": name,
            "trigger": run.triggered_by,
            "status": run.status,
            "rows": rows,
            "duration_s": round(seconds, 3) if seconds is not None else None,
            "error": run.error,
        },
    )


def make_pool(config_path: Path | None, services: Services) -> Any:
    """The run pool; each run or group run that ends is logged and, if it failed,
    notified (``services.notifications``)."""

    def on_finished(run_id: int | None, group_run_id: int | None) -> None:
        try:
            log_end(services.store, run_id, group_run_id)
        except Exception:
            log.exception("cannot log the end of run %s / group run %s", run_id, group_run_id)
        services.notifications.run_ended(run_id=run_id, group_run_id=group_run_id)

    from pipekit.runtime.pool import RunPool

    workers = int(services.config["max_concurrent_runs"])
    return RunPool(config_path, max_workers=workers, on_finished=on_finished)


class Retention:
    """Prunes the run log to ``runs.retention_days`` at start-up and then once a day, on
    a thread of its own (nothing when the setting is empty)."""

    def __init__(self, services: Services, days: int | None, every_s: float = 86400) -> None:
        self.services, self.days, self.every_s = services, days, every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def prune_once(self) -> None:
        try:
            done = self.services.runs.prune(f"{self.days}d")
        except Exception:
            log.exception("pruning the run log failed")
            return
        log.info(
            "run log pruned to %s days: %s run(s) and %s group run(s) deleted",
            self.days,
            done.runs,
            done.group_runs,
            extra={"event": "runs_pruned"},
        )

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.prune_once()
            self._stop.wait(self.every_s)

    def start(self) -> None:
        if self.days:
            self._thread = threading.Thread(
                target=self._loop, name="pipekit-retention", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)


def build(config_path: Path | None, grace_s: float = 30.0) -> FastAPI:
    from pipekit.config import load_config
    from pipekit.runtime.scheduler import Scheduler

    config = load_config(config_path)
    services = Services.open(config, actor="api")
    store = services.store
    store.check()
    pool = make_pool(config_path, services)

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
        # runs queued before a restart (or by another server) start now, in order
        pool.dispatch()
        pool.start_polling()
        if config["scheduler.enabled"]:
            scheduler.start(float(config["scheduler.interval_s"]))
        else:
            scheduler.enabled = False
            log.info("scheduler off in this server (scheduler.enabled: false)")
        retention = Retention(services, config["runs.retention_days"])
        retention.start()
        try:
            yield
        finally:
            retention.stop()
            scheduler.stop()
            pool.shutdown(grace_s)
            store.close()

    app.router.lifespan_context = lifespan
    return app


def check_tls(cert: str | None, key: str | None) -> None:
    """Refuse, in one line, a certificate and key that cannot serve HTTPS: one without
    the other, a missing or unreadable file, not PEM, or a key that is not the
    certificate's."""
    import ssl

    from pipekit.errors import ConfigError

    if cert is None and key is None:
        return
    if cert is None or key is None:
        raise ConfigError("give both --tls-cert and --tls-key (PEM files), or neither")
    for option, file in (("--tls-cert", cert), ("--tls-key", key)):
        p = Path(file)
        if not p.is_file():
            raise ConfigError(f"{option} {file}: no such file")
        if not os.access(p, os.R_OK):
            raise ConfigError(f"{option} {file}: not readable by this user")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc):
            reason = "the key does not belong to the certificate"
        else:
            reason = f"not a PEM certificate and key ({exc.reason or exc})"
        raise ConfigError(f"--tls-cert {cert} / --tls-key {key}: {reason}") from None
    except OSError as exc:
        raise ConfigError(f"--tls-cert {cert} / --tls-key {key}: {exc.strerror}") from None


def uvicorn_options(config: Any, cert: str | None, key: str | None) -> dict[str, Any]:
    """uvicorn's TLS and proxy options: forwarded headers are believed only from the
    peers in ``server.trusted_proxies`` (uvicorn would believe 127.0.0.1 by default)."""
    proxies = [str(p) for p in config["server.trusted_proxies"]]
    options: dict[str, Any] = {
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or None,
    }
    if cert and key:
        options.update(ssl_certfile=cert, ssl_keyfile=key)
    return options


def from_env() -> FastAPI:
    path = os.environ.get("PIPEKIT_CONFIG")
    return build(Path(path) if path else None, float(os.environ.get(ENV_GRACE, "30")))
