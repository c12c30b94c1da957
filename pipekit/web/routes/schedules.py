"""Schedules: cron expressions in plain words with their next five fires; add one,
enable, disable, delete. Same service calls as ``/api/schedules``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import Form, Request, Response

from pipekit.errors import PipekitError
from pipekit.web.render import page
from pipekit.web.routing import problems, redirect, web_router
from pipekit.web.security import WebUser, requires

router = web_router()
NEXT_FIRES = 5


def _page(
    request: Request,
    user: WebUser,
    group: str = "",
    errors: Sequence[tuple[str, str]] = (),
    code: int = 200,
    cron_expr: str = "",
) -> Response:
    sv = user.sv
    schedules = sv.schedules.list(group or None)
    fires = {s.id: sv.schedules.next_fires(s.id, NEXT_FIRES) for s in schedules}
    return page(
        request,
        "schedules.html",
        status_code=code,
        title="Schedules",
        schedules=schedules,
        fires=fires,
        group=group,
        groups=[g.name for g in sv.groups.list()],
        errors=list(errors),
        cron_expr=cron_expr,
    )


@router.get("/schedules")
def schedule_list(
    request: Request, group: str = "", user: WebUser = requires("viewer")
) -> Response:
    return _page(request, user, group)


@router.post("/schedules")
def add_schedule(
    request: Request,
    group: Annotated[str, Form()] = "",
    cron_expr: Annotated[str, Form()] = "",
    user: WebUser = requires("editor"),
) -> Response:
    try:
        user.sv.schedules.add(group, cron_expr.strip())
    except PipekitError as exc:
        return _page(request, user, "", problems(exc), 422, cron_expr)
    return redirect("/schedules")


@router.post("/schedules/{schedule_id}/enable")
def enable(schedule_id: int, user: WebUser = requires("editor")) -> Response:
    user.sv.schedules.enable(schedule_id)
    return redirect("/schedules")


@router.post("/schedules/{schedule_id}/disable")
def disable(schedule_id: int, user: WebUser = requires("editor")) -> Response:
    user.sv.schedules.disable(schedule_id)
    return redirect("/schedules")


@router.post("/schedules/{schedule_id}/delete")
def delete(schedule_id: int, user: WebUser = requires("editor")) -> Response:
    user.sv.schedules.remove(schedule_id)
    return redirect("/schedules")
