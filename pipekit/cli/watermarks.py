"""`pipekit watermarks add|edit|list|show|rm`: a module's named watermarks.

A named watermark is a ``{name}`` placeholder in the module's source query:
before each run its resolver SQL runs on its connection, and the first cell of
the first row replaces the placeholder as a typed literal (never pasted text).
Adding one that the query does not use yet is allowed, with a warning (the next
step is usually `pipekit modules edit NAME --query ...`); removing or renaming
one the query still uses is refused.
"""

from pathlib import Path
from typing import Any

import typer

from pipekit.cli._context import OK, check_line, open_store, out, say
from pipekit.cli._parts import (
    check_change,
    check_connection,
    get_module,
    get_part,
    one_line,
    print_fields,
    print_sql,
    read_sql,
    show_value,
    warn_all,
)

app = typer.Typer(help="Named watermarks: {name} placeholders in a module's source query.")


def _resolver(sql: str | None, path: Path | None, required: bool) -> str | None:
    return read_sql(
        sql,
        path,
        what="resolver SQL",
        text_opt="--resolver-sql",
        file_opt="--resolver-sql-file",
        required=required,
    )


def _query_first(module: str, name: str) -> str:
    return (
        f"take {{{name}}} out of the query first with `pipekit modules edit {module} --query ...` "
        "(a watermark the query does not use is only a warning)"
    )


def _settings(connection: str | None, resolver_sql: str | None, default: str | None) -> dict:
    return {"connection": connection, "resolver_sql": resolver_sql, "default": default}


@app.command("add")
def add(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name."),
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
) -> None:
    """Add a named watermark to a module."""
    from pipekit.errors import AlreadyExistsError, PipekitError

    sql = _resolver(resolver_sql, resolver_sql_file, required=True)
    if not connection:
        raise PipekitError("--connection needs the name of the connection the resolver runs on")
    with open_store(ctx) as store:
        m = get_module(store, module)
        check_connection(store, connection, "watermark")
        if any(w.name == name for w in store.watermarks.list(module)):
            raise AlreadyExistsError(
                f"module '{module}' already has a watermark '{name}'; change it with "
                f"`pipekit watermarks edit {module} {name}`"
            )

        def change(spec: dict[str, Any]) -> dict[str, Any]:
            spec["watermarks"][name] = _settings(connection, sql, default or None)
            return spec

        warnings = check_change(store, m, change, f"watermark '{name}' of module '{module}'")
        w = store.watermarks.add(
            module, name, connection=connection, resolver_sql=sql, default_value=default or None
        )
    check_line(OK, f"added watermark {{{w.name}}} to module '{module}' (resolved on {connection})")
    warn_all(warnings)


@app.command("edit")
def edit(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name."),
    name: str = typer.Argument(..., help="Watermark name."),
    rename: str | None = typer.Option(None, "--rename", help="New placeholder name."),
    connection: str | None = typer.Option(None, "--connection", "-c", help="New connection."),
    resolver_sql: str | None = typer.Option(None, "--resolver-sql", help="New resolver SQL."),
    resolver_sql_file: Path | None = typer.Option(
        None, "--resolver-sql-file", help="Read the resolver SQL from a file ('-': stdin)."
    ),
    default: str | None = typer.Option(None, "--default", help='New default ("" clears it).'),
) -> None:
    """Change a watermark (only the options given change)."""
    from pipekit.errors import AlreadyExistsError, PipekitError
    from pipekit.store import UNSET

    sql = _resolver(resolver_sql, resolver_sql_file, required=False)
    if rename is None and connection is None and sql is None and default is None:
        raise PipekitError(
            "nothing to change; give --rename, --connection, --resolver-sql, "
            "--resolver-sql-file or --default"
        )
    if connection == "":
        raise PipekitError("--connection needs the name of the connection the resolver runs on")
    with open_store(ctx) as store:
        m = get_module(store, module)
        old = get_part(store.watermarks, module, name, "watermark")
        if connection is not None:
            check_connection(store, connection, "watermark")
        target = rename if rename is not None else name
        if target != name and any(w.name == target for w in store.watermarks.list(module)):
            raise AlreadyExistsError(f"module '{module}' already has a watermark '{target}'")

        def change(spec: dict[str, Any]) -> dict[str, Any]:
            item = spec["watermarks"].pop(name)
            if connection is not None:
                item["connection"] = connection
            if sql is not None:
                item["resolver_sql"] = sql
            if default is not None:
                item["default"] = default or None
            spec["watermarks"][target] = item
            return spec

        warnings = check_change(
            store,
            m,
            change,
            f"watermark '{name}' of module '{module}'",
            hint=None if rename is None else _query_first(module, name),
        )
        w = store.watermarks.update(
            module,
            name,
            new_name=UNSET if rename is None else rename,
            connection=UNSET if connection is None else connection,
            resolver_sql=UNSET if sql is None else sql,
            default_value=UNSET if default is None else (default or None),
        )
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
        f"updated watermark {{{w.name}}} of module '{module}'"
        + (f": {'; '.join(changed)}" if changed else " (nothing changed)"),
    )
    warn_all(warnings)


@app.command("list")
def list_(ctx: typer.Context, module: str = typer.Argument(..., help="Module name.")) -> None:
    """List a module's watermarks with the value the last run resolved."""
    from rich.table import Table

    with open_store(ctx) as store:
        get_module(store, module)
        items = store.watermarks.list(module)
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
    out().print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name."),
    name: str = typer.Argument(..., help="Watermark name."),
) -> None:
    """Show one watermark, with its full resolver SQL."""
    with open_store(ctx) as store:
        get_module(store, module)
        w = get_part(store.watermarks, module, name, "watermark")
    print_fields(
        [
            ("module", module),
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
    module: str = typer.Argument(..., help="Module name."),
    name: str = typer.Argument(..., help="Watermark name."),
) -> None:
    """Remove a watermark (refused while the module's query still uses it)."""
    with open_store(ctx) as store:
        m = get_module(store, module)
        get_part(store.watermarks, module, name, "watermark")

        def change(spec: dict[str, Any]) -> dict[str, Any]:
            del spec["watermarks"][name]
            return spec

        check_change(
            store,
            m,
            change,
            f"removing watermark '{name}' from module '{module}'",
            hint=_query_first(module, name),
        )
        store.watermarks.remove(module, name)
    check_line(OK, f"removed watermark {{{name}}} from module '{module}'")
