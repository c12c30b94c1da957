"""Run history of one module (`l`) or of all (`L`): status, rows, timing and error,
with the selected run's source SQL and merge SQL in separate panels; `v` opens
them in ``$EDITOR``."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static

from pipekit.client import Run
from pipekit.tui.format import STATUS_STYLE, rows, seconds, when
from pipekit.tui.screens._base import AppScreen

#: how many runs the screen lists
LIMIT = 200


class HistoryScreen(AppScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "view_sql", "View SQL"),
        Binding("f5", "refresh", "Refresh"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, module: str | None) -> None:
        super().__init__()
        self.module_name = module
        self.runs: dict[str, Run] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        what = f"runs of module {self.module_name}" if self.module_name else "all runs"
        yield Static(Text(what, style="bold"), id="history-title")
        table: DataTable[str | Text] = DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        table.add_columns("run", "module", "status", "started", "time", "rows", "error")
        yield table
        yield Static("", id="run-error")
        with Horizontal(id="sql-panels"):
            with VerticalScroll(classes="sql-panel"):
                yield Static("source SQL", classes="panel-title")
                yield Static("", id="source-sql")
            with VerticalScroll(classes="sql-panel"):
                yield Static("merge SQL", classes="panel-title")
                yield Static("", id="merge-sql")
        yield Footer()

    def on_mount(self) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        api, module = self.api, self.module_name
        self.pk.call(lambda: api.runs(module=module, limit=LIMIT), self.show)

    def show(self, runs: list[Run]) -> None:
        table = self.query_one("#runs", DataTable)
        table.clear()
        self.runs = {}
        now, tz = self.pk.now(), self.pk.tz
        for run in runs:
            key = str(run.id)
            self.runs[key] = run
            error = (run.error or "").splitlines()[0][:60] if run.error else ""
            table.add_row(
                str(run.id),
                run.module_name,
                Text(run.status, style=STATUS_STYLE.get(run.status, "")),
                when(run.started_at, now, tz),
                seconds(run.seconds),
                rows(run.row_count),
                Text(error, style="red"),
                key=key,
            )
        if not runs:
            self.query_one("#run-error", Static).update(Text("no runs yet", style="dim"))
        else:
            self.show_run(runs[0])

    @on(DataTable.RowHighlighted, "#runs")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        run = self.runs.get(str(event.row_key.value))
        if run is not None:
            self.show_run(run)

    def show_run(self, run: Run) -> None:
        self.query_one("#run-error", Static).update(
            Text(f"run {run.id}: {run.error}", style="bold red") if run.error else ""
        )
        self.query_one("#source-sql", Static).update(Text(run.source_query or "-"))
        self.query_one("#merge-sql", Static).update(Text(run.merge_sql or "-"))

    def selected(self) -> Run | None:
        table = self.query_one("#runs", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self.runs.get(str(key.value))

    def action_view_sql(self) -> None:
        run = self.selected()
        if run is None:
            return
        text = (
            f"-- run {run.id} of {run.module_name}: source SQL\n"
            f"{run.source_query or '-- none'};\n\n"
            f"-- merge SQL\n{run.merge_sql or '-- none'}\n"
        )
        self.pk.open_sql(f"run {run.id} SQL", text)

    def action_back(self) -> None:
        self.app.pop_screen()
