"""`pipekit users add|list|rm|set-role` and `pipekit audit`: who may log in, with which
role (viewer < operator < editor < admin, see docs/security.md), and who changed what.

Passwords are prompted twice without echo, or read from stdin (one line), never taken
as an argument (it would stay in the shell history and the process list).
"""

import sys

import typer

from pipekit.cli._context import (
    JSON_HELP,
    OK,
    check_line,
    emit_json,
    json_mode,
    open_services,
    out,
)
from pipekit.cli._parts import when

app = typer.Typer(help="Users of the REST API and the web console, and their roles.")

JSON = typer.Option(False, "--json", help=JSON_HELP)
ROLE_HELP = "viewer (read), operator (+ run, cancel), editor (+ modules, groups, schedules), admin"


def read_password(user: str) -> str:
    """Prompted twice without echo at a terminal; else one line of stdin."""
    from getpass import getpass

    from pipekit.errors import UserSpecError

    if sys.stdin.isatty():
        password = getpass(f"Password for {user}: ")
        if getpass("Repeat it: ") != password:
            raise UserSpecError("the passwords do not match; nothing was changed", path="password")
        return password
    return sys.stdin.readline().rstrip("\r\n")


@app.command("add")
def add(
    ctx: typer.Context,
    user: str = typer.Argument(..., help="User name."),
    role: str = typer.Option("viewer", "--role", help=ROLE_HELP),
    as_json: bool = JSON,
) -> None:
    """Add USER with a role; the password is prompted (or read from stdin)."""
    json_mode(ctx, as_json)
    password = read_password(user)
    with open_services(ctx) as sv:
        view = sv.users.add(user, password, role)
    if as_json:
        emit_json(ctx, view)
        return
    check_line(OK, f"added user {view.name} (role {view.role})")


@app.command("list")
def list_(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Every user with its role."""
    from rich.table import Table

    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        users = sv.users.list()
    if as_json:
        emit_json(ctx, users)
        return
    table = Table("name", "role", "created (local)")
    for u in users:
        table.add_row(u.name, u.role, when(u.created_at))
    out().print(table)


@app.command("set-role")
def set_role(
    ctx: typer.Context,
    user: str = typer.Argument(..., help="User name."),
    role: str = typer.Argument(..., help=ROLE_HELP),
    as_json: bool = JSON,
) -> None:
    """Give USER the role ROLE (the last admin cannot be demoted)."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        view = sv.users.set_role(user, role)
    if as_json:
        emit_json(ctx, view)
        return
    check_line(OK, f"user {view.name} is now {view.role}")


@app.command("rm")
def rm(
    ctx: typer.Context,
    user: str = typer.Argument(..., help="User name."),
    as_json: bool = JSON,
) -> None:
    """Remove USER (the last admin cannot be removed)."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        view = sv.users.remove(user)
    if as_json:
        emit_json(ctx, view)
        return
    check_line(OK, f"removed user {view.name} (was {view.role})")


def audit(
    ctx: typer.Context,
    object_type: str | None = typer.Option(
        None, "--type", help="Only this kind: connection, module, user, ..."
    ),
    object_name: str | None = typer.Option(None, "--object", help="Only this object's name."),
    actor: str | None = typer.Option(
        None, "--user", help="Only this actor: api:NAME, web:NAME or cli:OSUSER."
    ),
    limit: int = typer.Option(50, "--limit", help="At most this many, newest first."),
    as_json: bool = JSON,
) -> None:
    """Who changed which connection, module, group, schedule, user or setting, and when
    (the names of the fields changed; never their values)."""
    from rich.table import Table

    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        entries = sv.audit.list(
            object_type=object_type, object_name=object_name, actor=actor, limit=limit
        )
    if as_json:
        emit_json(ctx, entries)
        return
    table = Table("when (local)", "who", "action", "object", "fields")
    for e in entries:
        table.add_row(
            when(e.at),
            e.actor,
            e.action,
            f"{e.object_type} {e.object_name or ''}".strip(),
            ", ".join(e.fields),
        )
    out().print(table)
