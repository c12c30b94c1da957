"""Tables through the real `pipekit` process: whole values, drawn in a narrow terminal
(a pseudo-terminal) and plain tab-separated lines when piped."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from tests.helpers import tsv

PIPEKIT = [str(Path(sys.executable).with_name("pipekit"))]
LONG_URL = (
    "postgresql://etl_reader@warehouse-replica-03.analytics.internal.example.com:5432/"
    "enterprise_resource_planning_archive"
)


def _setup(home: Path) -> dict[str, str]:
    env = {**os.environ, "PIPEKIT_CONFIG": str(home / "pipekit.yaml"), "NO_COLOR": "1"}
    for args in (["init"], ["connections", "add", "erp", LONG_URL, "--no-deletes"]):
        done = subprocess.run(PIPEKIT + args, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    return env


def test_piped_tables_are_tab_separated_with_every_value_whole(pipekit_home: Path) -> None:
    env = _setup(pipekit_home)
    done = subprocess.run(
        [*PIPEKIT, "connections", "list"], env=env, capture_output=True, text=True, check=True
    )
    assert "│" not in done.stdout and "…" not in done.stdout
    assert tsv(done.stdout) == [
        ["name", "kind", "url", "user", "password", "deletes"],
        ["erp", "postgresql", LONG_URL, "", "", "no"],  # user and password in the URL
    ]


def test_a_narrow_terminal_folds_long_values_instead_of_cutting_them(pipekit_home: Path) -> None:
    env = {**_setup(pipekit_home), "COLUMNS": "60", "LINES": "40", "TERM": "xterm"}
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [*PIPEKIT, "connections", "list"], env=env, stdout=follower, stderr=follower
    ) as proc:
        os.close(follower)
        chunks: list[bytes] = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the program ended
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=60) == 0
    os.close(leader)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode())
    lines = screen.splitlines()
    assert "│" in screen and "…" not in screen  # drawn as a table, nothing cut
    assert max(len(line) for line in lines) <= 60
    # the URL column's pieces, read top to bottom, give the whole URL back
    url_cells = "".join(line.split("│")[3].strip() for line in lines if line.count("│") >= 6)
    assert LONG_URL in url_cells
