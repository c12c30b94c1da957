"""The FastAPI application: ``create_app(config, *, pool=None, scheduler=None)``.

Everything under ``/api`` needs HTTP Basic auth (``auth.require_user``);
``/health`` does not. Deliberate errors (``PipekitError``) become 4xx answers
with ``{"detail": message}``: unknown objects 404, names taken or objects in
use or busy 409 (a busy module also carries ``run_id``), invalid definitions
422, anything else 400.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from pipekit.api import schemas
from pipekit.api.auth import Throttle, require_user
from pipekit.config import Config
from pipekit.errors import (
    AlreadyExistsError,
    ConnectionSpecError,
    DatabaseError,
    DriverMissingError,
    InUseError,
    ModuleBusyError,
    NotFoundError,
    PipekitError,
    SecretError,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": schemas.ErrorOut, "description": "refused"},
    401: {"model": schemas.ErrorOut, "description": "no or wrong credentials"},
    404: {"model": schemas.ErrorOut, "description": "no such object"},
    409: {"model": schemas.BusyOut, "description": "name taken, in use, or running"},
}


_URL_PASSWORD = re.compile(r"(://[^/:@\s'\"]*:)[^@\s'\"]*@")
_FIELD_WORDS = (
    ("cron", "cron_expr"),
    ("URL", "url"),
    ("merge_strategy", "merge_strategy"),
    ("watermark_op", "watermark_op"),
    ("run_on", "run_on"),
    ("SQL", "sql"),
    (" name ", "name"),
)


def scrub(message: str) -> str:
    """A message with any password inside a URL (`kind://user:secret@host`) masked."""
    return _URL_PASSWORD.sub(r"\1***@", message)


def field_of(exc: PipekitError, message: str) -> list[str]:
    """Where a refused value was, as far as the message tells: ``["body", field]``."""
    if isinstance(exc, SecretError):
        return ["body", "password"]
    for word, field in _FIELD_WORDS:
        if word in message:
            return ["body", field]
    return ["body"]


def status_of(exc: PipekitError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, AlreadyExistsError | InUseError | ModuleBusyError):
        return 409
    if isinstance(exc, ValueError | SecretError | ConnectionSpecError | DriverMissingError):
        return 422
    if isinstance(exc, DatabaseError):
        return 400
    return 400


def create_app(config: Config, *, pool: Any = None, scheduler: Any = None) -> FastAPI:
    from pipekit.api.routes import config_routes, runs
    from pipekit.store import Store

    app = FastAPI(
        title="Pipekit",
        version="1",
        description="Config-driven database sync. HTTP Basic auth on everything under /api.",
    )
    app.state.config = config
    app.state.store = Store.open(config)
    app.state.pool = pool
    app.state.scheduler = scheduler
    app.state.throttle = Throttle()

    @app.exception_handler(PipekitError)
    async def pipekit_error(request: Request, exc: PipekitError) -> JSONResponse:
        message = scrub(str(exc))
        body: dict[str, Any] = {"detail": message}
        if isinstance(exc, ModuleBusyError):
            body["run_id"] = exc.run_id
        code = status_of(exc)
        if code == 422:
            loc = field_of(exc, message)
            body = {"detail": [{"loc": loc, "msg": message, "type": "value_error"}]}
        return JSONResponse(body, status_code=code)

    @app.get("/health", response_model=schemas.HealthOut, tags=["health"])
    def health() -> schemas.HealthOut:
        """State DB, scheduler and run-pool health. No authentication."""
        try:
            version = app.state.store.check()
            db = schemas.HealthPart(ok=True, detail={"schema_version": version})
        except Exception as exc:  # any failure is the answer, not a 500
            db = schemas.HealthPart(ok=False, detail={"error": str(exc)})
        parts = {}
        for name, thing in (("scheduler", app.state.scheduler), ("pool", app.state.pool)):
            if thing is None:
                parts[name] = schemas.HealthPart(ok=False, detail={"error": "not running"})
                continue
            try:
                info = dict(thing.health())
                parts[name] = schemas.HealthPart(ok=bool(info.get("ok", True)), detail=info)
            except Exception as exc:
                parts[name] = schemas.HealthPart(ok=False, detail={"error": str(exc)})
        ok = db.ok and all(p.ok for p in parts.values())
        return schemas.HealthOut(status="ok" if ok else "degraded", database=db, **parts)

    for router in (config_routes.router, runs.router):
        app.include_router(
            router, prefix="/api", dependencies=[Depends(require_user)], responses=ERRORS
        )
    return app
