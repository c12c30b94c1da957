"""`pipekit drivers list`: which database kinds this installation can talk to."""

import typer

from pipekit.cli._context import JSON_HELP, emit_json, json_mode, print_table

app = typer.Typer(help="Database drivers: kinds, URL schemes, installed packages.")


@app.command("list")
def list_(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help=JSON_HELP)
) -> None:
    """Show each driver kind, its URL schemes and whether its Python packages are installed."""
    from rich.table import Table
    from rich.text import Text

    # No state database needed: the list is what this installation has.
    from pipekit.services.drivers import list_drivers

    json_mode(ctx, as_json)
    drivers = list_drivers()
    if as_json:
        emit_json(ctx, drivers)
        return
    table = Table("kind", "schemes", "packages", "status")
    for d in drivers:
        # Text, not markup: install hints contain brackets ('pipekit[mysql]').
        if d.available:
            status = Text("available", style="green")
        else:
            status = Text(f"missing {', '.join(d.missing)}", style="red")
            status.append(f"; install with: {d.install}")
        packages = ", ".join(d.packages) or "(standard library)"
        table.add_row(d.kind, ", ".join(d.schemes), packages, status)
    print_table(table)
