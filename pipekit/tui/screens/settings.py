"""Module settings as a form: name, connections, destination table, merge strategy,
merge key and watermark column (chosen among the query's destination columns),
enabled. The source query is not here: `e` on the detail screen edits it.

Saving sends only the fields that changed; the server judges them, and a refusal
lists each problem with the field it concerns marked."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import (
    Button,
    Footer,
    Header,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Select,
    Static,
    Switch,
)

from pipekit.client import Connection, Mapping, Module
from pipekit.errors import PipekitError
from pipekit.tui.screens._base import AppScreen
from pipekit.tui.screens._form import (
    chosen_strategy,
    clear_problems,
    options,
    show_problems,
    strategy_set,
)

#: API field -> the id of the widget that edits it
FIELDS = {
    "name": "name",
    "source": "source",
    "dest": "dest",
    "dest_table": "dest_table",
    "merge_strategy": "merge_strategy",
    "merge_key": "merge_key",
    "watermark_column": "watermark_column",
    "enabled": "enabled",
}


class SettingsScreen(AppScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.module_name = name
        self.module: Module | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="settings-form"):
            yield Static(Text(f"settings of {self.module_name}", style="bold"))
            yield Label("name")
            yield Input(id="name")
            with Horizontal(classes="pair"):
                yield Select[str]([], prompt="source connection", id="source")
                yield Select[str]([], prompt="destination connection", id="dest")
            yield Label("destination table (schema.table)")
            yield Input(id="dest_table")
            yield Label("merge strategy")
            yield strategy_set(None, "merge_strategy")
            with Horizontal(classes="pair"):
                yield Select[str]([], prompt="merge key", id="merge_key")
                yield Select[str]([], prompt="watermark column", id="watermark_column")
            with Horizontal(classes="pair"):
                yield Label("enabled")
                yield Switch(id="enabled")
            yield Button("Save (ctrl+s)", id="save", variant="primary")
            yield Static("", id="form-errors")
        yield Footer()

    def on_mount(self) -> None:
        api, name = self.api, self.module_name
        self.pk.call(lambda: (api.module(name), api.mapping(name), api.connections()), self.fill)

    def fill(self, loaded: tuple[Module, Mapping, list[Connection]]) -> None:
        m, mapping, connections = loaded
        self.module = m
        self.query_one("#name", Input).value = m.name
        names = [c.name for c in connections]
        for field in ("source", "dest"):
            select = self.query_one(f"#{field}", Select)
            current = getattr(m, field)
            select.set_options(options(names, current))
            if current:
                select.value = current
        self.query_one("#dest_table", Input).value = m.dest_table or ""
        self.query_one(f"#merge_strategy-{m.merge_strategy}", RadioButton).value = True
        columns = [c.dest for c in mapping.columns]
        for field in ("merge_key", "watermark_column"):
            select = self.query_one(f"#{field}", Select)
            current = getattr(m, field)
            select.set_options(options(columns, current))
            if current:
                select.value = current
        self.query_one("#enabled", Switch).value = m.enabled

    def values(self) -> dict[str, Any]:
        """The form's values, as the API names them (a blank select or input: null)."""

        def select(field: str) -> str | None:
            value = self.query_one(f"#{field}", Select).value
            return value if isinstance(value, str) else None

        return {
            "name": self.query_one("#name", Input).value.strip(),
            "source": select("source"),
            "dest": select("dest"),
            "dest_table": self.query_one("#dest_table", Input).value.strip() or None,
            "merge_strategy": chosen_strategy(self.query_one("#merge_strategy", RadioSet)),
            "merge_key": select("merge_key"),
            "watermark_column": select("watermark_column"),
            "enabled": self.query_one("#enabled", Switch).value,
        }

    def changes(self) -> dict[str, Any]:
        assert self.module is not None
        return {k: v for k, v in self.values().items() if v != getattr(self.module, k)}

    @on(Button.Pressed, "#save")
    def _pressed(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        if self.module is None:
            return
        changes = self.changes()
        form = self.query_one("#settings-form", VerticalScroll)
        box = self.query_one("#form-errors", Static)
        if not changes:
            box.update(Text("nothing changed", style="dim"))
            return
        api, name = self.api, self.module.name

        def saved(m: Module) -> None:
            clear_problems(box, form)
            self.notify(f"module {m.name} saved")
            self.app.pop_screen()

        def refused(exc: PipekitError) -> None:
            show_problems(box, form, exc, FIELDS)

        self.pk.call(lambda: api.update_module(name, **changes), saved, failed=refused)

    def action_back(self) -> None:
        self.app.pop_screen()
