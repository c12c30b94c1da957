"""What every command shares: the --config path, consoles, loading config and store.

Heavy modules (SQLAlchemy, drivers) are imported inside these helpers and the
command bodies, never at import time, so `pipekit --help` stays fast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from pipekit.config import Config
    from pipekit.secrets import SecretsFile
    from pipekit.services import Services

OK = "✓"
BAD = "✗"
WARN = "!"


@dataclass
class CliState:
    """Global options, kept on the Typer context."""

    config_path: Path | None = None


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def out() -> Console:
    # Made per call, so output follows the current stdout (tests swap it).
    return Console(highlight=False, soft_wrap=True)


def err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_table(table: Table) -> None:
    """A table, every value whole: drawn for a terminal (long values fold onto more
    lines, never cut with "…"); piped or redirected, plain tab-separated lines — the
    title (if any), the header, one line per row — for `cut`, `awk` and spreadsheets.
    Tabs and line breaks inside a value become spaces, so a row stays one line."""
    console = out()
    if console.is_terminal:
        for column in table.columns:
            column.overflow = "fold"
        console.print(table)
        return

    def plain(value: object) -> str:
        text = value.plain if isinstance(value, Text) else str(value)
        return " ".join(text.replace("\t", " ").splitlines())

    lines = [plain(table.title)] if table.title else []
    if table.show_header:
        lines.append("\t".join(plain(c.header) for c in table.columns))
    for row in zip(*(c.cells for c in table.columns), strict=True):
        lines.append("\t".join(plain(cell) for cell in row))
    console.file.write("".join(line + "\n" for line in lines))


def say(message: str, style: str | None = None) -> None:
    """Print one plain line (no Rich markup: messages may contain brackets)."""
    out().print(Text(message, style=style or ""))


def check_line(mark: str, message: str) -> None:
    """A ✓ / ✗ / ! line, as `pipekit doctor` and `connections test` print them."""
    style = {OK: "green", BAD: "red", WARN: "yellow"}[mark]
    line = Text(f"{mark} ", style=f"bold {style}")
    line.append(message, style=style if mark != OK else "")
    out().print(line)


def print_error(message: str) -> None:
    """The one red line every failure ends with."""
    err().print(Text(f"error: {message}", style="red"))


def load(ctx: typer.Context) -> Config:
    """The bootstrap config: --config / $PIPEKIT_CONFIG, else the usual places."""
    from pipekit.config import load_config

    return load_config(state(ctx).config_path)


def open_services(ctx: typer.Context) -> Services:
    """The services over the current config's state store (nothing connected yet).

    Opening them ends start-up: the store, and for `run` the engine, are imported.
    """
    from pipekit.cli import _startup
    from pipekit.services import Services

    services = Services.open(load(ctx), actor="cli")
    _startup.started()
    return services


#: the --json option every list and show command takes
JSON_HELP = "Print JSON: the same objects the REST API returns."


def emit_json(ctx: typer.Context, value: object) -> None:
    """Print `value` (views) as the API's JSON, on stdout."""
    from pipekit.services.views import dump_json

    typer.echo(dump_json(value))


def json_mode(ctx: typer.Context, on: bool) -> bool:
    """Remember that this command answers in JSON, errors included; returns `on`."""
    if on:
        ctx.find_root().meta["pipekit.json"] = True
    return on


def print_json_error(exc: Exception) -> None:
    """A PipekitError as JSON on stderr: the class, message and problems with paths,
    as the API's error bodies name them."""
    import json

    from pipekit.errors import PipekitError

    assert isinstance(exc, PipekitError)
    body = {
        "error": type(exc).__name__,
        "detail": exc.message,
        "problems": [{"path": p.path, "message": p.message} for p in exc.problems],
    }
    typer.echo(json.dumps(body, indent=2, ensure_ascii=False), err=True)


def secrets_file(ctx: typer.Context) -> SecretsFile:
    """The secrets file: $PIPEKIT_SECRETS, else the config's `secrets_file`."""
    from pipekit.config import ENV_SECRETS
    from pipekit.secrets import SecretsFile

    override = os.environ.get(ENV_SECRETS)
    if override:
        return SecretsFile(Path(override))
    return SecretsFile(load(ctx).secrets_path)
