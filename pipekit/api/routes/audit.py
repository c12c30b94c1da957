"""The audit trail (``sv.audit``): who changed what, newest first. Admin only: it names
users and what they did."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from pipekit.api import deps
from pipekit.services import Services
from pipekit.services.audit import AuditView

router = APIRouter()


@router.get("/audit", response_model=list[AuditView], tags=["audit"])
def list_audit(
    object_type: str | None = Query(None, description="connection, module, user, ..."),
    object_name: str | None = None,
    actor: str | None = Query(None, description="api:<user>, web:<user> or cli:<os user>"),
    limit: int = Query(100, ge=1, le=10_000),
    sv: Services = deps.ADMIN,
) -> Any:
    """Changes to connections, modules, watermarks, hooks, checks, groups, schedules,
    users and settings: who, when, the action and the names of the fields (no values)."""
    return sv.audit.list(object_type=object_type, object_name=object_name, actor=actor, limit=limit)
