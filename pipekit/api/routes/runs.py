"""Runs: starting module and group runs, the run log, the live log (polled or as
Server-Sent Events), cancel, and group runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from pipekit.api import deps, schemas
from pipekit.api.deps import IntId
from pipekit.store import Store

router = APIRouter()
S = Depends(deps.store)
STREAM_POLL_S = 0.3
RunStatus = Literal["running", "success", "dry_run", "error", "cancelled"]


def _pool(request: Request) -> Any:
    pool = request.app.state.pool
    if pool is None:
        raise HTTPException(503, detail="this server runs no run pool")
    return pool


def _run(s: Store, id: IntId) -> Any:
    return s.runs.get(id)


ACCEPTED = {
    202: {"description": "the run started; it goes on in the background"},
    503: {"model": schemas.ErrorOut, "description": "no run pool"},
}


@router.post(
    "/modules/{id}/run",
    response_model=schemas.RunStarted,
    status_code=202,
    responses=ACCEPTED,
    tags=["runs"],
)
def run_module(
    id: str, request: Request, body: schemas.RunRequest | None = None, s: Store = S
) -> Any:
    """Start a run and answer `{run_id}` at once; 409 (with the running run's id) while
    the module runs."""
    body = body or schemas.RunRequest()
    m = deps.module(s, id)
    run_id = _pool(request).submit_module(
        m.name, triggered_by="api", dry_run=body.dry_run, full_refresh=body.full_refresh
    )
    return schemas.RunStarted(run_id=run_id)


def _sse(event: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"event: {event}\n{lines}\n"


@router.post(
    "/modules/{id}/run/stream",
    tags=["runs"],
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Server-Sent Events: `run` ({run_id}), one `log` per live-log "
            "line, then `end` (the finished run as JSON)",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        503: ACCEPTED[503],
    },
)
async def run_module_stream(
    id: str, request: Request, body: schemas.RunRequest | None = None
) -> Any:
    """Start a run and stream its live log as Server-Sent Events until it ends."""
    body = body or schemas.RunRequest()
    s: Store = request.app.state.store
    m = await run_in_threadpool(deps.module, s, id)
    pool = _pool(request)
    run_id = await run_in_threadpool(
        lambda: pool.submit_module(
            m.name, triggered_by="api", dry_run=body.dry_run, full_refresh=body.full_refresh
        )
    )

    async def events() -> AsyncIterator[str]:
        yield _sse("run", json.dumps({"run_id": run_id}))
        offset = 0
        pending = ""
        while True:
            run = await run_in_threadpool(s.runs.get, run_id)
            log = run.live_log or ""
            pending += log[offset:]
            offset = len(log)
            *lines, pending = pending.split("\n")
            for line in lines:
                yield _sse("log", line)
            if run.status != "running":
                if pending:
                    yield _sse("log", pending)
                out = schemas.RunOut.model_validate(run).model_dump_json()
                yield _sse("end", out)
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(STREAM_POLL_S)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/groups/{id}/run",
    response_model=schemas.GroupRunStarted,
    status_code=202,
    responses=ACCEPTED,
    tags=["runs"],
)
def run_group(
    id: str, request: Request, body: schemas.GroupRunRequest | None = None, s: Store = S
) -> Any:
    """Start a group run and answer `{group_run_id}` at once."""
    body = body or schemas.GroupRunRequest()
    g = deps.group(s, id)
    gid = _pool(request).submit_group(g.name, triggered_by="api", dry_run=body.dry_run)
    return schemas.GroupRunStarted(group_run_id=gid)


@router.get("/runs", response_model=list[schemas.RunOut], tags=["runs"])
def list_runs(
    module: str | None = None,
    group: str | None = None,
    status: RunStatus | None = None,
    since: datetime | None = Query(None, description="started at or after (ISO 8601)"),
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=deps.MAX_ID),
    s: Store = S,
) -> Any:
    """Runs newest first. `module` and `group` are names (runs of removed ones too)."""
    import sqlalchemy as sa

    from pipekit.store import schema as t
    from pipekit.store.runs import Run

    r, g = t.run_log, t.group_run
    q = sa.select(r).order_by(r.c.started_at.desc(), r.c.id.desc())
    if module is not None:
        q = q.where(r.c.module_name == module)
    if status is not None:
        q = q.where(r.c.status == status)
    if since is not None:
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        q = q.where(r.c.started_at >= since.astimezone(UTC))
    if group is not None:
        q = q.where(r.c.group_run_id.in_(sa.select(g.c.id).where(g.c.group_name == group)))
    with s.read() as conn:
        rows = conn.execute(q.limit(limit).offset(offset)).all()
    return [Run.from_row(row) for row in rows]


@router.get("/runs/{id}", response_model=schemas.RunDetailOut, tags=["runs"])
def get_run(id: IntId, s: Store = S) -> Any:
    return _run(s, id)


@router.get("/runs/{id}/live", response_model=schemas.LiveOut, tags=["runs"])
def live(
    id: IntId, after: int = Query(0, ge=0, description="characters already seen"), s: Store = S
) -> Any:
    """The live log after character `after`; poll again with the returned `offset`."""
    run = _run(s, id)
    log = run.live_log or ""
    return schemas.LiveOut(
        run_id=id,
        text=log[after:],
        offset=max(len(log), after),
        status=run.status,
        finished=run.status != "running",
    )


@router.post(
    "/runs/{id}/cancel",
    response_model=schemas.CancelOut,
    status_code=202,
    responses={409: {"model": schemas.ErrorOut, "description": "not running"}},
    tags=["runs"],
)
def cancel(id: IntId, request: Request, s: Store = S) -> Any:
    """Ask a running run to stop (it ends `cancelled`, the destination as it was)."""
    run = _run(s, id)
    if run.status != "running":
        return JSONResponse(
            {"detail": f"run {id} is not running (status {run.status})"}, status_code=409
        )
    pool = request.app.state.pool
    ok = pool.cancel(id) if pool is not None else s.runs.request_cancel(id)
    return schemas.CancelOut(run_id=id, cancel_requested=bool(ok))


@router.get("/group-runs", response_model=list[schemas.GroupRunOut], tags=["runs"])
def list_group_runs(
    group: str | None = None,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=deps.MAX_ID),
    s: Store = S,
) -> Any:
    return s.runs.list_group(group, limit=limit, offset=offset)


@router.get("/group-runs/{id}", response_model=schemas.GroupRunDetailOut, tags=["runs"])
def get_group_run(id: IntId, s: Store = S) -> Any:
    gr = s.runs.get_group(id)
    runs = list(reversed(s.runs.list(group_run_id=id, limit=1000)))
    return schemas.GroupRunDetailOut(
        **schemas.GroupRunOut.model_validate(gr).model_dump(),
        runs=[schemas.RunOut.model_validate(r) for r in runs],
    )
