"""`pipekit drivers list|add|rm`: database kinds, JDBC profiles and registered jars."""

import typer

from pipekit.cli._context import (
    JSON_HELP,
    OK,
    check_line,
    emit_json,
    json_mode,
    open_services,
    print_table,
)

app = typer.Typer(help="Database drivers: kinds, URL schemes, JDBC jars and whether each loads.")


@app.command("list")
def list_(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help=JSON_HELP)
) -> None:
    """Show each driver: native kinds, built-in JDBC profiles and registered jars, and
    whether it can load here (Java found, jars present, Python packages installed)."""
    from rich.table import Table
    from rich.text import Text

    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        drivers = sv.drivers.list()
    if as_json:
        emit_json(ctx, drivers)
        return
    table = Table("name", "kind", "origin", "schemes", "class / packages", "status")
    for d in drivers:
        # Text, not markup: install hints contain brackets ('pipekit[mysql]').
        if d.available:
            status = Text("available", style="green")
        else:
            status = Text("; ".join(d.problems), style="red")
            if d.missing:
                status.append(f"; install with: {d.install}")
        what = d.class_name or ", ".join(d.packages) or "(standard library)"
        table.add_row(d.name, d.kind, d.origin, ", ".join(d.schemes), what, status)
    print_table(table)


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Name of the driver, e.g. db2i."),
    jars: list[str] = typer.Option(..., "--jar", help="A jar file (repeat for several)."),
    class_name: str = typer.Option(
        ..., "--class", help="The JDBC driver class, e.g. com.ibm.as400.access.AS400JDBCDriver."
    ),
    url_template: str = typer.Option(
        None,
        "--url-template",
        help="A URL of the driver, e.g. 'jdbc:as400://{host}': its subprotocol picks the "
        "connections that use this driver.",
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Register a JDBC driver: its jars are copied into driver_dir."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        view = sv.drivers.add(name, jars=jars, class_name=class_name, url_template=url_template)
    if as_json:
        emit_json(ctx, view)
        return
    check_line(OK, f"registered driver '{view.name}' ({view.class_name}, {len(view.jars)} jar(s))")


@app.command("rm")
def rm(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Registered driver name or id."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Remove a registered driver and its jars (refused while a connection uses it)."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        view = sv.drivers.remove(name)
    if as_json:
        emit_json(ctx, view)
        return
    check_line(OK, f"removed driver '{view.name}'")
