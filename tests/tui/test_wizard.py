"""The new-module wizard walked with the pilot against a real server: pick the
connections, load and search the tables, take the server's proposal, save; a
refused save names the field and creates nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import psycopg
from textual.widgets import DataTable, Input, Select, Static, TextArea

from pipekit.tui.screens.main import MainScreen
from pipekit.tui.screens.wizard import WizardScreen
from tests.helpers import Server, drive, showing, text_of, tui_app, until


def test_wizard_proposes_and_saves_a_module(server: Server, api: httpx.Client, pg_url: str) -> None:
    tag = uuid.uuid4().hex[:8]
    schema, table, conn = f"wiz_{tag}", f"items_{tag}", f"wiz_{tag}"
    with psycopg.connect(pg_url, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
        c.execute(f'CREATE TABLE {schema}.{table} (id int PRIMARY KEY, "NAME#" char(10))')
        c.execute(f"CREATE TABLE {schema}.other_{tag} (id int)")
    assert api.post("/api/connections", json={"name": conn, "url": pg_url}).status_code == 201
    name = table

    async def scenario(pilot: Any) -> None:
        app = pilot.app
        await until(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.loaded, "tree")
        await pilot.press("n")
        wizard: WizardScreen = await showing(pilot, WizardScreen, "the wizard")
        source = wizard.query_one("#w-source", Select)
        await until(pilot, lambda: (conn, conn) in source._options, "connections")
        source.value = conn
        wizard.query_one("#w-dest", Select).value = conn
        wizard.query_one("#w-schema", Input).focus()
        await pilot.press(*schema, "enter")
        tables = wizard.query_one("#w-tables", DataTable)
        await until(pilot, lambda: tables.row_count == 2, "the schema's tables")
        wizard.query_one("#w-search", Input).focus()
        await pilot.press(*"items")
        await until(pilot, lambda: tables.row_count == 1, "the search")
        # a save without a name is refused, naming the field
        tables.focus()
        await pilot.press("enter")
        query = wizard.query_one("#w-query", TextArea)
        await until(pilot, lambda: '"NAME#"' in query.text, "the proposal")
        assert wizard.query_one("#w-merge-key", Input).value == "id"
        assert 'RTRIM("NAME#") AS name' in query.text, query.text
        wizard.query_one("#w-name", Input).value = "9 bad name"
        await pilot.press("ctrl+s")
        errors = wizard.query_one("#w-errors", Static)
        await until(pilot, lambda: "not saved" in text_of(errors), "the refusal")
        assert "name" in text_of(errors) and wizard.query_one("#w-name").has_class("invalid")
        assert api.get(f"/api/modules/{name}").status_code == 404
        wizard.query_one("#w-name", Input).value = name
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), "saved and back")
        await until(pilot, lambda: name in app.screen.nodes, "the new module in the tree")

    drive(tui_app(server), scenario, size=(160, 60))
    saved = api.get(f"/api/modules/{name}").json()
    assert saved["source"] == conn and saved["merge_key"] == "id"
    proposal = api.get(f"/api/connections/{conn}/tables/{schema}.{table}/propose").json()
    assert saved["merge_strategy"] == proposal["merge_strategy"]
    assert saved["source_query"] == proposal["source_query"]
