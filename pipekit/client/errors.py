"""An API error answer back into the ``pipekit.errors`` class the server raised.

The server names the class in every error body (``pipekit.api.errors``):
``{"detail", "error", "path"}`` (plus ``run_id`` when a module is busy), or for
422 FastAPI's list ``{"detail": [{"loc", "msg", "type"}]}`` with the class in
``type``. A client therefore raises the same class, path and message a
service call would have, and a face handles both alike. A 401 becomes
``AuthenticationError``, and so does a 429 (too many failed logins); a body the
client cannot read becomes a plain ``PipekitError`` with the status and text.
"""

from __future__ import annotations

from typing import Any

from pipekit import errors
from pipekit.errors import (
    AuthenticationError,
    DatabaseError,
    InvalidError,
    ModuleBusyError,
    PipekitError,
    Problem,
    ValidationError,
)

#: every class of the tree by name
_CLASSES: dict[str, type[PipekitError]] = {
    name: cls
    for name in errors.__all__
    if isinstance(cls := getattr(errors, name), type) and issubclass(cls, PipekitError)
}


def _problem(entry: dict[str, Any]) -> Problem:
    loc = [str(part) for part in entry.get("loc", [])]
    if loc and loc[0] in ("body", "query", "path"):
        loc = loc[1:]
    return Problem(".".join(loc), str(entry.get("msg", "")))


def _from_problems(entries: list[dict[str, Any]]) -> PipekitError:
    problems = [_problem(e) for e in entries]
    names = {str(e.get("type", "")) for e in entries}
    cls = _CLASSES.get(names.pop()) if len(names) == 1 else None
    if cls is not None and not issubclass(cls, ValidationError) and len(problems) == 1:
        return _make(cls, problems[0].message, problems[0].path or None)
    # FastAPI's own checks (a wrong type) name no class of ours: they are refusals too
    if len(problems) == 1 and cls is None:
        return InvalidError(str(problems[0]), path=problems[0].path or None)
    return ValidationError(problems, "the request")


def _make(cls: type[PipekitError], message: str, path: str | None, **extra: Any) -> PipekitError:
    if issubclass(cls, ModuleBusyError):
        return cls(message, run_id=extra.get("run_id"))
    if issubclass(cls, DatabaseError):
        return cls(message)
    if issubclass(cls, ValidationError):
        return ValidationError([Problem(path or "", message)], "the request")
    return cls(message, path=path)


def error_from(status: int, body: Any, text: str = "") -> PipekitError:
    """The error the server meant by answering `status` with `body` (parsed JSON or None)."""
    if status == 401:
        return AuthenticationError(
            "the server refused the user name or password; check --user and the password "
            "(prompted, or $PIPEKIT_PASSWORD), or set it with `pipekit set-password USER`"
        )
    if status == 429:
        detail = body.get("detail") if isinstance(body, dict) else None
        return AuthenticationError(str(detail or "too many failed logins; try again later"))
    if isinstance(body, dict):
        detail = body.get("detail")
        if isinstance(detail, list) and detail and all(isinstance(e, dict) for e in detail):
            return _from_problems(detail)
        cls = _CLASSES.get(str(body.get("error", "")), PipekitError)
        message = str(detail) if detail is not None else f"HTTP {status}"
        return _make(cls, message, body.get("path"), run_id=body.get("run_id"))
    return PipekitError(f"the server answered HTTP {status}: {text[:200] or 'no body'}")
