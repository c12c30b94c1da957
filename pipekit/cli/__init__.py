"""The `pipekit` command (Typer + Rich): one module per command group.

Every deliberate failure (a ``PipekitError``) ends as one red line
``error: <message>`` and exit code 1, never a traceback; exit code 0 means the
command did what it said, so cron and other schedulers can rely on it.

Start-up is kept short (see ``_startup.py`` and ``_coerce.py``). Command modules
do not use ``from __future__ import annotations``: typer reads every command's
signature on each start, and a string annotation costs it two evals, which for
the whole tree is about as long as building it; names imported only for type
checking are quoted instead. ``tests/cli/test_startup.py`` checks both.
"""

from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup, TyperOption

from pipekit.cli import (
    _startup,
    browse,
    checks,
    connections,
    connector,
    doctor,
    drivers,
    groups,
    hooks,
    init,
    manifest,
    modules,
    quickstart,
    run,
    schedules,
    secrets,
    serve,
    tui,
    users,
    watermarks,
)
from pipekit.cli._coerce import install as install_plain_coercion
from pipekit.cli._context import CliState, print_error, print_json_error
from pipekit.errors import PipekitError

__all__ = ["app", "main"]


class PipekitGroup(TyperGroup):
    """The root command group: turns PipekitError into a red line and exit code 1."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        install_plain_coercion(self)  # keeps pydantic out of start-up (see _coerce.py)
        return super().main(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except PipekitError as exc:
            if ctx.meta.get("pipekit.json"):
                print_json_error(exc)
            else:
                print_error(str(exc))
            raise typer.Exit(1) from None


def _flag_type(self: TyperOption, ctx: Any) -> str | None:
    """No type column for a flag (`--dry-run`, `--json`): it takes no value, and typer
    would print ``<bool>`` there, which reads as if one were expected."""
    return None if self.is_flag else _typed_option(self, ctx)


_typed_option = TyperOption.display_type_rich
TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]

app = typer.Typer(
    cls=PipekitGroup,
    name="pipekit",
    help="Pipekit: config-driven database sync. Start with `pipekit init`.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"pipekit {version('pipekit')}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    _show_version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        envvar="PIPEKIT_CONFIG",
        help="Bootstrap config file (default: $PIPEKIT_CONFIG, ./pipekit.yaml, user config).",
        dir_okay=False,
    ),
) -> None:
    ctx.obj = CliState(config_path=config.expanduser().absolute() if config else None)


app.command("init")(init.init)
app.command("doctor")(doctor.doctor)
app.command("quickstart")(quickstart.quickstart)
app.command("browse")(browse.browse)
app.command("propose")(browse.propose)
app.add_typer(secrets.app, name="secrets")
app.add_typer(connections.app, name="connections")
app.add_typer(drivers.app, name="drivers")
app.add_typer(groups.app, name="groups")
app.add_typer(schedules.app, name="schedules")
app.add_typer(modules.app, name="modules")
app.add_typer(watermarks.app, name="watermarks")
app.add_typer(hooks.app, name="hooks")
app.add_typer(checks.app, name="checks")
app.add_typer(connector.app, name="connector")


app.command("run")(run.run)
app.command("run-group")(run.run_group)
app.add_typer(run.runs_app, name="runs")

app.command("apply")(manifest.apply)
app.command("export")(manifest.export)
app.command("serve")(serve.serve)
app.command("set-password")(serve.set_password)
app.add_typer(users.app, name="users")
app.command("audit")(users.audit)
app.command("tui")(tui.tui)


def main() -> None:
    """Console-script entry point."""
    _startup.hold()  # collector off while the command imports (see _startup.py)
    try:
        app(prog_name="pipekit")
    finally:
        _startup.finish()
