"""`pipekit browse CONN [SCHEMA[.TABLE]]` and `pipekit propose CONN SCHEMA.TABLE`.

`browse` walks a connection's database: its schemas, a schema's tables with the
rows its catalog estimates, a table's columns. `propose` drafts a module from a
table (the SELECT, merge key, watermark column and strategy) and, with `--yaml`,
writes it as a file `pipekit apply FILE` takes unchanged. Both call
``sv.connections``, as the REST API does; `--json` prints the API's objects.
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


def browse(
    ctx: typer.Context,
    connection: str = typer.Argument(..., help="Connection name or id."),
    where: str | None = typer.Argument(
        None, help="SCHEMA for its tables, SCHEMA.TABLE for its columns; none: the schemas."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Show a connection's schemas, a schema's tables (with row estimates) or a table's columns."""
    from rich.table import Table

    json_mode(ctx, as_json)
    schema, _, table = (where or "").partition(".")
    with open_services(ctx) as sv:
        if not where:
            schemas = sv.connections.schemas(connection)
            if as_json:
                emit_json(ctx, schemas)
                return
            if not schemas:
                say(f"no schemas on {connection}")
            for name in schemas:
                say(name)
            return
        if not table:
            found = sv.connections.tables(connection, schema)
            if as_json:
                emit_json(ctx, found)
                return
            if not found.tables:
                say(f"no tables in {schema}")
                return
            grid = Table("table", "rows (estimate)")
            for t in found.tables_detail:
                grid.add_row(t.name, "-" if t.rows is None else f"{t.rows:,}")
            print_table(grid)
            return
        columns = sv.connections.columns(connection, where)
    if as_json:
        emit_json(ctx, columns)
        return
    grid = Table("column", "type", "nullable", "key")
    for c in columns:
        grid.add_row(c.name, c.type, "yes" if c.nullable else "no", "PK" if c.primary_key else "")
    print_table(grid)


def propose(
    ctx: typer.Context,
    connection: str = typer.Argument(..., help="Source connection name or id."),
    table: str = typer.Argument(..., help="SCHEMA.TABLE (or a bare table name)."),
    dest: str | None = typer.Option(
        None, "--dest", help="Destination connection (its CREATE TABLE is shown)."
    ),
    dest_table: str | None = typer.Option(
        None, "--dest-table", help="Destination table (default sync.<table>)."
    ),
    name: str | None = typer.Option(None, "--name", help="Module name (default: the table's)."),
    yaml_file: Path | None = typer.Option(
        None,
        "--yaml",
        dir_okay=False,
        help="Write the module to this file, for `pipekit apply FILE` (needs --dest).",
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Draft a module from a source table: query, merge key, watermark and strategy.

    Nothing is saved; `--yaml FILE` writes the draft for `pipekit apply FILE`.
    """
    from rich.table import Table

    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        p = sv.connections.propose(connection, table, dest=dest, dest_table=dest_table, name=name)
        text = sv.connections.proposal_yaml(p) if yaml_file is not None else None
    if yaml_file is not None and text is not None:
        _write(yaml_file, text)
    if as_json:
        emit_json(ctx, p)
        return
    say(f"module:      {p.name}")
    say(f"source:      {p.source} {p.source_table}")
    say(f"destination: {p.dest or '-'} {p.dest_table}")
    say(f"strategy:    {p.merge_strategy}")
    say(f"merge key:   {p.merge_key or '-'}")
    say(f"watermark:   {p.watermark_column or '-'}")
    say(f"why:         {p.reason}")
    say("query:")
    say(f"  {p.source_query}")
    grid = Table("source", "dest", "type", "travels as", "nullable", "key")
    for c in p.columns:
        grid.add_row(
            c.source,
            c.dest + (" (RTRIM)" if c.trimmed else ""),
            c.type,
            c.dest_type,
            "yes" if c.nullable else "no",
            "PK" if c.primary_key else "",
        )
    print_table(grid)
    if p.dest_ddl:
        say("destination table, as the first run creates it:")
        say(f"  {p.dest_ddl}")
    if yaml_file is not None:
        check_line(OK, f"wrote module '{p.name}' to {yaml_file}")
        say(f"Review it, then create it with `pipekit apply {yaml_file}`.")
    elif p.dest is not None:
        say("Write it as a module file with --yaml FILE, then `pipekit apply FILE`.")


def _write(path: Path, text: str) -> None:
    from pipekit.errors import ConfigError

    try:
        path.write_text(text)
    except OSError as exc:
        raise ConfigError(
            f"cannot write {path}: {exc.strerror}; choose another --yaml file"
        ) from None
