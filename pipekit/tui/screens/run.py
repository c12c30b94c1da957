"""The run screen: a run's live log as the server streams it, its rows and rows/s,
cancel (`x`, confirmed) and the final summary."""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Header, RichLog, Static

from pipekit.client import Cancel, LogLine, Run, RunEnded, RunStream
from pipekit.errors import ModuleBusyError, PipekitError
from pipekit.run_counters import COUNTERS
from pipekit.tui.format import STATUS_STYLE, rows, seconds
from pipekit.tui.screens._base import AppScreen
from pipekit.tui.screens.dialogs import ConfirmScreen

if TYPE_CHECKING:
    from pipekit.tui.app import PipekitApp

#: the progress lines of the live log: "... 12,000 rows so far (3,400 rows/s)",
#: "staged 100 rows (2,249 rows/s)"
PROGRESS = re.compile(r"([\d,]+) rows(?: so far)? \(([\d,]+) rows/s\)")


def start_run(app: PipekitApp, module: str) -> None:
    """Start a run of `module` and show it; a module already running shows that run."""
    api = app.api

    def refused(exc: PipekitError) -> None:
        if isinstance(exc, ModuleBusyError) and exc.run_id is not None:
            app.notify(f"{module} is already running: showing run {exc.run_id}")
            app.push_screen(RunScreen(exc.run_id, module))
        else:
            app.show_error(exc)

    app.call(
        lambda: api.start_run(module),
        lambda run_id: app.push_screen(RunScreen(run_id, module)),
        failed=refused,
    )


class RunScreen(AppScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "cancel_run", "Cancel run"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, run_id: int, module: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.module_name = module
        self.stream: RunStream | None = None
        self.final: Run | None = None
        self.lines = 0
        self._stopped = threading.Event()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(
            Text.assemble(("run ", "dim"), (str(self.run_id), "bold"), (" of module ", "dim"))
            + Text(self.module_name, style="bold"),
            id="run-head",
        )
        yield RichLog(id="log", wrap=True, markup=False, highlight=False)
        yield Static("rows: -", id="run-stats")
        yield Static("running... (x cancels, esc goes back; the run goes on)", id="summary")
        yield Footer()

    def on_mount(self) -> None:
        self.stream = self.api.stream_run(self.run_id)
        self.run_worker(self._follow, thread=True, group="stream", exit_on_error=False)

    def on_unmount(self) -> None:
        self._stopped.set()
        if self.stream is not None:
            self.stream.close()

    def _follow(self) -> None:
        assert self.stream is not None
        try:
            for event in self.stream:
                if self._stopped.is_set():
                    return
                if isinstance(event, LogLine):
                    self.app.call_from_thread(self.add_line, event.text)
                elif isinstance(event, RunEnded):
                    self.app.call_from_thread(self.finish, event.run)
        except PipekitError as exc:
            if not self._stopped.is_set():
                self.app.call_from_thread(self.pk.show_error, exc)

    def add_line(self, line: str) -> None:
        self.lines += 1
        self.query_one("#log", RichLog).write(line)
        if found := PROGRESS.search(line):
            self.query_one("#run-stats", Static).update(
                f"rows: {found.group(1)}   rows/s: {found.group(2)}"
            )

    def finish(self, run: Run) -> None:
        self.final = run
        style = STATUS_STYLE.get(run.status, "")
        summary = Text.assemble(
            ("finished: ", "dim"),
            (run.status, f"bold {style}"),
            f" in {seconds(run.seconds)}, {rows(run.rows_read)} rows read, ",
            f"{rows(run.row_count)} rows in the destination",
        )
        if run.error:
            summary.append(f"\n{run.error}", style="bold red")
        self.query_one("#summary", Static).update(summary)
        self.query_one("#run-stats", Static).update(
            "   ".join(f"{c.word}: {rows(getattr(run, c.field))}" for c in COUNTERS)
        )

    @property
    def finished(self) -> bool:
        return self.final is not None

    def action_cancel_run(self) -> None:
        if self.final is not None:
            self.notify(f"run {self.run_id} has ended ({self.final.status})")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.pk.call(lambda: self.api.cancel_run(self.run_id), self._cancel_asked)

        self.app.push_screen(
            ConfirmScreen(f"Cancel run {self.run_id} of {self.module_name}?"), answered
        )

    def _cancel_asked(self, answer: Cancel) -> None:
        self.query_one("#summary", Static).update(
            Text("cancel requested: the run stops and the destination stays as it was", "yellow")
        )

    def action_back(self) -> None:
        self.app.pop_screen()
