"""`pipekit secrets set|list|rm`: the KEY=value file that `$VAR` references read.

Values are never printed; `list` shows names only.
"""

import typer

from pipekit.cli._context import (
    JSON_HELP,
    OK,
    WARN,
    check_line,
    emit_json,
    json_mode,
    say,
    secrets_file,
)

app = typer.Typer(help="Manage secrets (passwords referenced as $NAME). Values are never shown.")


@app.command("set")
def set_(
    ctx: typer.Context,
    key: str = typer.Argument(..., help="Secret name, e.g. ERP_PW (referenced as $ERP_PW)."),
    value: str | None = typer.Argument(
        None, help="The value; omit it to be prompted without echo (keeps it out of history)."
    ),
) -> None:
    """Add or replace a secret."""
    from pipekit.services.system import check_secret_key, set_secret

    check_secret_key(key)  # before prompting: a bad name should not cost a typed password
    sf = secrets_file(ctx)
    if value is None:
        value = _read_value(key)
    done = set_secret(sf, key, value)
    verb = "replaced" if done.replaced else "stored"
    check_line(OK, f"{verb} secret {key} in {done.path} (reference it as ${key})")


def _read_value(key: str) -> str:
    """The value typed twice without echo, or the first line of piped input (no prompt:
    `printf %s "$PW" | pipekit secrets set KEY` in a script)."""
    import sys

    from pipekit.errors import InvalidError

    if sys.stdin.isatty():
        return typer.prompt(f"Value for {key}", hide_input=True, confirmation_prompt=True)
    value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise InvalidError(
            f"no value for {key} on standard input; pipe it in "
            f'(printf %s "$VALUE" | pipekit secrets set {key}) or run it in a terminal'
        )
    return value


@app.command("list")
def list_(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help=JSON_HELP)
) -> None:
    """List secret names (never values)."""
    from pipekit.services.system import list_secrets

    json_mode(ctx, as_json)
    found = list_secrets(secrets_file(ctx))
    if as_json:
        emit_json(ctx, found)
        return
    if not found.keys:
        say(f"no secrets in {found.path}; add one with `pipekit secrets set NAME`")
    for key in found.keys:
        say(key)
    if found.problem:
        check_line(WARN, found.problem)


@app.command("rm")
def rm(
    ctx: typer.Context,
    key: str = typer.Argument(..., help="Secret name to remove."),
) -> None:
    """Remove a secret."""
    from pipekit.services.system import remove_secret

    sf = secrets_file(ctx)
    remove_secret(sf, key)
    check_line(OK, f"removed secret {key} from {sf.path}")
