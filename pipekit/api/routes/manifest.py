"""The YAML manifest: apply and export."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from pipekit.api import deps
from pipekit.services import Services
from pipekit.services.manifest import ApplyView

router = APIRouter()
UNPROCESSABLE: dict[int | str, dict[str, Any]] = {
    422: {"description": "invalid manifest, one entry per problem"}
}


@router.post(
    "/apply",
    response_model=ApplyView,
    responses=UNPROCESSABLE,
    tags=["manifest"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "application/x-yaml": {"schema": {"type": "string"}},
            },
        }
    },
)
async def apply(
    request: Request, prune: bool = False, dry_run: bool = False, sv: Services = deps.ADMIN
) -> Any:
    """Apply a YAML manifest (docs/yaml.md) given as the request body."""
    from starlette.concurrency import run_in_threadpool

    raw = await request.body()
    return await run_in_threadpool(sv.manifest.apply, raw, prune, dry_run)


@router.get(
    "/export",
    response_class=PlainTextResponse,
    tags=["manifest"],
    responses={200: {"content": {"application/yaml": {}}, "description": "YAML text"}},
)
def export(sv: Services = deps.VIEWER) -> Any:
    """Everything as a YAML manifest (the format POST /api/apply takes)."""
    return PlainTextResponse(sv.manifest.export(), media_type="application/yaml")
