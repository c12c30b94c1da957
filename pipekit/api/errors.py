"""How a ``PipekitError`` becomes an HTTP answer: the status by the error's class
(``pipekit.errors.HTTP_STATUS_BY_CLASS``, which the web console's error pages use too).

    403  PermissionDeniedError (the user's role is too weak; names the role needed)
    404  NotFoundError
    409  AlreadyExistsError, InUseError, ModuleBusyError (with ``run_id``), NotRunningError
    413  RequestTooLargeError (a body over ``api.max_request_bytes``)
    422  InvalidError (ValidationError, ...SpecError), SecretError, DriverMissingError:
         FastAPI's own shape, one entry per problem, ``loc`` = ["body", *path]
    503  UnavailableError (no run pool), StoreError (the state DB is unusable)
    415  UnsupportedMediaError (a body that is not JSON, or YAML for apply)
    400  anything else (a database that refused, a run that could not be planned)

Every body names the error's class (``error``, or ``type`` in a 422 entry), so a
client (and the parity tests) can tell errors apart without reading words.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from pipekit.errors import (
    ModuleBusyError,
    PipekitError,
    http_status,
)
from pipekit.redact import redact


def status_of(exc: PipekitError) -> int:
    return http_status(exc)


def body_of(exc: PipekitError) -> dict[str, Any]:
    """The JSON body for `exc` (see the module docstring)."""
    status = status_of(exc)
    name = type(exc).__name__
    if status == 422:
        return {
            "detail": [
                {
                    "loc": ["body", *(p.path.split(".") if p.path else [])],
                    "msg": redact(p.message),
                    "type": name,
                }
                for p in exc.problems
            ]
        }
    # redacted again: a secret value may have become known since the error was made
    body: dict[str, Any] = {"detail": redact(exc.message), "error": name}
    if exc.path:
        body["path"] = exc.path
    if isinstance(exc, ModuleBusyError):
        body["run_id"] = exc.run_id
    return body


async def handle(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PipekitError)
    return JSONResponse(body_of(exc), status_code=status_of(exc))
