"""`pipekit groups add|edit|members|add-member|remove-member|list|show|rm`.

A group is an ordered list of modules that run together; schedules fire
groups. Groups have no enabled flag of their own: disable their schedules
(`pipekit schedules disable ID`) or their modules (`pipekit modules disable`).
Positions on the command line count from 1. Every command calls the groups
service (``pipekit.services.groups``); with --json it prints the API's JSON.
"""

import typer

from pipekit.cli._context import (
    JSON_HELP,
    OK,
    check_line,
    emit_json,
    json_mode,
    open_services,
    print_table,
    say,
)
from pipekit.cli._parts import labelled, print_fields, when, yes_no

app = typer.Typer(help="Groups: ordered lists of modules that run together.")

JSON = typer.Option(False, "--json", help=JSON_HELP)


def _members_line(members: list[str]) -> str:
    return " → ".join(members) if members else "(no modules)"


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Group name, e.g. nightly."),
    modules: list[str] | None = typer.Argument(None, help="Member modules, in run order."),
    description: str | None = typer.Option(None, "--description", "-d", help="What it is for."),
    as_json: bool = JSON,
) -> None:
    """Add a group, optionally with its modules in run order."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        group = sv.groups.add(name, description, list(modules or []))
    if as_json:
        emit_json(ctx, group)
        return
    check_line(OK, f"added group '{group.name}': {_members_line(group.modules)}")
    say(f"Schedule it with `pipekit schedules add {group.name} '0 2 * * *'`.")


@app.command("edit")
def edit(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Group name."),
    rename: str | None = typer.Option(None, "--rename", help="New name."),
    description: str | None = typer.Option(
        None, "--description", "-d", help='New description ("" clears it).'
    ),
    as_json: bool = JSON,
) -> None:
    """Rename a group or change its description (members: `groups members`)."""
    from pipekit.errors import PipekitError
    from pipekit.services.groups import UNSET

    json_mode(ctx, as_json)
    if rename is None and description is None:
        raise PipekitError(
            "nothing to change; give --rename NEW or --description TEXT "
            "(members change with `pipekit groups members`)"
        )
    with open_services(ctx) as sv:
        before = sv.groups.show(name)
        group = sv.groups.update(
            name,
            name=UNSET if rename is None else rename,
            description=UNSET if description is None else description,
        )
    if as_json:
        emit_json(ctx, group)
        return
    changes = []
    if group.name != before.name:
        changes.append(f"renamed from '{before.name}'")
    if description is not None:
        changes.append(f"description: {group.description or '(none)'}")
    check_line(
        OK, f"updated group '{group.name}'" + (f" ({'; '.join(changes)})" if changes else "")
    )


@app.command("members")
def members(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Group name."),
    modules: list[str] | None = typer.Argument(
        None, help="The modules, in run order (replaces the list). None: print the members."
    ),
    as_json: bool = JSON,
) -> None:
    """Set the group's modules to exactly these, in this order (no modules: show them)."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        before = sv.groups.show(name)
        group = sv.groups.set_members(name, modules) if modules else before
    if as_json:
        emit_json(ctx, group)
        return
    if not modules:
        for i, member in enumerate(before.modules, 1):
            say(f"{i}. {member}")
        if not before.members:
            say(f"group '{before.name}' has no modules; set them with `pipekit groups members`")
    elif group.modules == before.modules:
        line = _members_line(group.modules)
        check_line(OK, f"group '{group.name}' already has these modules: {line}")
    else:
        check_line(OK, f"group '{group.name}': {_members_line(group.modules)}")


@app.command("add-member")
def add_member(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Group name."),
    module: str = typer.Argument(..., help="Module to add (moved if already a member)."),
    position: int | None = typer.Option(
        None, "--position", "-p", help="1 = runs first (default: last)."
    ),
    as_json: bool = JSON,
) -> None:
    """Add a module to a group, last or at --position (a member already there is moved)."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        before = sv.groups.show(name)
        with labelled(as_json, {"position": "--position"}):
            group = sv.groups.add_member(name, module, position, first=1)
        module = sv.groups.module_name(module)  # it may have been given by id
    if as_json:
        emit_json(ctx, group)
        return
    verb = "moved" if module in before.modules else "added"
    where = group.modules.index(module) + 1
    check_line(
        OK,
        f"{verb} '{module}' in group '{group.name}' at position {where}: "
        f"{_members_line(group.modules)}",
    )


@app.command("remove-member")
def remove_member(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Group name."),
    module: str = typer.Argument(..., help="Module to take out (the module itself is kept)."),
    as_json: bool = JSON,
) -> None:
    """Take a module out of a group (the module itself is kept)."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        before = sv.groups.show(name)
        group = sv.groups.remove_member(name, module)
    if as_json:
        emit_json(ctx, group)
        return
    (gone,) = [m for m in before.modules if m not in group.modules] or [module]
    check_line(OK, f"removed '{gone}' from group '{group.name}': {_members_line(group.modules)}")


@app.command("list")
def list_(ctx: typer.Context, as_json: bool = JSON) -> None:
    """List groups: members in order, schedules, last group run."""
    from rich.table import Table

    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        if as_json:
            emit_json(ctx, sv.groups.list())
            return
        groups = sv.groups.overview()
    if not groups:
        say("no groups yet; add one with `pipekit groups add NAME MODULE ...`")
        return
    table = Table("name", "modules", "schedules", "last run", "description")
    table.columns[1].overflow = "fold"
    for g in groups:
        crons = [s.cron_expr + ("" if s.enabled else " (off)") for s in g.schedules]
        last = g.runs[0] if g.runs else None
        table.add_row(
            g.group.name,
            _members_line(g.group.modules),
            ", ".join(crons) or "-",
            f"{last.status} {when(last.started_at)}" if last else "never",
            g.group.description or "",
        )
    print_table(table)


@app.command("show")
def show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Group name or id."),
    as_json: bool = JSON,
) -> None:
    """Show a group: members in order (enabled?), schedules, recent group runs."""
    from rich.table import Table

    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        if as_json:
            emit_json(ctx, sv.groups.show(name))
            return
        detail = sv.groups.detail(name, runs=5)
    group = detail.group
    print_fields([("name", group.name), ("description", group.description or "-")])
    say("")
    if detail.members:
        table = Table("#", "module", "enabled", "strategy", "source → dest", title="members")
        for m in detail.members:
            table.add_row(
                str(m.position),
                m.module,
                yes_no(m.enabled),
                m.merge_strategy,
                f"{m.source or '-'} → {m.dest or '-'}:{m.dest_table or '-'}",
            )
        print_table(table)
    else:
        say("members: none; add them with `pipekit groups add-member`")
    if detail.schedules:
        table = Table("id", "cron", "enabled", "next (local)", "last fired", title="schedules")
        for s in detail.schedules:
            table.add_row(
                str(s.id),
                s.cron_expr,
                yes_no(s.enabled),
                when(s.next_fire_at, seconds=False) if s.next_fire_at else "- (disabled)",
                when(s.last_fired_at),
            )
        print_table(table)
    else:
        say(f"schedules: none; add one with `pipekit schedules add {group.name} CRON`")
    if detail.runs:
        table = Table("run", "started", "finished", "status", "by", "error", title="recent runs")
        table.columns[5].overflow = "fold"
        for r in detail.runs:
            table.add_row(
                str(r.id),
                when(r.started_at),
                when(r.finished_at),
                r.status,
                r.triggered_by or "",
                r.error or "",
            )
        print_table(table)
    else:
        say("recent runs: none")


@app.command("rm")
def rm(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Group name or id."),
    as_json: bool = JSON,
) -> None:
    """Remove a group and its schedules (its modules and run history are kept)."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        removed = sv.groups.remove(name)
    if as_json:
        emit_json(ctx, {"deleted": True})
        return
    extra = f" and its {removed.schedules} schedule(s)" if removed.schedules else ""
    check_line(OK, f"removed group '{removed.name}'{extra}; its modules and run history were kept")
