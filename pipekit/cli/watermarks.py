"""`pipekit watermarks add|edit|list|show|rm`: a module's named watermarks.

A named watermark is a ``{name}`` placeholder in the module's source query:
before each run its resolver SQL runs on its connection, and the first cell of
the first row replaces the placeholder as a typed literal (never pasted text).
Adding one that the query does not use yet is allowed, with a warning (the next
step is usually `pipekit modules edit NAME --query ...`); removing or renaming
one the query still uses is refused. Every command calls ``sv.watermarks``.
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
from pipekit.cli._parts import (
    labelled,
    one_line,
    print_fields,
    print_sql,
    read_sql,
    show_value,
    warn_all,
)

app = typer.Typer(help="Named watermarks: {name} placeholders in a module's source query.")

JSON = typer.Option(False, "--json", help=JSON_HELP)
OPTIONS = {"name": "--rename", "connection": "--connection", "resolver_sql": "--resolver-sql"}


def _resolver(sql: str | None, path: Path | None, required: bool) -> str | None:
    return read_sql(
        sql,
        path,
        what="resolver SQL",
        text_opt="--resolver-sql",
        file_opt="--resolver-sql-file",
        required=required,
    )


def _no_connection() -> Exception:
    from pipekit.errors import InvalidError

    return InvalidError(
        "--connection needs the name of the connection the resolver runs on", path="connection"
    )


@app.command("add")
def add(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name or id."),
    name: str = typer.Argument(..., help="Placeholder name: {NAME} in the source query."),
    connection: str = typer.Option(..., "--connection", "-c", help="Where the resolver runs."),
    resolver_sql: str | None = typer.Option(
        None, "--resolver-sql", help="SQL whose first cell is the value."
    ),
    resolver_sql_file: Path | None = typer.Option(
        None, "--resolver-sql-file", help="Read the resolver SQL from a file ('-': stdin)."
    ),
    default: str | None = typer.Option(
        None, "--default", help="Value when the resolver returns nothing (first run)."
    ),
    as_json: bool = JSON,
) -> None:
    """Add a named watermark to a module."""
    json_mode(ctx, as_json)
    sql = _resolver(resolver_sql, resolver_sql_file, required=True)
    if not connection:
        raise _no_connection()
    with open_services(ctx) as sv, labelled(as_json, {}):
        w = sv.watermarks.add(
            module, name, connection=connection, resolver_sql=sql, default_value=default or None
        )
    if as_json:
        emit_json(ctx, w)
        return
    check_line(
        OK, f"added watermark {{{w.name}}} to module '{w.module}' (resolved on {w.connection})"
    )
    warn_all(w.warnings)


@app.command("edit")
def edit(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name or id."),
    name: str = typer.Argument(..., help="Watermark name."),
    rename: str | None = typer.Option(None, "--rename", help="New placeholder name."),
    connection: str | None = typer.Option(None, "--connection", "-c", help="New connection."),
    resolver_sql: str | None = typer.Option(None, "--resolver-sql", help="New resolver SQL."),
    resolver_sql_file: Path | None = typer.Option(
        None, "--resolver-sql-file", help="Read the resolver SQL from a file ('-': stdin)."
    ),
    default: str | None = typer.Option(None, "--default", help='New default ("" clears it).'),
    as_json: bool = JSON,
) -> None:
    """Change a watermark (only the options given change)."""
    from pipekit.errors import InvalidError

    json_mode(ctx, as_json)
    sql = _resolver(resolver_sql, resolver_sql_file, required=False)
    if rename is None and connection is None and sql is None and default is None:
        raise InvalidError(
            "nothing to change; give --rename, --connection, --resolver-sql, "
            "--resolver-sql-file or --default"
        )
    if connection == "":
        raise _no_connection()
    changes = {
        "name": rename,
        "connection": connection,
        "resolver_sql": sql,
        "default_value": default,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    if changes.get("default_value") == "":
        changes["default_value"] = None
    with open_services(ctx) as sv, labelled(as_json, {}):
        old = sv.watermarks.show(module, name)
        w = sv.watermarks.update(module, name, **changes)
    if as_json:
        emit_json(ctx, w)
        return
    changed = [
        f"{label} {show_value(before)} → {show_value(after)}"
        for label, before, after in (
            ("name", old.name, w.name),
            ("connection", old.connection, w.connection),
            ("resolver SQL", one_line(old.resolver_sql, 40), one_line(w.resolver_sql, 40)),
            ("default", old.default_value, w.default_value),
        )
        if before != after
    ]
    check_line(
        OK,
        f"updated watermark {{{w.name}}} of module '{w.module}'"
        + (f": {'; '.join(changed)}" if changed else " (nothing changed)"),
    )
    warn_all(w.warnings)


@app.command("list")
def list_(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name or id."),
    as_json: bool = JSON,
) -> None:
    """List a module's watermarks with the value the last run resolved."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        items = sv.watermarks.list(module)
    if as_json:
        emit_json(ctx, items)
        return
    from rich.table import Table

    if not items:
        say(f"module '{module}' has no watermarks; add one with `pipekit watermarks add`")
        return
    table = Table("name", "connection", "resolver SQL", "default", "last value")
    table.columns[2].overflow = "fold"
    for w in items:
        table.add_row(
            "{" + w.name + "}",
            w.connection or "-",
            one_line(w.resolver_sql),
            w.default_value if w.default_value is not None else "-",
            w.last_value if w.last_value is not None else "-",
        )
    print_table(table)


@app.command("show")
def show(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name or id."),
    name: str = typer.Argument(..., help="Watermark name."),
    as_json: bool = JSON,
) -> None:
    """Show one watermark, with its full resolver SQL."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        w = sv.watermarks.show(module, name)
    if as_json:
        emit_json(ctx, w)
        return
    print_fields(
        [
            ("module", w.module),
            ("name", w.name),
            ("placeholder", "{" + w.name + "}"),
            ("connection", w.connection or "-"),
            ("default", w.default_value if w.default_value is not None else "-"),
            ("last value", w.last_value if w.last_value is not None else "- (not resolved yet)"),
        ]
    )
    print_sql("resolver SQL", w.resolver_sql)


@app.command("rm")
def rm(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name or id."),
    name: str = typer.Argument(..., help="Watermark name."),
    as_json: bool = JSON,
) -> None:
    """Remove a watermark (refused while the module's query still uses it)."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv, labelled(as_json, {}):
        m = sv.modules.show(module)
        sv.watermarks.remove(m.id, name)
    if as_json:
        emit_json(ctx, {"deleted": True})
        return
    check_line(OK, f"removed watermark {{{name}}} from module '{m.name}'")
