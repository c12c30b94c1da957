"""`pipekit groups add|edit|members|add-member|remove-member|list|show|rm`.

A group is an ordered list of modules that run together; schedules fire
groups. Groups have no enabled flag of their own: disable their schedules
(`pipekit schedules disable ID`) or their modules (`pipekit modules disable`).
Positions on the command line count from 1.
"""

import typer

from pipekit.cli._context import OK, check_line, open_store, out, say
from pipekit.cli._parts import (
    check_modules_exist,
    get_group,
    print_fields,
    when,
    yes_no,
)

app = typer.Typer(help="Groups: ordered lists of modules that run together.")


def _members_line(members: tuple[str, ...] | list[str]) -> str:
    return " → ".join(members) if members else "(no modules)"


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Group name, e.g. nightly."),
    modules: list[str] | None = typer.Argument(None, help="Member modules, in run order."),
    description: str | None = typer.Option(None, "--description", "-d", help="What it is for."),
) -> None:
    """Add a group, optionally with its modules in run order."""
    from pipekit.store import GroupSpecError
    from pipekit.store.repo import check_name

    members = list(modules or [])
    check_name("group", name, GroupSpecError)
    with open_store(ctx) as store:
        check_modules_exist(store, members)
        group = store.groups.add(name, description=description, members=members)
    check_line(OK, f"added group '{group.name}': {_members_line(group.members)}")
    say(f"Schedule it with `pipekit schedules add {group.name} '0 2 * * *'`.")


@app.command("edit")
def edit(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Group name."),
    rename: str | None = typer.Option(None, "--rename", help="New name."),
    description: str | None = typer.Option(
        None, "--description", "-d", help='New description ("" clears it).'
    ),
) -> None:
    """Rename a group or change its description (members: `groups members`)."""
    from pipekit.errors import PipekitError
    from pipekit.store import UNSET, GroupSpecError
    from pipekit.store.repo import check_name

    if rename is None and description is None:
        raise PipekitError(
            "nothing to change; give --rename NEW or --description TEXT "
            "(members change with `pipekit groups members`)"
        )
    if rename is not None:
        check_name("group", rename, GroupSpecError)
    with open_store(ctx) as store:
        get_group(store, name)
        group = store.groups.update(
            name,
            new_name=UNSET if rename is None else rename,
            description=UNSET if description is None else description,
        )
    changes = []
    if rename is not None and rename != name:
        changes.append(f"renamed from '{name}'")
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
) -> None:
    """Set the group's modules to exactly these, in this order (no modules: show them)."""
    with open_store(ctx) as store:
        before = get_group(store, name)
        if not modules:
            for i, member in enumerate(before.members, 1):
                say(f"{i}. {member}")
            if not before.members:
                say(f"group '{name}' has no modules; set them with `pipekit groups members`")
            return
        check_modules_exist(store, modules)
        group = store.groups.set_members(name, modules)
    if group.members == before.members:
        check_line(OK, f"group '{name}' already has these modules: {_members_line(group.members)}")
    else:
        check_line(OK, f"group '{name}': {_members_line(group.members)}")


@app.command("add-member")
def add_member(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Group name."),
    module: str = typer.Argument(..., help="Module to add (moved if already a member)."),
    position: int | None = typer.Option(
        None, "--position", "-p", help="1 = runs first (default: last)."
    ),
) -> None:
    """Add a module to a group, last or at --position (a member already there is moved)."""
    from pipekit.errors import PipekitError

    with open_store(ctx) as store:
        before = get_group(store, name)
        check_modules_exist(store, [module])
        others = [m for m in before.members if m != module]
        if position is not None and not 1 <= position <= len(others) + 1:
            raise PipekitError(
                f"--position {position} is out of range; group '{name}' would have "
                f"{len(others) + 1} member(s), so use 1 to {len(others) + 1}"
            )
        group = store.groups.add_member(
            name, module, position=None if position is None else position - 1
        )
    verb = "moved" if module in before.members else "added"
    where = group.members.index(module) + 1
    check_line(
        OK,
        f"{verb} '{module}' in group '{name}' at position {where}: {_members_line(group.members)}",
    )


@app.command("remove-member")
def remove_member(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Group name."),
    module: str = typer.Argument(..., help="Module to take out (the module itself is kept)."),
) -> None:
    """Take a module out of a group (the module itself is kept)."""
    from pipekit.errors import NotFoundError

    with open_store(ctx) as store:
        before = get_group(store, name)
        if module not in before.members:
            check_modules_exist(store, [module])
            raise NotFoundError(
                f"module '{module}' is not a member of group '{name}' "
                f"(members: {', '.join(before.members) or 'none'})"
            )
        group = store.groups.remove_member(name, module)
    check_line(OK, f"removed '{module}' from group '{name}': {_members_line(group.members)}")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List groups: members in order, schedules, last group run."""
    from rich.table import Table

    with open_store(ctx) as store:
        groups = store.groups.list()
        schedules = store.schedules.list()
        last = {g.name: store.runs.list_group(g.name, limit=1) for g in groups}
    if not groups:
        say("no groups yet; add one with `pipekit groups add NAME MODULE ...`")
        return
    table = Table("name", "modules", "schedules", "last run", "description")
    table.columns[1].overflow = "fold"
    for g in groups:
        crons = [
            s.cron_expr + ("" if s.enabled else " (off)") for s in schedules if s.group == g.name
        ]
        runs = last[g.name]
        table.add_row(
            g.name,
            _members_line(g.members),
            ", ".join(crons) or "-",
            f"{runs[0].status} {when(runs[0].started_at)}" if runs else "never",
            g.description or "",
        )
    out().print(table)


@app.command("show")
def show(ctx: typer.Context, name: str = typer.Argument(..., help="Group name.")) -> None:
    """Show a group: members in order (enabled?), schedules, recent group runs."""
    from rich.table import Table

    from pipekit.cli.schedules import next_fire

    with open_store(ctx) as store:
        group = get_group(store, name)
        modules = {m.name: m for m in store.modules.list()}
        schedules = store.schedules.list(group=name)
        runs = store.runs.list_group(name, limit=5)
    print_fields([("name", group.name), ("description", group.description or "-")])
    say("")
    if group.members:
        table = Table("#", "module", "enabled", "strategy", "source → dest", title="members")
        for i, member in enumerate(group.members, 1):
            m = modules[member]
            table.add_row(
                str(i),
                m.name,
                yes_no(m.enabled),
                m.merge_strategy,
                f"{m.source or '-'} → {m.dest or '-'}:{m.dest_table or '-'}",
            )
        out().print(table)
    else:
        say("members: none; add them with `pipekit groups add-member`")
    if schedules:
        table = Table("id", "cron", "enabled", "next (local)", "last fired", title="schedules")
        for s in schedules:
            table.add_row(
                str(s.id),
                s.cron_expr,
                yes_no(s.enabled),
                when(next_fire(s.cron_expr), seconds=False) if s.enabled else "- (disabled)",
                when(s.last_fired_at),
            )
        out().print(table)
    else:
        say(f"schedules: none; add one with `pipekit schedules add {name} CRON`")
    if runs:
        table = Table("run", "started", "finished", "status", "by", "error", title="recent runs")
        table.columns[5].overflow = "fold"
        for r in runs:
            table.add_row(
                str(r.id),
                when(r.started_at),
                when(r.finished_at),
                r.status,
                r.triggered_by or "",
                r.error or "",
            )
        out().print(table)
    else:
        say("recent runs: none")


@app.command("rm")
def rm(ctx: typer.Context, name: str = typer.Argument(..., help="Group name.")) -> None:
    """Remove a group and its schedules (its modules and run history are kept)."""
    with open_store(ctx) as store:
        get_group(store, name)
        schedules = store.schedules.list(group=name)
        store.groups.remove(name)
    extra = f" and its {len(schedules)} schedule(s)" if schedules else ""
    check_line(OK, f"removed group '{name}'{extra}; its modules and run history were kept")
