"""`pipekit schedules add|edit|list|show|rm|enable|disable`: cron expressions that run groups.

Schedules are addressed by id (see `pipekit schedules list`). Cron expressions
are read in the server's local time, as the scheduler fires them; the next fire
time shown is computed with croniter from now.
"""

from datetime import datetime
from typing import TYPE_CHECKING

import typer

from pipekit.cli._context import OK, WARN, check_line, open_store, out, say
from pipekit.cli._parts import get_group, print_fields, when, yes_no

if TYPE_CHECKING:
    from pipekit.store import Schedule

app = typer.Typer(help="Schedules: cron expressions (local time) that run a group.")


def next_fires(cron_expr: str, count: int = 1, after: datetime | None = None) -> list[datetime]:
    """The next `count` times `cron_expr` fires after `after` (default now), as aware local times.

    croniter walks naive local wall-clock time, so a daylight-saving change
    moves the offset, not the hour the user wrote.
    """
    from croniter import croniter

    start = (after or datetime.now().astimezone()).astimezone().replace(tzinfo=None)
    it = croniter(cron_expr, start)
    return [it.get_next(datetime).astimezone() for _ in range(count)]


def next_fire(cron_expr: str) -> datetime:
    return next_fires(cron_expr, 1)[0]


def _check_cron(expr: str) -> str:
    from pipekit.store.schedules import check_cron

    return check_cron(expr, "cron expression")


def _describe(s: "Schedule") -> str:
    state = f"next {when(next_fire(s.cron_expr), seconds=False)}" if s.enabled else "disabled"
    return f"schedule {s.id}: group '{s.group}' at '{s.cron_expr}' ({state})"


@app.command("add")
def add(
    ctx: typer.Context,
    group: str = typer.Argument(..., help="The group to run."),
    cron: str = typer.Argument(..., help="Cron expression, local time, e.g. '0 2 * * *'."),
    disabled: bool = typer.Option(False, "--disabled", help="Add it switched off."),
) -> None:
    """Run GROUP on the cron expression CRON (five fields, local time)."""
    expr = _check_cron(cron)
    with open_store(ctx) as store:
        get_group(store, group)
        s = store.schedules.add(group, expr, enabled=not disabled)
    check_line(OK, f"added {_describe(s)}")
    if disabled:
        say(f"Switch it on with `pipekit schedules enable {s.id}`.")


@app.command("edit")
def edit(
    ctx: typer.Context,
    schedule_id: int = typer.Argument(..., metavar="ID", help="Schedule id."),
    cron: str | None = typer.Option(None, "--cron", help="New cron expression."),
    group: str | None = typer.Option(None, "--group", help="Run this group instead."),
) -> None:
    """Change a schedule's cron expression or group."""
    from pipekit.errors import PipekitError
    from pipekit.store import UNSET

    if cron is None and group is None:
        raise PipekitError("nothing to change; give --cron EXPR or --group NAME")
    expr = _check_cron(cron) if cron is not None else None
    with open_store(ctx) as store:
        store.schedules.get(schedule_id)
        if group is not None:
            get_group(store, group)
        s = store.schedules.update(
            schedule_id,
            cron_expr=UNSET if expr is None else expr,
            group=UNSET if group is None else group,
        )
    check_line(OK, f"updated {_describe(s)}")


@app.command("list")
def list_(
    ctx: typer.Context,
    group: str | None = typer.Option(None, "--group", "-g", help="Only this group's schedules."),
) -> None:
    """List schedules with their next fire time (local) and when they last fired."""
    from rich.table import Table

    with open_store(ctx) as store:
        if group is not None:
            get_group(store, group)
        schedules = store.schedules.list(group=group)
    if not schedules:
        where = f" for group '{group}'" if group else ""
        say(f"no schedules{where} yet; add one with `pipekit schedules add GROUP '0 2 * * *'`")
        return
    table = Table("id", "group", "cron", "enabled", "next (local)", "last fired (local)")
    for s in schedules:
        table.add_row(
            str(s.id),
            s.group,
            s.cron_expr,
            yes_no(s.enabled),
            when(next_fire(s.cron_expr), seconds=False) if s.enabled else "- (disabled)",
            when(s.last_fired_at),
        )
    out().print(table)


@app.command("show")
def show(
    ctx: typer.Context, schedule_id: int = typer.Argument(..., metavar="ID", help="Schedule id.")
) -> None:
    """Show a schedule and its next three fire times (local)."""
    with open_store(ctx) as store:
        s = store.schedules.get(schedule_id)
    upcoming = [when(t, seconds=False) for t in next_fires(s.cron_expr, 3)]
    print_fields(
        [
            ("id", s.id),
            ("group", s.group),
            ("cron", s.cron_expr),
            ("enabled", yes_no(s.enabled)),
            ("next (local)", ", ".join(upcoming) + ("" if s.enabled else " (if enabled)")),
            ("last fired", when(s.last_fired_at)),
            ("created", when(s.created_at)),
        ]
    )


@app.command("rm")
def rm(
    ctx: typer.Context, schedule_id: int = typer.Argument(..., metavar="ID", help="Schedule id.")
) -> None:
    """Remove a schedule (the group is kept)."""
    with open_store(ctx) as store:
        s = store.schedules.get(schedule_id)
        store.schedules.remove(schedule_id)
    check_line(OK, f"removed schedule {s.id} (group '{s.group}' at '{s.cron_expr}')")


def _set_enabled(ctx: typer.Context, schedule_id: int, enabled: bool) -> None:
    with open_store(ctx) as store:
        before = store.schedules.get(schedule_id)
        s = store.schedules.set_enabled(schedule_id, enabled)
    if before.enabled == enabled:
        check_line(WARN, f"{_describe(s)} was already {'enabled' if enabled else 'disabled'}")
    else:
        check_line(OK, f"{'enabled' if enabled else 'disabled'} {_describe(s)}")


@app.command("enable")
def enable(
    ctx: typer.Context, schedule_id: int = typer.Argument(..., metavar="ID", help="Schedule id.")
) -> None:
    """Switch a schedule on."""
    _set_enabled(ctx, schedule_id, True)


@app.command("disable")
def disable(
    ctx: typer.Context, schedule_id: int = typer.Argument(..., metavar="ID", help="Schedule id.")
) -> None:
    """Switch a schedule off (the group can still be run by hand)."""
    _set_enabled(ctx, schedule_id, False)
