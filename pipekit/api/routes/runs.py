"""Runs: starting module and group runs, the run log, the live log (polled or as
Server-Sent Events), cancel, and group runs. Every route calls ``sv.runs``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from pipekit.api import deps, schemas
from pipekit.api.deps import IntId
from pipekit.services import Services
from pipekit.services.lookup import MAX_ID
from pipekit.services.modules import RecentRun
from pipekit.services.runs import (
    CancelView,
    GroupRunDetailView,
    GroupRunStartedView,
    GroupRunView,
    LiveView,
    LogFollower,
    RunDetailView,
    RunStartedView,
    RunView,
)
from pipekit.services.views import to_json
from pipekit.status import RUN_STATUSES

router = APIRouter()
#: how often a stream looks at the run log (seconds)
STREAM_POLL_S = 0.3

ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"description": "the run started; it goes on in the background"},
    503: {"model": schemas.ErrorOut, "description": "no run pool"},
}
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _sse_doc(first: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": f"Server-Sent Events: {first}one `log` per live-log line, then "
            "`end` (the finished run as JSON, without its live log)",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    }


@router.post(
    "/modules/{id}/run",
    response_model=RunStartedView,
    status_code=202,
    responses=ACCEPTED,
    tags=["runs"],
)
def run_module(
    id: str, body: schemas.RunRequest | None = None, sv: Services = deps.OPERATOR
) -> Any:
    """Start a run and answer `{run_id}` at once; 409 (with the running run's id) while
    the module runs."""
    body = body or schemas.RunRequest()
    return sv.runs.start(id, dry_run=body.dry_run, full_refresh=body.full_refresh)


def _sse(event: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"event: {event}\n{lines}\n"


def _stream(request: Request, follower: LogFollower, first: str | None = None) -> Any:
    """The follower's lines as `log` events, then `end`, as an SSE response.

    It waits with asyncio between looks at the run log, so a long stream holds no
    thread; a client that goes away ends it (the run goes on)."""

    async def events() -> AsyncIterator[str]:
        if first is not None:
            yield first
        while True:
            lines, finished = await run_in_threadpool(follower.step)
            for line in lines:
                yield _sse("log", line)
            if finished is not None:
                yield _sse("end", json.dumps(to_json(finished), separators=(",", ":")))
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(STREAM_POLL_S)

    return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)


@router.post(
    "/modules/{id}/run/stream",
    tags=["runs"],
    response_class=StreamingResponse,
    responses={**_sse_doc("`run` ({run_id}), "), 503: ACCEPTED[503]},
)
async def run_module_stream(
    id: str, request: Request, body: schemas.RunRequest | None = None, sv: Services = deps.OPERATOR
) -> Any:
    """Start a run and stream its live log as Server-Sent Events until it ends."""
    body = body or schemas.RunRequest()
    started = await run_in_threadpool(
        lambda: sv.runs.start(id, dry_run=body.dry_run, full_refresh=body.full_refresh)
    )
    follower = await run_in_threadpool(sv.runs.follower, started.run_id)
    return _stream(request, follower, _sse("run", json.dumps({"run_id": started.run_id})))


@router.post(
    "/groups/{id}/run",
    response_model=GroupRunStartedView,
    status_code=202,
    responses=ACCEPTED,
    tags=["runs"],
)
def run_group(
    id: str, body: schemas.GroupRunRequest | None = None, sv: Services = deps.OPERATOR
) -> Any:
    """Start a group run and answer `{group_run_id}` at once."""
    body = body or schemas.GroupRunRequest()
    return sv.runs.start_group(id, dry_run=body.dry_run)


@router.get("/runs", response_model=list[RunView], tags=["runs"])
def list_runs(
    module: str | None = None,
    group: str | None = None,
    # status and since as text: the service refuses a wrong one, as it does for the CLI
    status: str | None = Query(
        None,
        description=f"one of {', '.join(RUN_STATUSES)}",
        json_schema_extra={"enum": list(RUN_STATUSES)},
    ),
    since: str | None = Query(
        None, description="started at or after: ISO 8601, e.g. 2026-01-31T08:00:00Z (naive: UTC)"
    ),
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_ID),
    before: int | None = Query(
        None,
        ge=0,
        le=MAX_ID,
        description="keyset paging: the last run id of the previous page (instead of offset)",
    ),
    sv: Services = deps.VIEWER,
) -> Any:
    """Runs newest first. `module` and `group` are names (runs of removed ones too).
    Page with `before` (fast at any depth) or `offset`."""
    if before is not None:
        return sv.runs.page(
            module=module, group=group, status=status, since=since, before=before, limit=limit
        )
    return sv.runs.list(
        module=module, group=group, status=status, since=since, limit=limit, offset=offset
    )


# before /runs/{id}, which would take "latest" for an id
@router.get("/runs/latest", response_model=dict[str, RecentRun | None], tags=["runs"])
def latest_runs(sv: Services = deps.VIEWER) -> Any:
    """Each module's latest run by module name (null: it never ran), as a module list
    shows them."""
    return sv.modules.last_runs()


@router.get("/runs/{id}", response_model=RunDetailView, tags=["runs"])
def get_run(id: IntId, sv: Services = deps.VIEWER) -> Any:
    return sv.runs.show(id)


@router.get("/runs/{id}/live", response_model=LiveView, tags=["runs"])
def live(
    id: IntId,
    after: int = Query(0, ge=0, description="characters already seen"),
    sv: Services = deps.VIEWER,
) -> Any:
    """The live log after character `after`; poll again with the returned `offset`."""
    return sv.runs.live(id, after)


@router.get(
    "/runs/{id}/stream", tags=["runs"], response_class=StreamingResponse, responses=_sse_doc("")
)
async def stream(id: IntId, request: Request, sv: Services = deps.VIEWER) -> Any:
    """A run's live log as Server-Sent Events until it ends; starts nothing. A run that
    has ended gives its whole log and `end` at once."""
    follower = await run_in_threadpool(sv.runs.follower, id)
    return _stream(request, follower)


@router.post(
    "/runs/{id}/cancel",
    response_model=CancelView,
    status_code=202,
    responses={409: {"model": schemas.ErrorOut, "description": "not running"}},
    tags=["runs"],
)
def cancel(id: IntId, sv: Services = deps.OPERATOR) -> Any:
    """Ask a running run to stop (it ends `cancelled`, the destination as it was)."""
    return sv.runs.cancel(id)


@router.get("/group-runs", response_model=list[GroupRunView], tags=["runs"])
def list_group_runs(
    group: str | None = None,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_ID),
    sv: Services = deps.VIEWER,
) -> Any:
    return sv.runs.list_group_runs(group, limit=limit, offset=offset)


@router.get("/group-runs/{id}", response_model=GroupRunDetailView, tags=["runs"])
def get_group_run(id: IntId, sv: Services = deps.VIEWER) -> Any:
    return sv.runs.show_group_run(id)
