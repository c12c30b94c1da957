"""The new-module wizard: pick the source and destination connections, browse the
source's schemas and tables (search box, row estimates), pick a table, get the
proposal (SELECT with RTRIM and safe aliases, destination DDL, strategy, merge key,
watermark), edit it, save, and land on the module's page with its "Run now" button.

Same service calls as ``/api/connections/{id}/schemas``, ``.../tables``,
``.../propose`` and ``POST /api/modules``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from pipekit.errors import PipekitError
from pipekit.web.forms import form_data, module_changes, text, watermark_rows
from pipekit.web.render import page
from pipekit.web.routes.modules import STRATEGIES
from pipekit.web.routing import problems, redirect, web_router
from pipekit.web.security import WebUser, requires

router = web_router()


@router.get("/modules/new")
def wizard(
    request: Request,
    source: str = "",
    dest: str = "",
    schema: str = "",
    table: str = "",
    user: WebUser = requires("editor"),
) -> Response:
    sv = user.sv
    connections = [c.name for c in sv.connections.list()]
    ctx: dict[str, Any] = {
        "source": source,
        "dest": dest,
        "schema": schema,
        "table": table,
        "connections": connections,
        "schemas": [],
        "proposal": None,
        "errors": [],
        "strategies": STRATEGIES,
        "marks": [],
    }
    try:
        if source:
            ctx["schemas"] = sv.connections.schemas(source)
        if source and table:
            p = sv.connections.propose(source, table, dest=dest or None)
            ctx["proposal"] = p
            ctx["v"] = {
                "name": p.name,
                "source": p.source,
                "dest": p.dest or dest,
                "dest_table": p.dest_table,
                "source_query": p.source_query,
                "merge_strategy": p.merge_strategy,
                "merge_key": p.merge_key,
                "watermark_column": p.watermark_column,
                "watermark_op": ">",
                "enabled": True,
            }
    except PipekitError as exc:
        ctx["errors"] = problems(exc)
    return page(request, "wizard.html", title="New module", **ctx)


@router.get("/modules/new/tables")
def tables(
    request: Request,
    source: str,
    dest: str = "",
    schema: str = "",
    user: WebUser = requires("editor"),
) -> Response:
    """The table browser (a fragment): the schema's tables with their row estimates."""
    listing = user.sv.connections.tables(source, schema or None)
    return page(request, "_tables.html", listing=listing, source=source, dest=dest, schema=schema)


@router.post("/modules/new")
async def create(request: Request, user: WebUser = requires("editor")) -> Response:
    form = await form_data(request)
    fields = module_changes(form)
    name = fields.pop("name", "")
    marks = watermark_rows(form)
    watermarks = {
        w["name"]: {
            "connection": w["connection"] or None,
            "resolver_sql": w["resolver_sql"] or None,
            "default": w["default_value"] or None,
        }
        for w in marks
    }
    values = {k: (v if v != "" else None) for k, v in fields.items()}
    try:
        saved = await run_in_threadpool(
            lambda: user.sv.modules.add(name, watermarks=watermarks, **values)
        )
    except PipekitError as exc:
        connections = [c.name for c in user.sv.connections.list()]
        return page(
            request,
            "wizard.html",
            status_code=422,
            title="New module",
            source=text(form, "source"),
            dest=text(form, "dest"),
            schema="",
            table="",
            connections=connections,
            schemas=[],
            proposal=None,
            errors=problems(exc),
            strategies=STRATEGIES,
            v={"name": name, **fields},
            marks=marks,
            saving=True,
        )
    return redirect(f"/modules/{saved.id}?created=1")
