"""`pipekit apply FILE` and `pipekit export [FILE]`: the whole configuration as YAML.

A file is validated in full before anything is written; every problem is
printed on its own `error:` line with its path in the file (exit 1), and the
writes are one transaction: all of the file is applied or nothing. Both commands
call the manifest service (``pipekit.services.manifest``), as the API does; the
format is documented in docs/yaml.md.
"""

from pathlib import Path

import typer
from rich.text import Text

from pipekit.cli._context import (
    JSON_HELP,
    OK,
    check_line,
    emit_json,
    err,
    json_mode,
    open_services,
    out,
    print_error,
    say,
)

_MARKS = {"created": ("+", "green"), "updated": ("~", "yellow"), "removed": ("-", "red")}
_WOULD = {"created": "would create", "updated": "would update", "removed": "would remove"}


def apply(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., help="The YAML file (see docs/yaml.md); - reads standard input.", dir_okay=False
    ),
    prune: bool = typer.Option(
        False, "--prune", help="Also remove connections, modules, groups and schedules not in FILE."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Validate and show what would change; change nothing."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Create or update connections, modules, groups and schedules from a YAML file."""
    import sys

    from pipekit.errors import ManifestError

    json_mode(ctx, as_json)
    stdin = str(file) == "-"
    manifest = sys.stdin.read() if stdin else file
    label = "standard input" if stdin else str(file)
    with open_services(ctx) as sv:
        try:
            report = sv.manifest.apply(manifest, prune, dry_run, source=label if stdin else None)
        except ManifestError as exc:
            if as_json:
                raise
            for problem in exc.problems:
                print_error(str(problem))
            err().print(
                Text(f"{len(exc.problems)} problem(s) in {label}; nothing was changed", style="red")
            )
            raise typer.Exit(1) from None
    if as_json:
        emit_json(ctx, report)
        return
    for change in report.changes:
        if change.action == "unchanged":
            continue
        mark, style = _MARKS[change.action]
        verb = _WOULD[change.action] if dry_run else change.action
        fields = f" ({', '.join(change.fields)})" if change.fields else ""
        line = Text(f"{mark} ", style=f"bold {style}")
        line.append(f"{verb} {change.kind} {change.name}{fields}")
        out().print(line)
    counts = report.counts()
    summary = ", ".join(f"{n} {action}" for action, n in counts.items())
    if dry_run:
        c, u, r, n = counts.values()
        say(
            f"dry run of {label}: {c} to create, {u} to update, {r} to remove, {n} unchanged; "
            "nothing was changed"
        )
    elif report.changed:
        check_line(OK, f"applied {label}: {summary}")
    else:
        check_line(OK, f"{label} is already applied: {counts['unchanged']} unchanged")


def export(
    ctx: typer.Context,
    file: Path | None = typer.Argument(
        None, help="Write here (replaced atomically); standard output when omitted.", dir_okay=False
    ),
) -> None:
    """Write every connection, module, group and schedule as YAML (passwords as $VAR only)."""
    with open_services(ctx) as sv:
        text = sv.manifest.export()
    if file is None:
        typer.echo(text, nl=False)
        return
    _write_atomically(file, text)
    check_line(OK, f"exported to {file}; apply it with `pipekit apply {file}`")


def _write_atomically(path: Path, text: str) -> None:
    import os
    import tempfile

    from pipekit.errors import PipekitError

    target = path.expanduser().absolute()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise PipekitError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise PipekitError(f"cannot write {path}: {exc.strerror or exc}") from None
