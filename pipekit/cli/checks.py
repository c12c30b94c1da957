"""`pipekit checks add|edit|list|show|rm`: a module's data checks.

A check is SQL run on the destination inside the merge transaction, before it
commits: it must return no rows. A check that returns rows rolls the merge back
and fails the run, so bad data is never published. Checks run in the order
they were added.
"""

from pathlib import Path
from typing import Any

import typer

from pipekit.cli._context import OK, check_line, open_store, out, say
from pipekit.cli._parts import (
    check_change,
    get_module,
    get_part,
    one_line,
    print_fields,
    print_sql,
    read_sql,
    warn_all,
)

app = typer.Typer(help="Checks: SQL that must return no rows before a merge commits.")


@app.command("add")
def add(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name."),
    name: str = typer.Argument(..., help="Check name (letters, digits, '_')."),
    sql: str | None = typer.Option(None, "--sql", help="SQL that returns the bad rows."),
    sql_file: Path | None = typer.Option(
        None, "--sql-file", help="Read the SQL from a file ('-': stdin)."
    ),
) -> None:
    """Add a check: SQL on the destination that must return no rows."""
    from pipekit.errors import AlreadyExistsError

    text = read_sql(sql, sql_file, what="check SQL")
    with open_store(ctx) as store:
        m = get_module(store, module)
        if any(c.name == name for c in store.checks.list(module)):
            raise AlreadyExistsError(
                f"module '{module}' already has a check '{name}'; change it with "
                f"`pipekit checks edit {module} {name}`"
            )

        def change(spec: dict[str, Any]) -> dict[str, Any]:
            spec["checks"].append({"name": name, "sql": text})
            return spec

        warnings = check_change(store, m, change, f"check '{name}' of module '{module}'")
        check = store.checks.add(module, name, sql=text)
    check_line(OK, f"added check '{check.name}' to module '{module}'")
    warn_all(warnings)


@app.command("edit")
def edit(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name."),
    name: str = typer.Argument(..., help="Check name."),
    rename: str | None = typer.Option(None, "--rename", help="New name."),
    sql: str | None = typer.Option(None, "--sql", help="New SQL."),
    sql_file: Path | None = typer.Option(
        None, "--sql-file", help="Read the new SQL from a file ('-': stdin)."
    ),
) -> None:
    """Rename a check or change its SQL."""
    from pipekit.errors import AlreadyExistsError, PipekitError
    from pipekit.store import UNSET

    text = read_sql(sql, sql_file, what="check SQL", required=False)
    if rename is None and text is None:
        raise PipekitError("nothing to change; give --rename, --sql or --sql-file")
    with open_store(ctx) as store:
        m = get_module(store, module)
        old = get_part(store.checks, module, name, "check")
        if rename not in (None, name) and any(c.name == rename for c in store.checks.list(module)):
            raise AlreadyExistsError(f"module '{module}' already has a check '{rename}'")

        def change(spec: dict[str, Any]) -> dict[str, Any]:
            for item in spec["checks"]:
                if item["name"] == name:
                    item["name"] = rename if rename is not None else name
                    item["sql"] = text if text is not None else item["sql"]
            return spec

        warnings = check_change(store, m, change, f"check '{name}' of module '{module}'")
        check = store.checks.update(
            module,
            name,
            new_name=UNSET if rename is None else rename,
            sql=UNSET if text is None else text,
        )
    changed = []
    if check.name != old.name:
        changed.append(f"renamed from '{old.name}'")
    if check.sql != old.sql:
        changed.append("SQL changed")
    check_line(
        OK,
        f"updated check '{check.name}' of module '{module}'"
        + (f" ({'; '.join(changed)})" if changed else " (nothing changed)"),
    )
    warn_all(warnings)


@app.command("list")
def list_(ctx: typer.Context, module: str = typer.Argument(..., help="Module name.")) -> None:
    """List a module's checks in the order they run."""
    from rich.table import Table

    with open_store(ctx) as store:
        get_module(store, module)
        checks = store.checks.list(module)
    if not checks:
        say(f"module '{module}' has no checks; add one with `pipekit checks add {module} NAME`")
        return
    table = Table("#", "name", "sql")
    table.columns[2].overflow = "fold"
    for i, c in enumerate(checks, 1):
        table.add_row(str(i), c.name, one_line(c.sql, 100))
    out().print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name."),
    name: str = typer.Argument(..., help="Check name."),
) -> None:
    """Show one check with its full SQL."""
    with open_store(ctx) as store:
        get_module(store, module)
        check = get_part(store.checks, module, name, "check")
        names = [c.name for c in store.checks.list(module)]
    print_fields(
        [
            ("module", module),
            ("name", check.name),
            ("position", f"{names.index(check.name) + 1} of {len(names)}"),
        ]
    )
    print_sql("sql", check.sql)


@app.command("rm")
def rm(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name."),
    name: str = typer.Argument(..., help="Check name."),
) -> None:
    """Remove a check."""
    with open_store(ctx) as store:
        get_module(store, module)
        get_part(store.checks, module, name, "check")
        store.checks.remove(module, name)
    check_line(OK, f"removed check '{name}' from module '{module}'")
