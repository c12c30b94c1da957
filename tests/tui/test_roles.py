"""The TUI over a user whose role is too weak: a refused call (403) is a notification
naming the role needed, and the app goes on."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import Server, drive, unique_name, until


@pytest.fixture(scope="module")
def viewer(server: Server) -> tuple[str, str]:
    name = unique_name("tuiviewer")
    assert server.cli("users", "add", name, input="pw\n").returncode == 0
    return name, "pw"


def test_a_refusal_is_a_notification_naming_the_role(
    server: Server, viewer: tuple[str, str]
) -> None:
    from pipekit.client import PipekitClient
    from pipekit.tui.app import PipekitApp

    app = PipekitApp(PipekitClient(server.url, *viewer), poll_s=0)
    done: list[Any] = []

    async def scenario(pilot: Any) -> None:
        # what the module screen's run key calls, as this user
        app.call(lambda: app.api.start_run("anything"), done.append)

        def shown() -> list[str]:
            return [n.message for n in app._notifications]

        await until(pilot, lambda: any("needs the role" in m for m in shown()), "notice")
        notice = next(n for n in app._notifications if "needs the role" in n.message)
        assert notice.title == "PermissionDeniedError" and notice.severity == "error"
        assert "needs the role 'operator'" in notice.message
        assert f"user '{viewer[0]}' has 'viewer'" in notice.message

    drive(app, scenario)
    assert done == []  # the refused call never reached its `done`
