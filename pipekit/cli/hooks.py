"""`pipekit hooks add|edit|list|show|rm`: SQL run on the destination after a module's merge.

Hooks have no names: they are addressed by the id that `add` prints and `list`
shows. They run in order (position 1 first) by outcome: ``success`` (after the
merge committed), ``failure`` (after a failed run) or ``always``. A failed hook
fails the run but cannot undo committed data. Every command calls ``sv.hooks``.
"""

from pathlib import Path

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
from pipekit.cli._parts import labelled, one_line, print_fields, print_sql, read_sql, warn_all

app = typer.Typer(help="Hooks: SQL run on the destination after a module's merge.")

JSON = typer.Option(False, "--json", help=JSON_HELP)
OPTIONS = {"run_on": "--run-on", "position": "--position", "sql": "--sql"}
HOOK_ID = typer.Argument(..., metavar="HOOK_ID", help="Hook id (see `hooks list`).")


@app.command("add")
def add(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name or id."),
    sql: str | None = typer.Option(None, "--sql", help="The SQL, run on the destination."),
    sql_file: Path | None = typer.Option(
        None, "--sql-file", help="Read the SQL from a file ('-': stdin)."
    ),
    run_on: str = typer.Option("success", "--run-on", help="success, failure or always."),
    position: int | None = typer.Option(
        None, "--position", "-p", help="1 = runs first (default: last)."
    ),
    as_json: bool = JSON,
) -> None:
    """Add a hook to a module (it runs last unless --position says otherwise)."""
    json_mode(ctx, as_json)
    text = read_sql(sql, sql_file, what="hook SQL")
    assert text is not None
    with open_services(ctx) as sv, labelled(as_json, OPTIONS):
        hook = sv.hooks.add(module, text, run_on=run_on, position=position)
        where = [h.id for h in sv.hooks.list(hook.module)].index(hook.id) + 1
    if as_json:
        emit_json(ctx, hook)
        return
    check_line(
        OK,
        f"added hook {hook.id} to module '{hook.module}' (position {where}, runs on {hook.run_on})",
    )
    warn_all(hook.warnings)


@app.command("edit")
def edit(
    ctx: typer.Context,
    hook_id: int = HOOK_ID,
    sql: str | None = typer.Option(None, "--sql", help="New SQL."),
    sql_file: Path | None = typer.Option(
        None, "--sql-file", help="Read the new SQL from a file ('-': stdin)."
    ),
    run_on: str | None = typer.Option(None, "--run-on", help="success, failure or always."),
    position: int | None = typer.Option(None, "--position", "-p", help="Move it: 1 = first."),
    as_json: bool = JSON,
) -> None:
    """Change a hook's SQL, outcome or position (only the options given change)."""
    from pipekit.errors import InvalidError

    json_mode(ctx, as_json)
    text = read_sql(sql, sql_file, what="hook SQL", required=False)
    if text is None and run_on is None and position is None:
        raise InvalidError("nothing to change; give --sql, --sql-file, --run-on or --position")
    with open_services(ctx) as sv, labelled(as_json, OPTIONS):
        old = sv.hooks.show(hook_id)
        before = [h.id for h in sv.hooks.list(old.module)].index(hook_id)
        hook = sv.hooks.update(hook_id, sql=text, run_on=run_on, position=position)
        after = [h.id for h in sv.hooks.list(hook.module)].index(hook_id)
    if as_json:
        emit_json(ctx, hook)
        return
    changed = []
    if after != before:
        changed.append(f"position {before + 1} → {after + 1}")
    if hook.run_on != old.run_on:
        changed.append(f"runs on {old.run_on} → {hook.run_on}")
    if hook.sql != old.sql:
        changed.append("SQL changed")
    check_line(
        OK,
        f"updated hook {hook_id} of module '{hook.module}'"
        + (f": {'; '.join(changed)}" if changed else " (nothing changed)"),
    )
    warn_all(hook.warnings)


@app.command("list")
def list_(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name or id."),
    as_json: bool = JSON,
) -> None:
    """List a module's hooks in the order they run."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        hooks = sv.hooks.list(module)
    if as_json:
        emit_json(ctx, hooks)
        return
    from rich.table import Table

    if not hooks:
        say(f"module '{module}' has no hooks; add one with `pipekit hooks add {module} --sql ...`")
        return
    table = Table("#", "id", "runs on", "sql")
    table.columns[3].overflow = "fold"
    for i, h in enumerate(hooks, 1):
        table.add_row(str(i), str(h.id), h.run_on, one_line(h.sql, 100))
    print_table(table)


@app.command("show")
def show(ctx: typer.Context, hook_id: int = HOOK_ID, as_json: bool = JSON) -> None:
    """Show one hook with its full SQL."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        hook = sv.hooks.show(hook_id)
        ids = [h.id for h in sv.hooks.list(hook.module)]
    if as_json:
        emit_json(ctx, hook)
        return
    print_fields(
        [
            ("id", hook.id),
            ("module", hook.module),
            ("position", f"{ids.index(hook.id) + 1} of {len(ids)}"),
            ("runs on", hook.run_on),
        ]
    )
    print_sql("sql", hook.sql)


@app.command("rm")
def rm(ctx: typer.Context, hook_id: int = HOOK_ID, as_json: bool = JSON) -> None:
    """Remove a hook."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        hook = sv.hooks.remove(hook_id)
    if as_json:
        emit_json(ctx, {"deleted": True})
        return
    check_line(OK, f"removed hook {hook_id} from module '{hook.module}' ({one_line(hook.sql, 50)})")
