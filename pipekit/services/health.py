"""``Services.health()``: is the state DB usable, do the scheduler and the run pool run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pipekit.services import Services


@dataclass(frozen=True)
class HealthPart:
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HealthView:
    status: Literal["ok", "degraded"]
    database: HealthPart
    scheduler: HealthPart
    pool: HealthPart


def health(sv: Services) -> HealthView:
    """Every part's health; a failure is part of the answer, never an exception."""
    try:
        db = HealthPart(ok=True, detail={"schema_version": sv.store.check()})
    except Exception as exc:
        db = HealthPart(ok=False, detail={"error": str(exc)})
    parts: dict[str, HealthPart] = {}
    for name, thing in (("scheduler", sv.scheduler), ("pool", sv.pool)):
        if thing is None:
            parts[name] = HealthPart(ok=False, detail={"error": "not running"})
            continue
        try:
            info = dict(thing.health())
            parts[name] = HealthPart(ok=bool(info.get("ok", True)), detail=info)
        except Exception as exc:
            parts[name] = HealthPart(ok=False, detail={"error": str(exc)})
    ok = db.ok and all(p.ok for p in parts.values())
    return HealthView(status="ok" if ok else "degraded", database=db, **parts)
