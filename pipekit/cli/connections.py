"""`pipekit connections add|list|show|test|rm`: named source and destination databases.

Passwords are stored as `$VAR` references only. `--password-prompt` asks for
the value, keeps it in the secrets file as ``<NAME>_PASSWORD`` and stores the
reference. Every input is checked before anything is written.
"""

import typer

from pipekit.cli._context import OK, WARN, check_line, open_store, out, say, secrets_file

app = typer.Typer(help="Named database connections (URL, user, password reference).")


def _refuse_literal(password: str) -> None:
    from pipekit.errors import SecretError
    from pipekit.secrets import is_reference

    if not is_reference(password):
        # Never repeat the value: it is probably the real password.
        raise SecretError(
            "--password takes a secret reference such as '$ERP_PW' (in single quotes, so "
            "the shell does not expand it), not the password itself; use --password-prompt "
            "to type the password, or `pipekit secrets set ERP_PW` and --password '$ERP_PW'"
        )


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Connection name, e.g. erp."),
    url: str = typer.Argument(..., help="e.g. postgresql://host:5432/db, sqlite:///file.db"),
    user: str | None = typer.Option(None, "--user", "-u", help="User name."),
    password: str | None = typer.Option(
        None, "--password", help="Secret reference such as '$ERP_PW' (never the password)."
    ),
    password_prompt: bool = typer.Option(
        False, "--password-prompt", help="Ask for the password and store it as a secret."
    ),
    no_deletes: bool = typer.Option(
        False, "--no-deletes", help="The database cannot DELETE: load insert-only."
    ),
) -> None:
    """Add a connection (the URL is checked against the installed drivers first)."""
    from pipekit.engine.connections import add_connection, password_secret_name, validate_url
    from pipekit.errors import ConnectionSpecError
    from pipekit.secrets import reference_name
    from pipekit.store.repo import check_name

    # Everything that can be checked is checked before anything is written.
    check_name("connection", name, ConnectionSpecError)
    kind = validate_url(url)
    if password is not None and password_prompt:
        raise ConnectionSpecError("give either --password '$VAR' or --password-prompt, not both")
    if password is not None:
        _refuse_literal(password)
    sf = secrets_file(ctx)
    with open_store(ctx) as store:
        store.connections.ensure_absent(name)
        previous: str | None = None
        secret_key: str | None = None
        if password_prompt:
            secret_key = password_secret_name(name)
            value = typer.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
            previous = sf.read().get(secret_key)
            sf.set(secret_key, value)
            password = f"${secret_key}"
        try:
            conn = add_connection(
                store, name, url, user=user, password=password, supports_deletes=not no_deletes
            )
        except BaseException:
            if secret_key is not None:  # leave the secrets file as it was
                if previous is None:
                    sf.remove(secret_key)
                else:
                    sf.set(secret_key, previous)
            raise
    if secret_key is not None:
        note = " (replaced its old value)" if previous is not None else ""
        check_line(OK, f"stored the password as secret {secret_key} in {sf.path}{note}")
    check_line(OK, f"added {kind} connection '{conn.name}' ({conn.url})")
    if conn.password and secret_key is None and not _resolvable(conn.password, sf):
        key = reference_name(conn.password)
        check_line(WARN, f"${key} is not set yet; set it with `pipekit secrets set {key}`")
    say(f"Test it with `pipekit connections test {conn.name}`.")


def _resolvable(reference: str, sf: object) -> bool:
    from pipekit.errors import SecretError
    from pipekit.secrets import resolve

    try:
        resolve(reference, sf)  # type: ignore[arg-type]
    except SecretError:
        return False
    return True


def _kind(url: str) -> str:
    from pipekit.drivers import kind_for_url
    from pipekit.errors import PipekitError

    try:
        return kind_for_url(url)
    except PipekitError:
        return "?"


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List connections: name, kind, URL, user, password reference, deletes."""
    from rich.table import Table

    with open_store(ctx) as store:
        conns = store.connections.list()
    if not conns:
        say("no connections yet; add one with `pipekit connections add NAME URL`")
        return
    table = Table("name", "kind", "url", "user", "password", "deletes")
    table.columns[2].overflow = "fold"
    for c in conns:
        table.add_row(
            c.name,
            _kind(c.url),
            c.url,
            c.user or "",
            c.password or "",
            "yes" if c.supports_deletes else "no",
        )
    out().print(table)


@app.command("show")
def show(ctx: typer.Context, name: str = typer.Argument(..., help="Connection name.")) -> None:
    """Show one connection."""
    with open_store(ctx) as store:
        c = store.connections.get(name)
    rows = [
        ("name", c.name),
        ("kind", _kind(c.url)),
        ("url", c.url),
        ("user", c.user or "-"),
        ("password", c.password or "-"),
        ("supports deletes", "yes" if c.supports_deletes else "no"),
        ("created", c.created_at.isoformat(timespec="seconds")),
        ("updated", c.updated_at.isoformat(timespec="seconds")),
    ]
    for key, value in rows:
        say(f"{key + ':':<18}{value}")


@app.command("test")
def test(ctx: typer.Context, name: str = typer.Argument(..., help="Connection name.")) -> None:
    """Connect and report the server version and latency; exit 1 with the reason if it fails."""
    from pipekit.engine.connections import probe
    from pipekit.errors import DatabaseError

    sf = secrets_file(ctx)
    with open_store(ctx) as store:
        conn = store.connections.get(name)
    try:
        result = probe(conn, sf)
    except DatabaseError as exc:
        raise type(exc)(f"connection '{name}' failed: {exc}", reason=exc.reason) from None
    check_line(
        OK,
        f"{name}: {result.kind} {result.server_version} ({result.latency_ms:.0f} ms)",
    )


@app.command("rm")
def rm(ctx: typer.Context, name: str = typer.Argument(..., help="Connection name.")) -> None:
    """Remove a connection (refused while modules use it). Its secret is kept."""
    with open_store(ctx) as store:
        conn = store.connections.get(name)
        store.connections.remove(name)
    check_line(OK, f"removed connection '{name}'")
    if conn.password:
        from pipekit.secrets import reference_name

        key = reference_name(conn.password)
        say(f"  the secret {conn.password} was kept; remove it with `pipekit secrets rm {key}`")
