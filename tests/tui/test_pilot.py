"""The terminal UI driven by Textual's pilot against a real `pipekit serve` and real
PostgreSQL databases: the tree, a module's detail and SQL, runs with their live
log, cancel, settings, the base query, and a server that cannot be reached."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import psycopg
import pytest
from textual.widgets import DataTable, Input, RichLog, Static, TextArea

from pipekit.tui.screens.dialogs import ConfirmScreen, SqlScreen
from pipekit.tui.screens.main import MainScreen, ModuleTree
from pipekit.tui.screens.module import ModuleScreen
from pipekit.tui.screens.run import RunScreen
from pipekit.tui.screens.settings import SettingsScreen
from tests.helpers import (
    Server,
    drive,
    free_port,
    pg_rows,
    showing,
    slow_query,
    text_of,
    tui_app,
    until,
    wait_done,
)


@pytest.fixture(scope="module")
def orders(api: httpx.Client, pg_url: str) -> dict[str, str]:
    """A source table with a special-character column and a module syncing it
    incrementally (proposed by the server), run once."""
    tag = uuid.uuid4().hex[:8]
    table = f"orders_{tag}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            f'CREATE TABLE {table} ("DCORD#" int PRIMARY KEY, dcotyp char(5), '
            "updated_at timestamp NOT NULL)"
        )
        conn.execute(
            f"INSERT INTO {table} SELECT g, 'ab', TIMESTAMP '2026-01-01' + g * INTERVAL '1 hour' "
            "FROM generate_series(1, 20) g"
        )
    conn_name = f"erp_{tag}"
    r = api.post("/api/connections", json={"name": conn_name, "url": pg_url})
    assert r.status_code == 201, r.text
    p = api.get(f"/api/connections/{conn_name}/tables/public.{table}/propose").json()
    name = f"orders_{tag}"
    r = api.post(
        "/api/modules",
        json={
            "name": name,
            "source": conn_name,
            "dest": conn_name,
            "dest_table": f"public.dest_{tag}",
            "source_query": p["source_query"],
            "merge_strategy": p["merge_strategy"],
            "merge_key": p["merge_key"],
            "watermark_column": p["watermark_column"],
        },
    )
    assert r.status_code == 201, r.text
    run_id = api.post(f"/api/modules/{name}/run").json()["run_id"]
    assert wait_done(api, run_id)["status"] == "success"
    return {"name": name, "connection": conn_name, "table": table, "dest": f"public.dest_{tag}"}


async def viewer_text(pilot: Any, what: str) -> TextArea:
    screen = await showing(pilot, SqlScreen, what)
    return screen.query_one("#sql-text", TextArea)


async def open_module(pilot: Any, name: str) -> ModuleScreen:
    """Search the tree for `name` and open it with `i`."""
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.loaded, "tree")
    await pilot.press("slash", *name)
    await until(pilot, lambda: app.screen.selected_module() == name, f"{name} selected")
    await pilot.press("enter", "i")
    screen = await showing(pilot, ModuleScreen, "module screen")
    await until(pilot, lambda: screen.module is not None, "module loaded")
    return screen


def test_tree_groups_by_source_and_moves_with_j_k_g_G(
    server: Server, orders: dict[str, str]
) -> None:
    async def scenario(pilot: Any) -> None:
        app = pilot.app
        await until(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.loaded, "tree")
        screen: MainScreen = app.screen
        tree = screen.query_one("#modules", ModuleTree)
        sources = [str(node.label) for node in tree.root.children]
        assert any(s.startswith(orders["connection"]) for s in sources), sources
        node = screen.nodes[orders["name"]]
        label = str(node.label)
        assert label.startswith("✔ ") and "success" in label and "20 rows" in label, label
        await pilot.press("G")
        assert tree.cursor_line == tree.last_line
        await pilot.press("g")
        assert tree.cursor_line == 0
        await pilot.press("j")
        assert tree.cursor_line == 1
        await pilot.press("k")
        assert tree.cursor_line == 0
        # search narrows the tree to matching modules
        await pilot.press("slash", *orders["name"])
        await until(pilot, lambda: list(screen.nodes) == [orders["name"]], "filtered tree")
        await pilot.press("escape")
        assert len(screen.nodes) >= 1 and not screen.query_one("#search", Input).display

    drive(tui_app(server), scenario)


def test_module_detail_shows_the_column_mapping_and_sql_in_the_viewer(
    server: Server, orders: dict[str, str]
) -> None:
    async def scenario(pilot: Any) -> None:
        screen = await open_module(pilot, orders["name"])
        info = text_of(screen.query_one("#module-info", Static))
        assert "incremental" in info and "dcord" in info and "updated_at" in info, info
        assert f"pipekit_staging.{orders['name']}" in info, info
        table = screen.query_one("#columns", DataTable)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert ["DCORD#", "dcord", ""] in rows and ["dcotyp", "dcotyp", "yes"] in rows, rows
        # q: the next source SQL, with the watermark WHERE on the source column
        await pilot.press("q")
        sql = await viewer_text(pilot, "next SQL")
        assert "WHERE" in sql.text and '"updated_at" >' in sql.text, sql.text
        assert sql.read_only
        await pilot.press("escape")
        await pilot.press("m")
        merge = await viewer_text(pilot, "merge SQL")
        assert orders["dest"].split(".")[1] in merge.text
        await pilot.press("escape", "b")
        base = (await viewer_text(pilot, "base query")).text
        assert '"DCORD#" AS dcord' in base and "WHERE" not in base, base

    drive(tui_app(server), scenario)


def test_run_shows_the_live_log_until_success(
    server: Server, api: httpx.Client, orders: dict[str, str]
) -> None:
    with psycopg.connect(orders_url(api, orders), autocommit=True) as conn:
        conn.execute(f"INSERT INTO {orders['table']} VALUES (1000, 'new', TIMESTAMP '2027-01-01')")

    async def scenario(pilot: Any) -> None:
        await open_module(pilot, orders["name"])
        await pilot.press("r")
        run: RunScreen = await showing(pilot, RunScreen, "run screen")
        await until(pilot, lambda: run.finished, "the run's end", timeout=60)
        assert run.final is not None and run.final.status == "success", run.final
        assert run.final.rows_read == 1
        log = "\n".join(str(line.text) for line in run.query_one("#log", RichLog).lines)
        assert "finished: success" in log and "staged 1 rows" in log, log
        assert "success" in text_of(run.query_one("#summary", Static))

    drive(tui_app(server), scenario)


def orders_url(api: httpx.Client, orders: dict[str, str]) -> str:
    return api.get(f"/api/connections/{orders['connection']}").json()["url"]


def test_cancel_a_long_run_leaves_the_destination_unchanged(
    server: Server, api: httpx.Client, pg_url: str
) -> None:
    from tests.helpers import add_module

    name = add_module(api, pg_url, "SELECT g AS id, 'v' || g AS v FROM generate_series(1, 5) g")
    first = api.post(f"/api/modules/{name}/run").json()["run_id"]
    assert wait_done(api, first)["status"] == "success"
    before = pg_rows(pg_url, f"public.{name}")
    r = api.put(f"/api/modules/{name}", json={"source_query": slow_query(200, 0.2)})
    assert r.status_code == 200, r.text

    async def scenario(pilot: Any) -> None:
        app = pilot.app
        await until(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.loaded, "tree")
        await pilot.press("slash", *name, "enter")
        await until(pilot, lambda: app.screen.selected_module() == name, "module selected")
        await pilot.press("r")
        run: RunScreen = await showing(pilot, RunScreen, "run screen")
        await until(pilot, lambda: run.lines >= 2, "the live log")
        await pilot.press("x")
        await showing(pilot, ConfirmScreen, "confirmation")
        await pilot.press("y")
        await until(pilot, lambda: run.finished, "the cancelled run's end", timeout=60)
        assert run.final is not None and run.final.status == "cancelled", run.final

    drive(tui_app(server), scenario)
    assert pg_rows(pg_url, f"public.{name}") == before


def test_unlock_frees_a_module_held_by_a_run(
    server: Server, api: httpx.Client, pg_url: str
) -> None:
    from tests.helpers import add_module, wait_live

    name = add_module(api, pg_url, slow_query(3000, 0.01))
    run_id = api.post(f"/api/modules/{name}/run").json()["run_id"]
    wait_live(api, run_id, "staging")

    async def scenario(pilot: Any) -> None:
        screen = await open_module(pilot, name)
        assert screen.module is not None and screen.module.running
        await pilot.press("u")
        confirm = await showing(pilot, ConfirmScreen, "confirmation")
        assert f"held by run {run_id}" in text_of(confirm.query_one("#question"))
        await pilot.press("y")
        message = screen.query_one("#module-message", Static)
        await until(pilot, lambda: "unlocked" in text_of(message), "the unlock's message")
        assert f"held by run {run_id}" in text_of(message)
        freed = lambda: screen.module is not None and not screen.module.running  # noqa: E731
        await until(pilot, freed, "the module reloaded, not running")
        await pilot.press("u")  # not locked any more: said, nothing asked
        await until(pilot, lambda: "not locked" in text_of(message), "nothing to unlock")
        assert isinstance(pilot.app.screen, ModuleScreen)

    drive(tui_app(server), scenario)
    done = wait_done(api, run_id)
    assert done["status"] == "error" and "interrupted" in done["error"], done


def test_a_connector_module_shows_its_source_table(
    server: Server, api: httpx.Client, tmp_path: Any
) -> None:
    from tests.helpers import unique_name

    tag = unique_name("t")
    options = {"tables": {"orders": {"path": "/orders", "records": "data"}}}
    r = api.post(
        "/api/connections",
        json={"name": f"{tag}-api", "url": "rest+https://api.example.com/v1", "options": options},
    )
    assert r.status_code == 201, r.text
    wh = f"sqlite:///{tmp_path / 'wh.db'}"
    assert api.post("/api/connections", json={"name": f"{tag}-wh", "url": wh}).status_code == 201
    name = f"{tag}_orders"
    body = {"name": name, "source": f"{tag}-api", "dest": f"{tag}-wh", "dest_table": "orders"}
    r = api.post("/api/modules", json={**body, "source_table": "orders"})
    assert r.status_code == 201, r.text

    async def scenario(pilot: Any) -> None:
        screen = await open_module(pilot, name)
        info = text_of(screen.query_one("#module-info", Static))
        assert "source table  orders" in info, info

    drive(tui_app(server), scenario)


def test_settings_refuse_a_bad_value_and_save_a_good_one(
    server: Server, api: httpx.Client, orders: dict[str, str]
) -> None:
    name = orders["name"]

    async def scenario(pilot: Any) -> None:
        app = pilot.app
        await open_module(pilot, name)
        await pilot.press("s")
        form: SettingsScreen = await showing(pilot, SettingsScreen, "settings")
        await until(pilot, lambda: form.module is not None, "settings loaded")
        box = form.query_one("#dest_table", Input)
        box.focus()
        box.value = ""
        await pilot.press(*"a.b.c.d")
        await pilot.press("ctrl+s")
        errors = form.query_one("#form-errors", Static)
        await until(pilot, lambda: "not saved" in text_of(errors), "the refusal")
        assert "dest_table" in text_of(errors), text_of(errors)
        assert box.has_class("invalid")
        assert isinstance(app.screen, SettingsScreen)
        box.value = ""
        await pilot.press(*"public.renamed_dest", "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ModuleScreen), "saved and back")

    drive(tui_app(server), scenario)
    assert api.get(f"/api/modules/{name}").json()["dest_table"] == "public.renamed_dest"
    api.put(f"/api/modules/{name}", json={"dest_table": orders["dest"]})


def test_edit_base_query_shows_the_refusal_then_saves(
    server: Server, api: httpx.Client, orders: dict[str, str]
) -> None:
    name = orders["name"]
    before = api.get(f"/api/modules/{name}").json()["source_query"]
    good = before.replace('"updated_at" AS updated_at', '"updated_at" AS updated_at, 1 AS one')

    async def scenario(pilot: Any) -> None:
        screen = await open_module(pilot, name)
        await pilot.press("e")
        (await viewer_text(pilot, "the editor")).text = "SELEC nonsense FROM"
        await pilot.press("ctrl+s")
        message = screen.query_one("#module-message", Static)
        await until(pilot, lambda: "not saved" in text_of(message), "the refusal")
        assert "source_query" in text_of(message), text_of(message)
        # e again offers the refused text, to go on editing it
        await pilot.press("e")
        area = await viewer_text(pilot, "the editor again")
        assert area.text == "SELEC nonsense FROM"
        area.text = good
        await pilot.press("ctrl+s")
        await until(pilot, lambda: text_of(message).split()[-1] == "saved", "saved")

    drive(tui_app(server), scenario)
    assert api.get(f"/api/modules/{name}").json()["source_query"] == good
    api.put(f"/api/modules/{name}", json={"source_query": before})


@pytest.mark.parametrize("problem", ["unreachable", "wrong password"])
def test_unreachable_server_or_wrong_password_is_a_clear_message(
    own_server: Server, problem: str
) -> None:
    server = own_server
    if problem == "unreachable":
        app = tui_app(server, url=f"http://127.0.0.1:{free_port()}")
        expected = "cannot reach the Pipekit server"
    else:
        app = tui_app(server, password="not-the-password")
        expected = "refused the user name or password"

    async def scenario(pilot: Any) -> None:
        status = pilot.app.screen.query_one("#status", Static)
        await until(pilot, lambda: expected in text_of(status), "the message")
        # the screen stays usable: F5 tries again, other screens open and close
        await pilot.press("f5", "L")
        await pilot.pause(0.2)
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, MainScreen)
        assert "F5" in text_of(status)

    drive(app, scenario)
