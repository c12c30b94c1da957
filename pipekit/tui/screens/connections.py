"""Connections: every connection with its URL and user; `t` tests the selected one
(connects and asks the server's version)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from pipekit.client import Connection, Probe
from pipekit.tui.format import yes_no
from pipekit.tui.screens._base import AppScreen


class ConnectionsScreen(AppScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "test", "Test"),
        Binding("f5", "refresh", "Refresh"),
        Binding("escape", "back", "Back"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("connections", style="bold"))
        table: DataTable[str] = DataTable(id="connections", cursor_type="row", zebra_stripes=True)
        table.add_columns("name", "url", "user", "deletes")
        yield table
        yield Static("", id="probe")
        yield Footer()

    def on_mount(self) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        self.pk.call(self.api.connections, self.show)

    def show(self, connections: list[Connection]) -> None:
        table = self.query_one("#connections", DataTable)
        table.clear()
        for c in connections:
            table.add_row(c.name, c.url, c.user or "-", yes_no(c.supports_deletes), key=c.name)

    def action_test(self) -> None:
        table = self.query_one("#connections", DataTable)
        if table.row_count == 0:
            return
        name = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        self.query_one("#probe", Static).update(f"testing {name}...")

        def tested(p: Probe) -> None:
            if p.ok:
                text = Text(f"{name}: ok, {p.kind} {p.server_version} ({p.latency_ms or 0:.0f} ms)")
                text.stylize("green")
            else:
                text = Text(f"{name}: {p.error}", style="bold red")
            self.query_one("#probe", Static).update(text)

        api = self.api
        self.pk.call(lambda: api.test_connection(name), tested)

    def action_back(self) -> None:
        self.app.pop_screen()
