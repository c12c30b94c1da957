"""The YAML manifest: apply and export."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse

from pipekit.api import deps, schemas
from pipekit.store import Store

router = APIRouter()
S = Depends(deps.store)
NOT_BUILT = {501: {"model": schemas.NotBuiltOut, "description": "not built yet"}}
UNPROCESSABLE = {422: {"description": "invalid definition, one entry per bad field"}}


def _engine(request: Request, s: Store) -> Any:
    from pipekit.engine.run import Engine

    return Engine.from_config(s, request.app.state.config)


# manifest --------------------------------------------------------------------


@router.post(
    "/apply",
    response_model=schemas.ApplyOut,
    responses=UNPROCESSABLE,
    tags=["manifest"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        }
    },
)
async def apply(request: Request, prune: bool = False, dry_run: bool = False) -> Any:
    """Apply a YAML manifest (docs/yaml.md) given as the request body."""
    import yaml
    from starlette.concurrency import run_in_threadpool

    from pipekit.engine.manifest import ManifestError, apply_manifest

    raw = await request.body()
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise deps.field_422("body", "the manifest must be UTF-8 text") from None
    text = text + "\n"  # never read as a path (a string ending in .yaml is one)
    s = request.app.state.store
    try:
        report = await run_in_threadpool(
            apply_manifest, s, text, prune=prune, dry_run=dry_run, changed_by="api"
        )
    except ManifestError as exc:
        raise deps.problems_422(exc.problems) from None
    except yaml.YAMLError as exc:  # e.g. control characters the YAML reader refuses
        raise deps.field_422("body", f"not a YAML document: {exc}") from None
    return schemas.ApplyOut(
        changed=report.changed,
        dry_run=report.dry_run,
        changes=[
            schemas.ApplyChange(kind=c.kind, name=c.name, action=c.action, fields=list(c.fields))
            for c in report.changes
        ],
    )


@router.get(
    "/export",
    response_class=PlainTextResponse,
    tags=["manifest"],
    responses={200: {"content": {"application/yaml": {}}, "description": "YAML text"}},
)
def export(s: Store = S) -> Any:
    """Everything as a YAML manifest (the format POST /api/apply takes)."""
    from pipekit.engine.manifest import export_manifest

    return PlainTextResponse(export_manifest(s), media_type="application/yaml")
