"""`pipekit drivers list`: which database kinds this installation can talk to."""

import typer

from pipekit.cli._context import out

app = typer.Typer(help="Database drivers: kinds, URL schemes, installed packages.")


@app.command("list")
def list_() -> None:
    """Show each driver kind, its URL schemes and whether its Python packages are installed."""
    from rich.table import Table
    from rich.text import Text

    from pipekit.drivers import driver_status

    table = Table("kind", "schemes", "packages", "status")
    for st in driver_status():
        # Text, not markup: install hints contain brackets ('pipekit[mysql]').
        if st.available:
            status = Text("available", style="green")
        else:
            status = Text(f"missing {', '.join(st.missing)}", style="red")
            status.append(f"; install with: {st.install}")
        packages = ", ".join(st.packages) or "(standard library)"
        table.add_row(st.kind, ", ".join(st.schemes), packages, status)
    out().print(table)
