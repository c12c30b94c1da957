"""`pipekit tui`: the terminal UI, a client of a running server's REST API.

The server is `--url`, else ``$PIPEKIT_URL``, else the local one the config
describes (``api.host`` / ``api.port``). The password comes from
``$PIPEKIT_PASSWORD`` or a prompt; it is never an option (it would show in the
process list). Textual and httpx are imported inside the command.
"""

import os
import sys

import typer

from pipekit.cli._context import load

#: addresses a server listens on that a client cannot connect to as such
_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def local_url(host: str, port: int) -> str:
    """The URL a client on this machine reaches a server listening on host:port at."""
    host = _ANY_ADDRESS.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def tui(
    ctx: typer.Context,
    url: str | None = typer.Option(
        None, "--url", envvar="PIPEKIT_URL", help="Server URL (default: api.host/api.port)."
    ),
    user: str = typer.Option("admin", "--user", envvar="PIPEKIT_USER", help="API user."),
) -> None:
    """Open the terminal UI (module tree, runs, history, wizard) on a running server."""
    from getpass import getpass

    from pipekit.errors import PipekitError

    try:
        from pipekit.client import PipekitClient
        from pipekit.tui.app import PipekitApp
        from pipekit.tui.editor import editor_from_env
    except ImportError as exc:
        raise PipekitError(
            f"the terminal UI needs the 'tui' extra ({exc.name} is missing): "
            "pip install 'pipekit[tui]'"
        ) from None
    if url is None:
        config = load(ctx)
        url = local_url(config["api.host"], config["api.port"])
    password = os.environ.get("PIPEKIT_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise PipekitError(
                "no password: set $PIPEKIT_PASSWORD, or run `pipekit tui` in a terminal to "
                "be asked for it",
                path="password",
            )
        password = getpass(f"Password for {user} at {url}: ")
    with PipekitClient(url, user, password) as api:
        PipekitApp(api, editor=editor_from_env()).run()
