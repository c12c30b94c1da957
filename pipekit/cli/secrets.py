"""`pipekit secrets set|list|rm`: the KEY=value file that `$VAR` references read.

Values are never printed; `list` shows names only.
"""

import typer

from pipekit.cli._context import OK, WARN, check_line, say, secrets_file

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
    from pipekit.secrets import check_key

    check_key(key)  # before prompting: a bad name should not cost a typed password
    sf = secrets_file(ctx)
    if value is None:
        value = typer.prompt(f"Value for {key}", hide_input=True, confirmation_prompt=True)
    existed = key in sf.read()
    sf.set(key, value)
    verb = "replaced" if existed else "stored"
    check_line(OK, f"{verb} secret {key} in {sf.path} (reference it as ${key})")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List secret names (never values)."""
    sf = secrets_file(ctx)
    keys = sf.keys()
    if not keys:
        say(f"no secrets in {sf.path}; add one with `pipekit secrets set NAME`")
    for key in keys:
        say(key)
    problem = sf.mode_problem()
    if problem:
        check_line(WARN, problem)


@app.command("rm")
def rm(
    ctx: typer.Context,
    key: str = typer.Argument(..., help="Secret name to remove."),
) -> None:
    """Remove a secret."""
    from pipekit.errors import NotFoundError

    sf = secrets_file(ctx)
    if not sf.remove(key):
        raise NotFoundError(f"secret {key} is not set in {sf.path} (see `pipekit secrets list`)")
    check_line(OK, f"removed secret {key} from {sf.path}")
