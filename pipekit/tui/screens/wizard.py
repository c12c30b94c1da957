"""The new-module wizard: pick the source and destination connections, load a
schema's tables, narrow them with the search box, pick one to have the server
propose a module (query with safe aliases and RTRIM, strategy, key, watermark),
edit the proposal and save it. Refusals list each problem by field."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Select,
    Static,
    TextArea,
)

from pipekit.client import Connection, Module, Proposal, Tables
from pipekit.errors import PipekitError
from pipekit.tui.screens._base import AppScreen
from pipekit.tui.screens._form import (
    chosen_strategy,
    clear_problems,
    options,
    show_problems,
    strategy_set,
)

#: API field -> the id of the wizard's widget that edits it
FIELDS = {
    "name": "w-name",
    "source": "w-source",
    "dest": "w-dest",
    "dest_table": "w-dest-table",
    "source_query": "w-query",
    "merge_strategy": "w-strategy",
    "merge_key": "w-merge-key",
    "watermark_column": "w-watermark",
}


class WizardScreen(AppScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[str] = []
        self.schema: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="wizard"):
            yield Static(Text("new module", style="bold"))
            with Horizontal(classes="pair"):
                yield Select[str]([], prompt="source connection", id="w-source")
                yield Select[str]([], prompt="destination connection", id="w-dest")
            with Horizontal(classes="pair"):
                yield Input(placeholder="schema (blank: the default)", id="w-schema")
                yield Button("Load tables", id="w-load")
            yield Input(placeholder="search tables", id="w-search")
            table: DataTable[str] = DataTable(id="w-tables", cursor_type="row")
            table.add_columns("table")
            yield table
            yield Static("", id="w-reason")
            yield Label("module name")
            yield Input(id="w-name")
            yield Label("destination table (schema.table)")
            yield Input(id="w-dest-table")
            yield Label("merge strategy")
            yield strategy_set("full", "w-strategy")
            with Horizontal(classes="pair"):
                yield Input(placeholder="merge key (destination column)", id="w-merge-key")
                yield Input(placeholder="watermark column", id="w-watermark")
            yield Label("source query")
            yield TextArea("", id="w-query", show_line_numbers=False)
            yield Button("Save module (ctrl+s)", id="w-save", variant="primary")
            yield Static("", id="w-errors")
        yield Footer()

    def on_mount(self) -> None:
        self.pk.call(self.api.connections, self.fill_connections)

    def fill_connections(self, connections: list[Connection]) -> None:
        names = [c.name for c in connections]
        for select_id in ("#w-source", "#w-dest"):
            self.query_one(select_id, Select).set_options(options(names))

    def _select(self, widget_id: str) -> str | None:
        value = self.query_one(f"#{widget_id}", Select).value
        return value if isinstance(value, str) else None

    # -- browsing ------------------------------------------------------------------------

    @on(Button.Pressed, "#w-load")
    def _load_pressed(self) -> None:
        self.load_tables()

    @on(Input.Submitted, "#w-schema")
    def _schema_submitted(self) -> None:
        self.load_tables()

    def load_tables(self) -> None:
        source = self._select("w-source")
        if source is None:
            self.notify("pick the source connection first", severity="warning")
            return
        schema = self.query_one("#w-schema", Input).value.strip() or None
        api = self.api
        self.pk.call(lambda: api.tables(source, schema), self.show_tables)

    def show_tables(self, found: Tables) -> None:
        self.schema = found.schema
        self.tables = list(found.tables)
        self.filter_tables()

    @on(Input.Changed, "#w-search")
    def filter_tables(self) -> None:
        needle = self.query_one("#w-search", Input).value.strip().lower()
        table = self.query_one("#w-tables", DataTable)
        table.clear()
        for name in self.tables:
            if needle in name.lower():
                table.add_row(name, key=name)

    @on(DataTable.RowSelected, "#w-tables")
    def _table_picked(self, event: DataTable.RowSelected) -> None:
        source = self._select("w-source")
        if source is None:
            return
        name = str(event.row_key.value)
        qualified = f"{self.schema}.{name}" if self.schema else name
        api, dest = self.api, self._select("w-dest")
        self.query_one("#w-reason", Static).update(f"proposing a module for {qualified}...")
        self.pk.call(lambda: api.propose(source, qualified, dest=dest), self.fill_proposal)

    def fill_proposal(self, p: Proposal) -> None:
        self.query_one("#w-reason", Static).update(Text(p.reason, style="italic"))
        self.query_one("#w-name", Input).value = p.source_table.split(".")[-1]
        self.query_one("#w-dest-table", Input).value = p.dest_table
        self.query_one(f"#w-strategy-{p.merge_strategy}", RadioButton).value = True
        self.query_one("#w-merge-key", Input).value = p.merge_key or ""
        self.query_one("#w-watermark", Input).value = p.watermark_column or ""
        self.query_one("#w-query", TextArea).text = p.source_query

    # -- saving --------------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        def text(widget_id: str) -> str | None:
            return self.query_one(f"#{widget_id}", Input).value.strip() or None

        return {
            "source": self._select("w-source"),
            "dest": self._select("w-dest"),
            "dest_table": text("w-dest-table"),
            "source_query": self.query_one("#w-query", TextArea).text.strip() or None,
            "merge_strategy": chosen_strategy(self.query_one("#w-strategy", RadioSet)),
            "merge_key": text("w-merge-key"),
            "watermark_column": text("w-watermark"),
        }

    @on(Button.Pressed, "#w-save")
    def _save_pressed(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        name = self.query_one("#w-name", Input).value.strip()
        fields = {k: v for k, v in self.values().items() if v is not None}
        form = self.query_one("#wizard", VerticalScroll)
        box = self.query_one("#w-errors", Static)
        api = self.api

        def saved(m: Module) -> None:
            clear_problems(box, form)
            self.notify(f"module {m.name} saved")
            self.app.pop_screen()

        def refused(exc: PipekitError) -> None:
            show_problems(box, form, exc, FIELDS)

        self.pk.call(lambda: api.add_module(name, **fields), saved, failed=refused)

    def action_back(self) -> None:
        self.app.pop_screen()
