"""`pipekit doctor`: check the installation and say what to fix.

One ✓ / ✗ / ! line per check (``pipekit.services.system.doctor`` makes them).
✗ lines make the command exit 1; ! lines are warnings (for example a driver
that no connection needs is not installed).
"""

import typer

from pipekit.cli._context import BAD, JSON_HELP, OK, WARN, check_line, emit_json, say, state

MARKS = {"ok": OK, "bad": BAD, "warn": WARN}


def doctor(
    ctx: typer.Context,
    connections: bool = typer.Option(
        False, "--connections", help="Also connect to every connection and report its version."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Check config, state database, secrets, password references and drivers."""
    from pipekit.services.system import doctor as run_checks

    report = run_checks(state(ctx).config_path, connect=connections)
    if as_json:
        emit_json(ctx, report)
        if not report.ok:
            raise typer.Exit(1)
        return
    for check in report.checks:
        check_line(MARKS[check.status], check.message)
    if report.problems:
        say(f"{report.problems} problem(s) found; fix the ✗ lines above", style="red")
        raise typer.Exit(1)
    extra = f" ({report.warnings} warning(s))" if report.warnings else ""
    say(f"all checks passed{extra}", style="green")
