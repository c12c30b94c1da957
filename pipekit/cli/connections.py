"""`pipekit connections add|list|show|edit|test|rm`: named source and destination databases.

Passwords are stored as `$VAR` references only. `--password-prompt` asks for
the value; the service keeps it in the secrets file as ``<NAME>_PASSWORD`` and
stores the reference. Every input is checked before anything is written (and
before the password is asked for). Each command calls ``sv.connections``, as
the REST API does; `--json` prints the API's objects.
"""

from pathlib import Path
from typing import Any

import typer

from pipekit.cli._context import (
    JSON_HELP,
    OK,
    WARN,
    check_line,
    emit_json,
    json_mode,
    open_services,
    print_table,
    say,
)

app = typer.Typer(help="Named database connections (URL, user, password reference).")

JSON = typer.Option(False, "--json", help=JSON_HELP)


def _read_options(path: Path | None) -> dict[str, Any] | None:
    """The options file as a mapping (its meaning is checked by the service)."""
    if path is None:
        return None
    import yaml

    from pipekit.errors import ConnectionSpecError

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConnectionSpecError(f"{path} is not valid YAML: {exc}", path="options") from None
    if not isinstance(data, dict):
        raise ConnectionSpecError(f"{path} must hold a mapping (key: value)", path="options")
    return data


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
    options_file: Path | None = typer.Option(
        None,
        "--options",
        help="YAML file of a connector connection's options (its tables; docs/connectors.md).",
        exists=True,
        dir_okay=False,
    ),
    as_json: bool = JSON,
) -> None:
    """Add a connection (the URL is checked against the installed drivers first)."""
    json_mode(ctx, as_json)
    options = _read_options(options_file)
    with open_services(ctx) as sv:
        kind = sv.connections.check_new(name, url, password=password, prompted=password_prompt)
        stored = None
        if password_prompt:
            value = typer.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
            conn, stored = sv.connections.add_with_secret(
                name, url, value=value, user=user, supports_deletes=not no_deletes
            )
        else:
            conn = sv.connections.add(
                name,
                url,
                user=user,
                password=password,
                supports_deletes=not no_deletes,
                options=options,
            )
        missing = sv.connections.missing_secret(conn) if stored is None else None
    if as_json:
        emit_json(ctx, conn)
        return
    if stored is not None:
        note = " (replaced its old value)" if stored.replaced else ""
        check_line(OK, f"stored the password as secret {stored.key} in {stored.path}{note}")
    check_line(OK, f"added {kind} connection '{conn.name}' ({conn.url})")
    if missing:
        check_line(WARN, f"${missing} is not set yet; set it with `pipekit secrets set {missing}`")
    say(f"Test it with `pipekit connections test {conn.name}`.")


@app.command("list")
def list_(ctx: typer.Context, as_json: bool = JSON) -> None:
    """List connections: name, kind, URL, user, password reference, deletes."""
    from rich.table import Table

    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        conns = sv.connections.list()
        kinds = [sv.connections.kind(c.url) for c in conns]
    if as_json:
        emit_json(ctx, conns)
        return
    if not conns:
        say("no connections yet; add one with `pipekit connections add NAME URL`")
        return
    table = Table("name", "kind", "url", "user", "password", "deletes")
    table.columns[2].overflow = "fold"
    for c, kind in zip(conns, kinds, strict=True):
        table.add_row(
            c.name,
            kind,
            c.url,
            c.user or "",
            c.password or "",
            "yes" if c.supports_deletes else "no",
        )
    print_table(table)


@app.command("show")
def show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Connection name or id."),
    as_json: bool = JSON,
) -> None:
    """Show one connection."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        c = sv.connections.show(name)
        kind = sv.connections.kind(c.url)
    if as_json:
        emit_json(ctx, c)
        return
    rows = [
        ("name", c.name),
        ("kind", kind),
        ("url", c.url),
        ("user", c.user or "-"),
        ("password", c.password or "-"),
        ("supports deletes", "yes" if c.supports_deletes else "no"),
        ("created", c.created_at.isoformat(timespec="seconds")),
        ("updated", c.updated_at.isoformat(timespec="seconds")),
    ]
    for key, value in rows:
        say(f"{key + ':':<18}{value}")


@app.command("edit")
def edit(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Connection name or id."),
    new_name: str | None = typer.Option(None, "--name", help="Rename it."),
    url: str | None = typer.Option(None, "--url", help="A new URL (checked like `add`)."),
    user: str | None = typer.Option(None, "--user", "-u", help="A new user ('' for none)."),
    password: str | None = typer.Option(
        None, "--password", help="A new secret reference such as '$ERP_PW' ('' for none)."
    ),
    deletes: bool | None = typer.Option(
        None, "--deletes/--no-deletes", help="Whether the database can DELETE."
    ),
    as_json: bool = JSON,
) -> None:
    """Change a connection's name, URL, user, password reference or deletes."""
    json_mode(ctx, as_json)
    changes = {
        k: v
        for k, v in (
            ("name", new_name),
            ("url", url),
            ("user", user),
            ("password", password),
            ("supports_deletes", deletes),
        )
        if v is not None
    }
    with open_services(ctx) as sv:
        c = sv.connections.update(name, **changes)
    if as_json:
        emit_json(ctx, c)
        return
    what = ", ".join(changes) or "nothing"
    check_line(OK, f"updated connection '{c.name}' ({what})")


@app.command("test")
def test(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Connection name or id."),
    as_json: bool = JSON,
) -> None:
    """Connect and report the server version and latency; exit 1 with the reason if it fails."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        result = sv.connections.test(name, strict=not as_json)
    if as_json:
        emit_json(ctx, result)
        if not result.ok:
            raise typer.Exit(1)
        return
    check_line(OK, f"{name}: {result.kind} {result.server_version} ({result.latency_ms:.0f} ms)")


@app.command("rm")
def rm(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Connection name or id."),
    as_json: bool = JSON,
) -> None:
    """Remove a connection (refused while modules use it). Its secret is kept."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        conn = sv.connections.remove(name)
    if as_json:
        emit_json(ctx, {"deleted": True})
        return
    check_line(OK, f"removed connection '{conn.name}'")
    if conn.password:
        from pipekit.secrets import reference_name

        key = reference_name(conn.password)
        say(f"  the secret {conn.password} was kept; remove it with `pipekit secrets rm {key}`")
