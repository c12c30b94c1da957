"""Runs: the run list (filters, keyset paging), a run's page with its SQL, watermarks and
live log (htmx polls ``/runs/{id}/live`` while it runs), cancel, and group runs.

Same service calls as ``/api/runs``, ``/api/runs/{id}``, ``/api/runs/{id}/live``,
``/api/runs/{id}/cancel`` and ``/api/group-runs/{id}``.
"""

from __future__ import annotations

from fastapi import Query, Request, Response

from pipekit.services.lookup import MAX_ID
from pipekit.web.render import page
from pipekit.web.routing import redirect, web_router
from pipekit.web.security import WebUser, requires

router = web_router()
PAGE_SIZE = 50
#: the most of a live log a run page shows at once (the rest: the API, `runs show`)
LOG_TAIL_CHARS = 200_000


@router.get("/runs")
def run_list(
    request: Request,
    module: str = "",
    group: str = "",
    status: str = "",
    since: str = "",
    before: int | None = Query(None, ge=0, le=MAX_ID),
    user: WebUser = requires("viewer"),
) -> Response:
    sv = user.sv
    runs = sv.runs.page(
        module=module or None,
        group=group or None,
        status=status or None,
        since=since or None,
        before=before,
        limit=PAGE_SIZE,
    )
    f = {"module": module, "group": group, "status": status, "since": since}
    ids = [r.id for r in runs]
    more = dict(f, before=str(ids[-1])) if len(ids) == PAGE_SIZE else None
    return page(
        request,
        "runs.html",
        title="Runs",
        runs=runs,
        f=f,
        more=more,
        first_page=before is None,
        group_runs=sv.runs.list_group_runs(group=group or None, limit=10) if before is None else [],
    )


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: int, user: WebUser = requires("viewer")) -> Response:
    run = user.sv.runs.show(run_id)
    log = run.live_log or ""
    return page(
        request,
        "run.html",
        title=f"Run {run.id}",
        r=run,
        log=log[-LOG_TAIL_CHARS:],
        clipped=len(log) > LOG_TAIL_CHARS,
        offset=len(log),
    )


@router.get("/runs/{run_id}/live")
def live(
    request: Request,
    run_id: int,
    after: int = Query(0, ge=0),
    user: WebUser = requires("viewer"),
) -> Response:
    """What the live log gained since `after`, appended by htmx; when the run has ended,
    the page reloads to show the finished run."""
    lv = user.sv.runs.live(run_id, after)
    response = page(request, "_live.html", lv=lv, run=user.sv.runs.show(run_id))
    if lv.finished:
        response.headers["HX-Refresh"] = "true"
    return response


@router.post("/runs/{run_id}/cancel")
def cancel(run_id: int, user: WebUser = requires("operator")) -> Response:
    user.sv.runs.cancel(run_id)
    return redirect(f"/runs/{run_id}?cancelling=1")


@router.get("/group-runs/{group_run_id}")
def group_run_page(
    request: Request, group_run_id: int, user: WebUser = requires("viewer")
) -> Response:
    gr = user.sv.runs.show_group_run(group_run_id)
    return page(request, "group_run.html", title=f"Group run {gr.id}", gr=gr)
