"""`pipekit tui` in a real terminal (tmux: send-keys, capture-pane) against a real
server: the tree, a run's live log, and `e` handing the terminal to ``$EDITOR`` (a
script standing in for the editor changes the query; the TUI saves it through the
API). The pilot cannot suspend the app to run an editor; a terminal can.

Each test runs its own tmux server (``-L``), so it neither sees nor disturbs others.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import PASSWORD, USER, Server, add_module, fast_query

#: the test command installs tmux (scripts/test.sh); missing here is a failure
TMUX = shutil.which("tmux")


class Terminal:
    """A 160x48 tmux session running one command."""

    def __init__(self, command: str, tag: str) -> None:
        assert TMUX, "tmux is not installed: scripts/test.sh installs it"
        self.socket, self.session = f"pk_{tag}", f"tui_{tag}"
        self.tmux("new-session", "-d", "-s", self.session, "-x", "160", "-y", "48", command)

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            [str(TMUX), "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def wait_for(self, needle: str, timeout: float = 30) -> str:
        return self.wait_until(lambda screen: needle in screen, repr(needle), timeout)

    def wait_until(self, check: Callable[[str], bool], what: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.text()
            if check(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} never showed in the terminal:\n{screen}")
            time.sleep(0.1)  # polling the pane for a condition, not waiting for time

    def close(self) -> None:
        subprocess.run([str(TMUX), "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def terminal(server: Server) -> Iterator[Callable[..., Terminal]]:
    """``terminal(env, on=server)``: the TUI in a tmux pane, on `server` unless told."""
    opened: list[Terminal] = []

    def start(env: dict[str, str], on: Server = server) -> Terminal:
        settings = {"PIPEKIT_PASSWORD": PASSWORD, "PIPEKIT_CONFIG": "/nonexistent.yaml", **env}
        assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in settings.items())
        tui = f"{shlex.quote(sys.executable)} -m pipekit tui --url {on.url} --user {USER}"
        # Textual draws on stderr, so it is not redirected; the pane stays open after an
        # exit, so a crash can be read in the failure message
        command = f"env {assignments} {tui}; echo EXITED $?; sleep 60"
        t = Terminal(command, uuid.uuid4().hex[:8])
        opened.append(t)
        return t

    yield start
    for t in opened:
        t.close()


def test_tree_run_log_and_editing_the_query_in_the_editor(
    terminal: Callable[[dict[str, str]], Terminal], api: httpx.Client, pg_url: str, tmp_path: Path
) -> None:
    name = add_module(api, pg_url, fast_query(7))
    editor = tmp_path / "fake-editor"
    editor.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import sys
            from pathlib import Path

            path = Path(sys.argv[1])
            path.write_text(path.read_text().replace("generate_series(1, 7)",
                                                     "generate_series(1, 3)"))
            """
        )
    )
    editor.chmod(0o755)
    t = terminal({"EDITOR": str(editor)})
    t.wait_for("Connections")  # the footer: the app is up
    # keys typed at once reach the widget focused when each is read, and a key that
    # moves the focus (`/` to the search box, enter back to the tree) takes effect
    # after the keys already read: wait for each move as a user waits to see it
    t.keys("/")
    t.wait_until(lambda s: "search modules" in s and "i Info" not in s, "the search box")
    t.keys(*name, "Enter")
    in_tree = re.compile(rf"{name} +never ran")
    t.wait_until(lambda s: bool(in_tree.search(s)) and "i Info" in s, "the module in the tree")
    t.keys("i")
    t.wait_for("destination alias")
    t.keys("e")
    t.wait_for("base query saved")
    assert api.get(f"/api/modules/{name}").json()["source_query"] == fast_query(3)
    t.keys("r")
    screen = t.wait_for("finished: success", timeout=60)
    assert "staged 3 rows" in screen, screen
    t.keys("Escape", "Escape")
    ran = re.compile(rf"{name} +success .* 3 rows")
    t.wait_until(lambda s: bool(ran.search(s)), "the tree after the run")
    t.keys("q")
    t.wait_for("EXITED 0")


def test_wrong_password_is_a_message_not_a_traceback(
    terminal: Callable[..., Terminal], own_server: Server
) -> None:
    t = terminal({"PIPEKIT_PASSWORD": "wrong"}, own_server)
    screen = t.wait_for("refused the user name or password")
    assert "Traceback" not in screen
    t.keys("q")
    t.wait_for("EXITED 0")
