"""Modules: the list with filters, a module's page (settings, column mapping, the next
run's SQL, watermarks, hooks, checks, runs, history), the edit form with inline
watermark rows, and the actions (enable, disable, run, dry run, full refresh, delete,
and an admin's unlock of a lock a run left behind).

Each calls the service its ``/api/modules`` twin calls.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Query, Request, Response

from pipekit.errors import PipekitError
from pipekit.roles import allows
from pipekit.services.module_list import MODULE_STATES
from pipekit.web.forms import form_data, module_changes, watermark_rows
from pipekit.web.render import page
from pipekit.web.routing import problems, redirect, web_router
from pipekit.web.security import WebUser, requires

router = web_router()

STRATEGIES = ("full", "incremental", "append", "upsert")
#: modules shown per page of the list (a page of 1,000 rows takes long to render)
LIST_PAGE = 100


@router.get("/modules")
def module_list(
    request: Request,
    connection: str = "",
    group: str = "",
    status: str = "",
    q: str = "",
    page_no: int = Query(1, alias="page", ge=1, le=100_000),
    user: WebUser = requires("viewer"),
) -> Response:
    sv = user.sv
    first = (page_no - 1) * LIST_PAGE
    found = sv.modules.browse_page(
        connection=connection or None,
        group=group or None,
        status=status or None,
        text=q or None,
        offset=first,
        limit=LIST_PAGE,
    )
    f = {"connection": connection, "group": group, "status": status, "q": q}
    return page(
        request,
        "modules.html",
        title="Modules",
        rows=found.rows,
        total=found.total,
        first=first,
        prev=dict(f, page=page_no - 1) if page_no > 1 else None,
        next=dict(f, page=page_no + 1) if first + LIST_PAGE < found.total else None,
        f=f,
        connections=[c.name for c in sv.connections.list()],
        states=MODULE_STATES,
    )


@router.get("/modules/{key}")
def module_page(request: Request, key: str, user: WebUser = requires("viewer")) -> Response:
    sv = user.sv
    d = sv.modules.details(key, history=True, runs=30)
    return page(
        request,
        "module.html",
        title=d.module.name,
        d=d,
        m=d.module,
        cmap=sv.modules.column_map(d.module.id),
        runs_oldest_first=list(reversed(d.runs)),
        may_unlock=allows(user.role, "admin"),
    )


@router.get("/modules/{key}/preview")
def module_preview(request: Request, key: str, user: WebUser = requires("viewer")) -> Response:
    """The SQL the next run would execute (a fragment, loaded after the page)."""
    return page(request, "_preview.html", p=user.sv.modules.preview(key))


def _edit_page(
    request: Request,
    user: WebUser,
    m: Any,
    values: dict[str, Any],
    marks: list[Any],
    errors: list[tuple[str, str]],
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "module_edit.html",
        status_code=status_code,
        title=f"Edit {m.name}",
        m=m,
        v=values,
        marks=marks,
        errors=errors,
        connections=[c.name for c in user.sv.connections.list()],
        strategies=STRATEGIES,
    )


@router.get("/modules/{key}/edit")
def edit_form(request: Request, key: str, user: WebUser = requires("editor")) -> Response:
    m = user.sv.modules.show(key)
    marks = [
        {
            "name": w.name,
            "connection": w.connection,
            "resolver_sql": w.resolver_sql,
            "default_value": w.default_value,
        }
        for w in user.sv.watermarks.list(m.id)
    ]
    return _edit_page(request, user, m, vars(m), marks, [])


@router.post("/modules/{key}/edit")
async def edit(request: Request, key: str, user: WebUser = requires("editor")) -> Response:
    form = await form_data(request)
    m = user.sv.modules.show(key)
    changes = module_changes(form)
    marks = watermark_rows(form)
    try:
        saved = await _call(user.sv.modules.update_with_watermarks, m.id, marks, **changes)
    except PipekitError as exc:
        values = {**vars(m), **changes}
        return _edit_page(request, user, m, values, marks, problems(exc), status_code=422)
    return redirect(f"/modules/{saved.id}" + ("?saved=warn" if saved.warnings else "?saved=1"))


async def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args, **kwargs)


@router.post("/modules/{key}/enable")
def enable(key: str, user: WebUser = requires("editor")) -> Response:
    return redirect(f"/modules/{user.sv.modules.enable(key).id}")


@router.post("/modules/{key}/disable")
def disable(key: str, user: WebUser = requires("editor")) -> Response:
    return redirect(f"/modules/{user.sv.modules.disable(key).id}")


@router.post("/modules/{key}/run")
def run(key: str, user: WebUser = requires("operator")) -> Response:
    return redirect(f"/runs/{user.sv.runs.start(key).run_id}")


@router.post("/modules/{key}/dry-run")
def dry_run(key: str, user: WebUser = requires("operator")) -> Response:
    return redirect(f"/runs/{user.sv.runs.start(key, dry_run=True).run_id}")


@router.post("/modules/{key}/full-refresh")
def full_refresh(key: str, user: WebUser = requires("operator")) -> Response:
    return redirect(f"/runs/{user.sv.runs.start(key, full_refresh=True).run_id}")


@router.post("/modules/{key}/unlock")
def unlock(key: str, user: WebUser = requires("admin")) -> Response:
    done = user.sv.modules.unlock(key)
    held = f"run {done.run_id}" if done.run_id is not None else "no run"
    return redirect(f"/modules/{quote(done.module)}?unlocked={quote(held)}")


@router.post("/modules/{key}/delete")
def delete(key: str, user: WebUser = requires("editor")) -> Response:
    user.sv.modules.remove(key)
    return redirect("/modules?deleted=1")
