"""The audit trail: who changed which connection, module, group, schedule, user or
setting, when, and which fields (names only: a value, a password above all, is never
recorded).

The services record it, so every face (CLI, API, web console) records a change the
same way: a mutating service method is decorated with ``@audited(object_type, action)``,
which writes one entry after the method returned (a failed or refused change records
nothing). Who: ``Services.who`` — ``api:<user>``, ``web:<user>``, or ``cli:<os user>``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from pipekit.services import Services

F = TypeVar("F", bound=Callable[..., Any])

#: the kinds of object the trail names
OBJECT_TYPES: tuple[str, ...] = (
    "connection",
    "module",
    "watermark",
    "hook",
    "check",
    "group",
    "schedule",
    "user",
    "setting",
)
#: parameters that say how to do a change, not what changed
_NOT_FIELDS = frozenset({"self", "key", "first", "dry_run", "strict"})


@dataclass(frozen=True)
class AuditView:
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_name: str | None
    fields: list[str]


def _object_name(result: Any, bound: inspect.BoundArguments, name_of: tuple[str, ...]) -> str:
    """The changed object's name: the arguments `name_of` as given (joined by dots),
    else the result's ``name`` (or ``id``), after its module's for a module's part."""
    if name_of:
        return ".".join(str(bound.arguments.get(a)) for a in name_of)
    name = getattr(result, "name", None)
    if name is None:
        name = getattr(result, "id", None)
    if name is not None:
        module = getattr(result, "module", None)
        return f"{module}.{name}" if isinstance(module, str) else str(name)
    args = list(bound.arguments.values())[1:]  # past self
    return str(args[0]) if args else ""


def _fields(
    bound: inspect.BoundArguments, sig: inspect.Signature, skip: frozenset[str]
) -> list[str]:
    out: list[str] = []
    for name, value in bound.arguments.items():
        param = sig.parameters[name]
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            out.extend(value)
        elif name not in _NOT_FIELDS and name not in skip and value is not None:
            out.append(name)
    return out


def audited(
    object_type: str,
    action: str,
    *,
    name_of: tuple[str, ...] = (),
    skip: tuple[str, ...] = (),
) -> Callable[[F], F]:
    """Record each successful call of a service method (whose instance has ``_sv``):
    `action` on an `object_type`, its name, and the names of the fields passed
    (keyword changes, and arguments given a value; `skip` lists ones that only
    identify the object)."""
    if object_type not in OBJECT_TYPES:
        raise ValueError(f"unknown audit object type {object_type!r}")

    def wrap(method: F) -> F:
        sig = inspect.signature(method)
        skipped = frozenset(skip)

        @functools.wraps(method)
        def inner(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = method(self, *args, **kwargs)
            bound = sig.bind(self, *args, **kwargs)
            sv: Services = self._sv
            sv.store.audit.record(
                sv.who,
                action,
                object_type,
                _object_name(result, bound, name_of),
                _fields(bound, sig, skipped),
            )
            return result

        return cast(F, inner)

    return wrap


class AuditService:
    def __init__(self, sv: Services) -> None:
        self._sv = sv

    def list(
        self,
        *,
        object_type: str | None = None,
        object_name: str | None = None,
        actor: str | None = None,
        limit: int = 100,
    ) -> list[AuditView]:
        """The newest entries first, filtered by object (type and/or name) and actor."""
        from pipekit.errors import InvalidError

        if object_type is not None and object_type not in OBJECT_TYPES:
            raise InvalidError(
                f"unknown object type {object_type!r}; use one of {', '.join(OBJECT_TYPES)}",
                path="object_type",
            )
        if not 1 <= limit <= 10_000:
            raise InvalidError(f"limit {limit} is out of range; use 1 to 10000", path="limit")
        entries = self._sv.store.audit.list(
            object_type=object_type, object_name=object_name, actor=actor, limit=limit
        )
        return [
            AuditView(e.id, e.at, e.actor, e.action, e.object_type, e.object_name, list(e.fields))
            for e in entries
        ]

    def record(
        self, action: str, object_type: str, object_name: str | None, fields: Sequence[str]
    ) -> None:
        """One entry for a change a service makes without ``@audited`` (apply)."""
        self._sv.store.audit.record(self._sv.who, action, object_type, object_name, fields)
