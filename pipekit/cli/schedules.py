"""`pipekit schedules add|edit|list|show|rm|enable|disable`: cron expressions that run groups.

Schedules are addressed by id (see `pipekit schedules list`). Cron expressions
are read in the server's local time, as the scheduler fires them; the next fire
times shown are the scheduler's own (``pipekit.services.schedules``), so they
agree with it, daylight-saving changes included. With --json every command
prints the API's JSON.
"""

from typing import TYPE_CHECKING

import typer

from pipekit.cli._context import (
    JSON_HELP,
    OK,
    WARN,
    check_line,
    emit_json,
    json_mode,
    open_services,
    print_table,
    say,
)
from pipekit.cli._parts import print_fields, when, yes_no

if TYPE_CHECKING:
    from pipekit.services.schedules import ScheduleView

app = typer.Typer(help="Schedules: cron expressions (local time) that run a group.")

JSON = typer.Option(False, "--json", help=JSON_HELP)
ID = typer.Argument(..., metavar="ID", help="Schedule id.")


def _next(s: "ScheduleView") -> str:
    return when(s.next_fire_at, seconds=False) if s.next_fire_at else "- (disabled)"


def _describe(s: "ScheduleView") -> str:
    state = f"next {when(s.next_fire_at, seconds=False)}" if s.next_fire_at else "disabled"
    return f"schedule {s.id}: group '{s.group}' at '{s.cron_expr}' ({state})"


@app.command("add")
def add(
    ctx: typer.Context,
    group: str = typer.Argument(..., help="The group to run (name or id)."),
    cron: str = typer.Argument(..., help="Cron expression, local time, e.g. '0 2 * * *'."),
    disabled: bool = typer.Option(False, "--disabled", help="Add it switched off."),
    as_json: bool = JSON,
) -> None:
    """Run GROUP on the cron expression CRON (five fields, local time)."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        s = sv.schedules.add(group, cron, enabled=not disabled)
    if as_json:
        emit_json(ctx, s)
        return
    check_line(OK, f"added {_describe(s)}")
    if disabled:
        say(f"Switch it on with `pipekit schedules enable {s.id}`.")


@app.command("edit")
def edit(
    ctx: typer.Context,
    schedule_id: int = ID,
    cron: str | None = typer.Option(None, "--cron", help="New cron expression."),
    group: str | None = typer.Option(None, "--group", help="Run this group instead."),
    as_json: bool = JSON,
) -> None:
    """Change a schedule's cron expression or group."""
    from pipekit.errors import PipekitError
    from pipekit.services.schedules import UNSET

    json_mode(ctx, as_json)
    if cron is None and group is None:
        raise PipekitError("nothing to change; give --cron EXPR or --group NAME")
    with open_services(ctx) as sv:
        s = sv.schedules.update(
            schedule_id,
            cron_expr=UNSET if cron is None else cron,
            group=UNSET if group is None else group,
        )
    if as_json:
        emit_json(ctx, s)
        return
    check_line(OK, f"updated {_describe(s)}")


@app.command("list")
def list_(
    ctx: typer.Context,
    group: str | None = typer.Option(None, "--group", "-g", help="Only this group's schedules."),
    as_json: bool = JSON,
) -> None:
    """List schedules with their next fire time (local) and when they last fired."""
    from rich.table import Table

    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        schedules = sv.schedules.list(group=group)
    if as_json:
        emit_json(ctx, schedules)
        return
    if not schedules:
        where = f" for group '{group}'" if group else ""
        say(f"no schedules{where} yet; add one with `pipekit schedules add GROUP '0 2 * * *'`")
        return
    table = Table("id", "group", "cron", "enabled", "next (local)", "last fired (local)")
    for s in schedules:
        table.add_row(
            str(s.id), s.group, s.cron_expr, yes_no(s.enabled), _next(s), when(s.last_fired_at)
        )
    print_table(table)


@app.command("show")
def show(ctx: typer.Context, schedule_id: int = ID, as_json: bool = JSON) -> None:
    """Show a schedule and its next three fire times (local)."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        s = sv.schedules.show(schedule_id)
        upcoming = [when(t, seconds=False) for t in sv.schedules.next_fires(schedule_id, 3)]
    if as_json:
        emit_json(ctx, s)
        return
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
def rm(ctx: typer.Context, schedule_id: int = ID, as_json: bool = JSON) -> None:
    """Remove a schedule (the group is kept)."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        s = sv.schedules.remove(schedule_id)
    if as_json:
        emit_json(ctx, {"deleted": True})
        return
    check_line(OK, f"removed schedule {s.id} (group '{s.group}' at '{s.cron_expr}')")


def _set_enabled(ctx: typer.Context, schedule_id: int, enabled: bool, as_json: bool) -> None:
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        before = sv.schedules.show(schedule_id)
        s = sv.schedules.enable(schedule_id) if enabled else sv.schedules.disable(schedule_id)
    if as_json:
        emit_json(ctx, s)
    elif before.enabled == enabled:
        check_line(WARN, f"{_describe(s)} was already {'enabled' if enabled else 'disabled'}")
    else:
        check_line(OK, f"{'enabled' if enabled else 'disabled'} {_describe(s)}")


@app.command("enable")
def enable(ctx: typer.Context, schedule_id: int = ID, as_json: bool = JSON) -> None:
    """Switch a schedule on."""
    _set_enabled(ctx, schedule_id, True, as_json)


@app.command("disable")
def disable(ctx: typer.Context, schedule_id: int = ID, as_json: bool = JSON) -> None:
    """Switch a schedule off (the group can still be run by hand)."""
    _set_enabled(ctx, schedule_id, False, as_json)
