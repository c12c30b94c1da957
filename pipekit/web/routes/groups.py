"""Groups: the list (add one), a group's page with its members in run order (move up
and down, add, remove), its schedules and runs; run it; delete it.

Same service calls as ``/api/groups`` and ``POST /api/groups/{id}/run``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request, Response

from pipekit.errors import GroupSpecError, PipekitError
from pipekit.web.render import page
from pipekit.web.routing import problems, redirect, web_router
from pipekit.web.security import WebUser, requires

router = web_router()


def _list_page(
    request: Request,
    user: WebUser,
    errors: list[tuple[str, str]],
    code: int = 200,
    name: str = "",
    description: str = "",
) -> Response:
    return page(
        request,
        "groups.html",
        status_code=code,
        title="Groups",
        groups=user.sv.groups.overview(),
        errors=errors,
        name=name,
        description=description,
    )


@router.get("/groups")
def group_list(request: Request, user: WebUser = requires("viewer")) -> Response:
    return _list_page(request, user, [])


@router.post("/groups")
def add_group(
    request: Request,
    name: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    user: WebUser = requires("editor"),
) -> Response:
    try:
        g = user.sv.groups.add(name.strip(), description.strip() or None)
    except PipekitError as exc:
        return _list_page(request, user, problems(exc), 422, name, description)
    if request.headers.get("HX-Request"):
        return _list_page(request, user, [])
    return page(request, "group_added.html", title="Group added", g=g)


@router.get("/groups/{key}")
def group_page(request: Request, key: str, user: WebUser = requires("viewer")) -> Response:
    sv = user.sv
    d = sv.groups.detail(key, runs=10)
    members = set(d.group.modules)
    candidates = [m.name for m in sv.modules.list() if m.name not in members]
    return page(request, "group.html", title=d.group.name, d=d, candidates=candidates)


@router.post("/groups/{key}/members")
def add_member(
    key: str, module: Annotated[str, Form()] = "", user: WebUser = requires("editor")
) -> Response:
    g = user.sv.groups.add_member(key, module)
    return redirect(f"/groups/{g.name}")


@router.post("/groups/{key}/members/remove")
def remove_member(
    key: str, module: Annotated[str, Form()] = "", user: WebUser = requires("editor")
) -> Response:
    g = user.sv.groups.remove_member(key, module)
    return redirect(f"/groups/{g.name}")


@router.post("/groups/{key}/move")
def move_member(
    request: Request,
    key: str,
    module: Annotated[str, Form()] = "",
    direction: Annotated[str, Form()] = "up",
    user: WebUser = requires("editor"),
) -> Response:
    """Move `module` one place up or down in the run order."""
    g = user.sv.groups.show(key)
    order = g.modules
    if module not in order:
        raise GroupSpecError(f"'{module}' is not a member of group '{g.name}'", path="module")
    i = order.index(module)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(order):
        order[i], order[j] = order[j], order[i]
        g = user.sv.groups.set_members(g.id, order)
    return redirect(f"/groups/{g.name}#member-{module}")


@router.post("/groups/{key}/run")
def run_group(key: str, user: WebUser = requires("operator")) -> Response:
    return redirect(f"/group-runs/{user.sv.runs.start_group(key).group_run_id}")


@router.post("/groups/{key}/delete")
def delete_group(key: str, user: WebUser = requires("editor")) -> Response:
    user.sv.groups.remove(key)
    return redirect("/groups")
