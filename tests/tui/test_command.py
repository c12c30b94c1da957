"""`pipekit tui` as a command: where it finds the server, and what it says without a
password (it never starts the app half-configured)."""

from __future__ import annotations

import subprocess

from tests.helpers import PIPEKIT, Server


def test_local_url_turns_listen_addresses_into_ones_to_connect_to() -> None:
    from pipekit.cli.tui import local_url

    assert local_url("0.0.0.0", 8100) == "http://127.0.0.1:8100"
    assert local_url("::", 9000) == "http://[::1]:9000"
    assert local_url("etl01.example", 8100) == "http://etl01.example:8100"


def test_no_password_and_no_terminal_is_one_clear_error(server: Server) -> None:
    env = {k: v for k, v in server.env.items() if k != "PIPEKIT_PASSWORD"}
    done = subprocess.run(  # stdin is a pipe, not a terminal: no prompt possible
        [*PIPEKIT, "tui", "--url", server.url],
        env=env,
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "error: no password: set $PIPEKIT_PASSWORD" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
