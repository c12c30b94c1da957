"""`pipekit connector list|discover|test|new|extract`: the Connector Kit.

Connectors are sources that are not databases (APIs, files, streams): see
docs/connectors.md. Every command calls the connectors service
(``pipekit.services.connectors``); with --json it prints the service's views.
`test` and `extract` exit 1 when a check or a table failed, after printing
what did work.
"""

from pathlib import Path

import typer

from pipekit.cli._context import (
    BAD,
    JSON_HELP,
    OK,
    WARN,
    check_line,
    emit_json,
    err,
    json_mode,
    open_services,
    print_error,
    print_table,
    say,
)

app = typer.Typer(help="Connectors: sources that are not databases (APIs, files, streams).")

JSON = typer.Option(False, "--json", help=JSON_HELP)
SET = typer.Option(
    None,
    "--set",
    "-s",
    metavar="KEY=VALUE",
    help="A setting the connector's manifest declares (repeat for more); "
    "'$VAR' reads the secrets file or the environment.",
)


@app.command("list")
def list_(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Show every connector found: built in, in connectors_dir, from installed packages."""
    from rich.table import Table
    from rich.text import Text

    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        views = sv.connectors.list()
    if as_json:
        emit_json(ctx, views)
        return
    table = Table("name", "version", "capabilities", "source", "description")
    for v in views:
        if v.valid:
            status = Text(v.description)
        else:
            status = Text("invalid: " + "; ".join(v.problems), style="red")
        table.add_row(v.name, v.version or "-", ", ".join(v.capabilities), v.source, status)
    print_table(table)


@app.command("discover")
def discover(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Connector name (see `pipekit connector list`)."),
    settings: list[str] | None = SET,
    as_json: bool = JSON,
) -> None:
    """Show the tables a connector offers and their columns (Arrow types)."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        tables = sv.connectors.discover(name, settings or [])
    if as_json:
        emit_json(ctx, tables)
        return
    for t in tables:
        keys = f"; key {', '.join(t.primary_key)}" if t.primary_key else ""
        incremental = f"; incremental by {t.incremental_key}" if t.incremental_key else ""
        say(f"{t.name} [{', '.join(t.capabilities)}]{keys}{incremental}", style="bold")
        if t.description:
            say(f"  {t.description}")
        for c in t.columns:
            say(f"  {c.name}: {c.type}{'' if c.nullable else ' not null'}")


@app.command("test")
def test(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Connector name."),
    settings: list[str] | None = SET,
    tables: list[str] | None = typer.Option(
        None, "--table", "-t", help="Tables to extract when the connector cannot discover them."
    ),
    as_json: bool = JSON,
) -> None:
    """Run the contract checks against a connector (a scratch extract in a temp folder)."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        report = sv.connectors.test(name, settings or [], tables or [])
    if as_json:
        emit_json(ctx, report)
    else:
        for c in report.checks:
            mark = {"passed": OK, "failed": BAD, "skipped": WARN}[c.outcome]
            detail = f": {c.detail}" if c.detail else ""
            check_line(mark, f"{c.name} {c.outcome}{detail}")
    if not report.passed:
        failed = [c.name for c in report.checks if c.outcome == "failed"]
        if not as_json:
            print_error(f"connector {name} failed the contract checks: {', '.join(failed)}")
        raise typer.Exit(1)


@app.command("new")
def new(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The new connector's name (a Python package name)."),
    caps: str | None = typer.Option(
        None, "--caps", help="Capabilities, comma-separated (default: discover,read)."
    ),
    folder: Path | None = typer.Option(
        None, "--dir", help="Where to write it (default: the config's connectors_dir)."
    ),
    as_json: bool = JSON,
) -> None:
    """Write a new connector that passes ruff and its contract tests as it is."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        view = sv.connectors.new(name, caps, folder)
    if as_json:
        emit_json(ctx, view)
        return
    check_line(
        OK, f"created connector '{view.name}' [{', '.join(view.capabilities)}] in {view.path}"
    )
    for f in view.files:
        say(f"  {f}")
    if view.found:
        say(f"Check it with `pipekit connector test {view.name}` (or pytest {view.path}/tests).")
    else:
        say(
            f"Check it with pytest {view.path}/tests; `pipekit connector` finds it once "
            f"connectors_dir in the config points at {Path(view.path).parent}."
        )


@app.command("extract")
def extract(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Connector name."),
    out_dir: Path = typer.Option(..., "--out", "-o", help="Folder to extract into."),
    tables: list[str] | None = typer.Option(
        None, "--table", "-t", help="Extract only this table (repeat for more)."
    ),
    settings: list[str] | None = SET,
    full: bool = typer.Option(False, "--full", help="Ignore incremental state: read all rows."),
    batch_size: int = typer.Option(10_000, "--batch-size", help="Rows per batch read()."),
    as_json: bool = JSON,
) -> None:
    """Extract a connector's tables into OUT/data/*.parquet and OUT/extract.duckdb."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    json_mode(ctx, as_json)
    # on stderr and gone when done, so stdout holds only the result (or the JSON)
    with (
        open_services(ctx) as sv,
        Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            console=err(),
            transient=True,
            disable=as_json,
        ) as bar,
    ):
        task = bar.add_task(f"extracting {name}", total=None)
        view = sv.connectors.extract(
            name,
            out_dir,
            tables=tables or [],
            settings=settings or [],
            full=full,
            batch_size=batch_size,
            on_progress=lambda table, rows: bar.update(task, description=f"{table}: {rows:,} rows"),
        )
    if as_json:
        emit_json(ctx, view)
    else:
        for table, rows in view.rows.items():
            check_line(OK, f"{table}: {rows:,} rows")
        for change in view.schema_changes:
            check_line(WARN, f"schema changed: {change}")
        say(f"{view.database}: {view.tables_extracted} table(s), {view.total_rows:,} rows")
    if view.errors:
        if not as_json:
            print_error(f"{len(view.errors)} problem(s): " + "; ".join(view.errors))
        raise typer.Exit(1)
