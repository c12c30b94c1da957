"""Module detail: the module's settings at a glance and its column table. No SQL on
screen: each kind opens in ``$EDITOR`` (read-only, except the base query under `e`)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from pipekit.client import Hook, Mapping, Module, Preview, Unlock
from pipekit.errors import PipekitError
from pipekit.tui.format import when, yes_no
from pipekit.tui.screens._base import AppScreen


class ModuleScreen(AppScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "next_sql", "Next SQL"),
        Binding("m", "merge_sql", "Merge SQL"),
        Binding("h", "hooks", "Hooks"),
        Binding("b", "base_query", "Base query"),
        Binding("e", "edit_query", "Edit query"),
        Binding("s", "settings", "Settings"),
        Binding("r", "run", "Run"),
        Binding("l", "history", "History"),
        Binding("u", "unlock", "Unlock"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.module_name = name
        self.module: Module | None = None
        #: the query last refused by the server, offered again by `e`
        self.draft: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"module {self.module_name}", id="module-info")
        yield Static("columns: source column -> destination alias", id="columns-title")
        table: DataTable[str] = DataTable(id="columns", cursor_type="row", zebra_stripes=True)
        table.add_columns("source column", "destination alias", "RTRIM")
        yield table
        yield Static("", id="module-message")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def on_screen_resume(self) -> None:
        if self.module is not None:
            self.load()

    @property
    def key(self) -> str | int:
        """The module's id once known: it stays the same when the module is renamed."""
        return self.module.id if self.module is not None else self.module_name

    def load(self) -> None:
        api, name = self.api, self.key
        self.pk.call(lambda: (api.module(name), api.mapping(name)), self.show)

    def show(self, loaded: tuple[Module, Mapping]) -> None:
        m, mapping = loaded
        self.module = m
        self.module_name = m.name
        now, tz = self.pk.now(), self.pk.tz
        pairs = [
            ("strategy", m.merge_strategy),
            ("merge key", m.merge_key or "-"),
            ("watermark", m.watermark_column or "-"),
            ("source", m.source or "-"),
            *([("source table", m.source_table)] if m.source_table else []),
            ("dest table", f"{m.dest or '-'}: {m.dest_table or '-'}"),
            ("staging table", mapping.staging_table or "-"),
            ("enabled", yes_no(m.enabled)),
            ("running", yes_no(m.running)),
            ("updated", when(m.updated_at, now, tz)),
        ]
        info = Text.assemble((m.name, "bold"))
        for label, value in pairs:
            info.append(f"\n{label:>14}  ", style="dim")
            info.append(value)
        self.query_one("#module-info", Static).update(info)
        table = self.query_one("#columns", DataTable)
        table.clear()
        for c in mapping.columns:
            table.add_row(c.source or c.expression, c.dest, "yes" if c.trimmed else "")

    def say(self, text: str, style: str = "") -> None:
        self.query_one("#module-message", Static).update(Text(text, style=style))

    # -- SQL in the editor ----------------------------------------------------------

    def _preview_then(self, pick: str) -> None:
        api, key, name = self.api, self.key, self.module_name

        def opened(p: Preview) -> None:
            if p.error:
                self.say(f"the next run cannot be planned: {p.error}", "bold red")
                return
            sql = p.source_query if pick == "source" else p.merge_sql
            what = "next source SQL" if pick == "source" else "merge SQL"
            self.pk.open_sql(f"{name} {what}", sql or f"-- no {what}")

        self.say("planning the next run...")
        self.pk.call(lambda: api.preview(key), opened)

    def action_next_sql(self) -> None:
        self._preview_then("source")

    def action_merge_sql(self) -> None:
        self._preview_then("merge")

    def action_hooks(self) -> None:
        api, key, name = self.api, self.key, self.module_name

        def opened(hooks: list[Hook]) -> None:
            parts = [
                f"-- hook {h.id}: runs on {h.run_on} (order {h.run_order})\n{h.sql};" for h in hooks
            ]
            self.pk.open_sql(f"{name} hooks", "\n\n".join(parts) or "-- no hooks")

        self.pk.call(lambda: api.hooks(key), opened)

    def action_base_query(self) -> None:
        if self.module is not None:
            self.pk.open_sql(f"{self.module_name} base query", self.module.source_query or "")

    def action_edit_query(self) -> None:
        if self.module is None:
            return
        text = self.draft if self.draft is not None else self.module.source_query or ""
        self.pk.open_sql(
            f"{self.module_name} base query", text, writable=True, saved=self.save_query
        )

    def save_query(self, sql: str) -> None:
        api, key = self.api, self.key

        def saved(m: Module) -> None:
            self.draft = None
            self.say("base query saved", "green")
            self.load()

        def refused(exc: PipekitError) -> None:
            self.draft = sql
            self.say(f"not saved: {exc}\n(press e to go on editing your text)", "bold red")
            self.pk.show_error(exc)

        self.pk.call(lambda: api.update_module(key, source_query=sql), saved, failed=refused)

    # -- other screens --------------------------------------------------------------

    def action_settings(self) -> None:
        from pipekit.tui.screens.settings import SettingsScreen

        self.app.push_screen(SettingsScreen(self.module_name))

    def action_run(self) -> None:
        from pipekit.tui.screens.run import start_run

        start_run(self.pk, self.module_name)

    def action_history(self) -> None:
        from pipekit.tui.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen(self.module_name))

    def action_unlock(self) -> None:
        """Free a lock a crashed run left behind (admin; the server refuses others)."""
        from pipekit.tui.screens.dialogs import ConfirmScreen

        m = self.module
        if m is None or not m.running:
            self.say(f"{self.module_name} is not locked: nothing to unlock")
            return
        api, key = self.api, self.key
        held = f"run {m.locked_by_run_id}" if m.locked_by_run_id is not None else "no run"

        def unlocked(done: Unlock) -> None:
            self.say(done.message, "yellow")
            self.load()

        def answered(yes: bool | None) -> None:
            if yes:
                self.pk.call(lambda: api.unlock_module(key), unlocked)

        self.app.push_screen(
            ConfirmScreen(
                f"Unlock {m.name}, held by {held}? Only for a lock no live run holds: "
                "that run ends and is not retried."
            ),
            answered,
        )

    def action_back(self) -> None:
        self.app.pop_screen()
