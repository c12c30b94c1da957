"""`pipekit checks add|edit|list|show|rm`: a module's data checks.

A check is SQL run on the destination inside the merge transaction, before it
commits: it must return no rows. A check that returns rows rolls the merge back
and fails the run, so bad data is never published. Checks run in the order
they were added. Every command calls ``sv.checks``.
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

app = typer.Typer(help="Checks: SQL that must return no rows before a merge commits.")

JSON = typer.Option(False, "--json", help=JSON_HELP)


@app.command("add")
def add(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name or id."),
    name: str = typer.Argument(..., help="Check name (letters, digits, '_')."),
    sql: str | None = typer.Option(None, "--sql", help="SQL that returns the bad rows."),
    sql_file: Path | None = typer.Option(
        None, "--sql-file", help="Read the SQL from a file ('-': stdin)."
    ),
    as_json: bool = JSON,
) -> None:
    """Add a check: SQL on the destination that must return no rows."""
    json_mode(ctx, as_json)
    text = read_sql(sql, sql_file, what="check SQL")
    assert text is not None
    with open_services(ctx) as sv, labelled(as_json, {}):
        check = sv.checks.add(module, name, text)
    if as_json:
        emit_json(ctx, check)
        return
    check_line(OK, f"added check '{check.name}' to module '{check.module}'")
    warn_all(check.warnings)


@app.command("edit")
def edit(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name or id."),
    name: str = typer.Argument(..., help="Check name."),
    rename: str | None = typer.Option(None, "--rename", help="New name."),
    sql: str | None = typer.Option(None, "--sql", help="New SQL."),
    sql_file: Path | None = typer.Option(
        None, "--sql-file", help="Read the new SQL from a file ('-': stdin)."
    ),
    as_json: bool = JSON,
) -> None:
    """Rename a check or change its SQL."""
    from pipekit.errors import InvalidError

    json_mode(ctx, as_json)
    text = read_sql(sql, sql_file, what="check SQL", required=False)
    if rename is None and text is None:
        raise InvalidError("nothing to change; give --rename, --sql or --sql-file")
    changes = {k: v for k, v in (("name", rename), ("sql", text)) if v is not None}
    with open_services(ctx) as sv, labelled(as_json, {}):
        old = sv.checks.show(module, name)
        check = sv.checks.update(module, name, **changes)
    if as_json:
        emit_json(ctx, check)
        return
    changed = []
    if check.name != old.name:
        changed.append(f"renamed from '{old.name}'")
    if check.sql != old.sql:
        changed.append("SQL changed")
    check_line(
        OK,
        f"updated check '{check.name}' of module '{check.module}'"
        + (f" ({'; '.join(changed)})" if changed else " (nothing changed)"),
    )
    warn_all(check.warnings)


@app.command("list")
def list_(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name or id."),
    as_json: bool = JSON,
) -> None:
    """List a module's checks in the order they run."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        checks = sv.checks.list(module)
    if as_json:
        emit_json(ctx, checks)
        return
    from rich.table import Table

    if not checks:
        say(f"module '{module}' has no checks; add one with `pipekit checks add {module} NAME`")
        return
    table = Table("#", "name", "sql")
    table.columns[2].overflow = "fold"
    for i, c in enumerate(checks, 1):
        table.add_row(str(i), c.name, one_line(c.sql, 100))
    print_table(table)


@app.command("show")
def show(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name or id."),
    name: str = typer.Argument(..., help="Check name."),
    as_json: bool = JSON,
) -> None:
    """Show one check with its full SQL."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        check = sv.checks.show(module, name)
        names = [] if as_json else [c.name for c in sv.checks.list(module)]
    if as_json:
        emit_json(ctx, check)
        return
    print_fields(
        [
            ("module", check.module),
            ("name", check.name),
            ("position", f"{names.index(check.name) + 1} of {len(names)}"),
        ]
    )
    print_sql("sql", check.sql)


@app.command("rm")
def rm(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name or id."),
    name: str = typer.Argument(..., help="Check name."),
    as_json: bool = JSON,
) -> None:
    """Remove a check."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        m = sv.modules.show(module)
        sv.checks.remove(m.id, name)
    if as_json:
        emit_json(ctx, {"deleted": True})
        return
    check_line(OK, f"removed check '{name}' from module '{m.name}'")
