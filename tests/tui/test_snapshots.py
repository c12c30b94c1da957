"""Snapshots (pytest-textual-snapshot) of every screen, against a server of their own.

They must not flake, so everything they show is fixed: a fresh state DB (ids from 1),
a PostgreSQL database with a fixed name (its URL is on screen), the app's clock
frozen and its zone UTC, and after the runs the recorded times (and the times in
the live log) set to fixed values in the state DB. Update them with
``pytest tests/tui/test_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from pipekit.tui.screens.connections import ConnectionsScreen
from pipekit.tui.screens.dialogs import SqlScreen
from pipekit.tui.screens.history import HistoryScreen
from pipekit.tui.screens.main import MainScreen
from pipekit.tui.screens.module import ModuleScreen
from pipekit.tui.screens.run import RunScreen
from pipekit.tui.screens.settings import SettingsScreen
from pipekit.tui.screens.wizard import WizardScreen
from tests.helpers import (
    PASSWORD,
    USER,
    Server,
    in_own_thread,
    pg_admin,
    pg_parts,
    showing,
    tui_app,
    until,
    wait_done,
)

#: the database the snapshots' connections point at: fixed, because its URL is shown
DATABASE = "pipekit_tui_snapshots"
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
SIZE = (130, 36)


def _fix_times(state_db: Path) -> None:
    """Every recorded time set to a fixed one (times in live logs too)."""
    db = sqlite3.connect(state_db)
    with db:
        db.execute(
            "UPDATE module SET created_at = '2026-03-01 08:00:00.000000', "
            "updated_at = '2026-03-02 09:15:00.000000'"
        )
        db.execute(
            "UPDATE run_log SET started_at = '2026-03-02 11:0' || id || ':00.000000', "
            "finished_at = '2026-03-02 11:0' || id || ':02.500000'"
        )
        for run_id, log in db.execute("SELECT id, live_log FROM run_log").fetchall():
            log = re.sub(r"\d\d:\d\d:\d\d", "11:00:00", log or "")
            log = re.sub(r"[\d,]+ rows/s", "1,000 rows/s", log)
            log = re.sub(r"in [\d.]+ s", "in 2.5 s", log)
            db.execute("UPDATE run_log SET live_log = ? WHERE id = ?", (log, run_id))
    db.close()


@pytest.fixture(scope="module")
def snap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    base, _ = pg_parts()
    url = f"{base}/{DATABASE}"
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(
            'CREATE TABLE orders ("DCORD#" int PRIMARY KEY, dcotyp char(5), '
            "updated_at timestamp NOT NULL)"
        )
        c.execute(
            "INSERT INTO orders SELECT g, 'ab', TIMESTAMP '2026-01-01' + g * "
            "INTERVAL '1 hour' FROM generate_series(1, 42) g"
        )
        c.execute("CREATE TABLE customers (id int PRIMARY KEY, name varchar(40))")
    home = tmp_path_factory.mktemp("snapshots")
    (home / "pipekit.yaml").write_text("database: state.db\nmax_concurrent_runs: 1\n")
    srv = Server(home, 0)
    assert srv.cli("init").returncode == 0
    assert srv.cli("set-password", USER, input=f"{PASSWORD}\n").returncode == 0
    srv.start()
    try:
        with srv.client() as api:
            _populate(api, url)
        _fix_times(home / "state.db")
        yield srv
    finally:
        srv.stop()
        with pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def _populate(api: httpx.Client, url: str) -> None:
    for name in ("erp", "dw"):
        r = api.post("/api/connections", json={"name": name, "url": url, "user": "postgres"})
        assert r.status_code == 201, r.text
    p = api.get("/api/connections/erp/tables/public.orders/propose?dest=dw").json()
    modules = [
        {
            "name": "orders",
            "source_query": p["source_query"],
            "merge_strategy": "incremental",
            "merge_key": "dcord",
            "watermark_column": "updated_at",
            "dest_table": "sync.orders",
        },
        {
            "name": "customers",
            "source_query": "SELECT id, name FROM customers",
            "merge_strategy": "full",
            "dest_table": "sync.customers",
            "enabled": False,
        },
        {
            "name": "returns",
            "source_query": "SELECT id FROM customers",
            "merge_strategy": "full",
            "dest_table": "sync.returns",
        },
    ]
    for m in modules:
        r = api.post("/api/modules", json={"source": "erp", "dest": "dw", **m})
        assert r.status_code == 201, r.text
    for name in ("orders", "returns"):
        assert wait_done(api, api.post(f"/api/modules/{name}/run").json()["run_id"])
    with psycopg.connect(url, autocommit=True) as c:  # the next run of returns fails
        c.execute("DROP TABLE customers")
    assert wait_done(api, api.post("/api/modules/returns/run").json()["run_id"])["status"] == (
        "error"
    )


Steps = Callable[[Any], Awaitable[None]]


def _app(server: Server) -> Any:
    app = tui_app(server, clock=lambda: NOW, tz=dt.UTC)
    app.sub_title = f"{USER} @ http://pipekit.example:8100"  # the port is a free one
    return app


async def _tree(pilot: Any) -> MainScreen:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.loaded, "tree")
    await pilot.pause()
    return app.screen


async def _module(pilot: Any, name: str = "orders") -> ModuleScreen:
    screen = await _tree(pilot)
    tree = screen.query_one("#modules")
    tree.move_cursor(screen.nodes[name])
    await pilot.press("i")
    await until(pilot, lambda: isinstance(pilot.app.screen, ModuleScreen), "module screen")
    await until(pilot, lambda: pilot.app.screen.module is not None, "module")
    return pilot.app.screen


async def main_screen(pilot: Any) -> None:
    await _tree(pilot)


async def module_screen(pilot: Any) -> None:
    await _module(pilot)


async def settings_screen(pilot: Any) -> None:
    await _module(pilot)
    await pilot.press("s")
    await until(pilot, lambda: isinstance(pilot.app.screen, SettingsScreen), "settings")
    await until(pilot, lambda: pilot.app.screen.module is not None, "settings loaded")


async def base_query_viewer(pilot: Any) -> None:
    await _module(pilot)
    await pilot.press("b")
    await showing(pilot, SqlScreen, "viewer")


async def wizard_screen(pilot: Any) -> None:
    await _tree(pilot)
    await pilot.press("n")
    screen = await showing(pilot, WizardScreen, "wizard")
    await until(pilot, lambda: ("erp", "erp") in screen.query_one("#w-source")._options, "options")


async def history_screen(pilot: Any) -> None:
    await _tree(pilot)
    await pilot.press("L")
    await until(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen), "history")
    await until(pilot, lambda: len(pilot.app.screen.runs) == 3, "runs")


async def run_screen(pilot: Any) -> None:
    await _tree(pilot)
    await pilot.app.push_screen(RunScreen(1, "orders"))
    await until(pilot, lambda: pilot.app.screen.finished, "the run's end")


async def connections_screen(pilot: Any) -> None:
    await _tree(pilot)
    await pilot.press("c")
    screen = await showing(pilot, ConnectionsScreen, "connections")
    await until(pilot, lambda: screen.query_one("#connections").row_count == 2, "rows")


#: every screen, in the order of the snapshot files (test_every_screen[.N].svg)
SCREENS: list[Steps] = [
    main_screen,
    module_screen,
    settings_screen,
    base_query_viewer,
    wizard_screen,
    history_screen,
    run_screen,
    connections_screen,
]


def test_every_screen(snap_compare: Any, snap_server: Server) -> None:
    """One test for every screen, so one xdist worker owns the fixed-name database."""
    # what the snapshots show, asserted and not only drawn: fixed ids and times
    with snap_server.client() as api:
        runs = api.get("/api/runs").json()
    assert [(r["id"], r["module_name"], r["status"]) for r in runs] == [
        (3, "returns", "error"),
        (2, "returns", "success"),
        (1, "orders", "success"),
    ]
    assert runs[-1]["started_at"] == "2026-03-02T11:01:00Z"
    different = [
        steps.__name__
        for steps in SCREENS
        if not in_own_thread(snap_compare, _app(snap_server), terminal_size=SIZE, run_before=steps)
    ]
    assert not different, f"these screens differ from their snapshots: {different}"
