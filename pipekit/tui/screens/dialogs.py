"""Dialogs the screens share: a yes/no question and the in-app SQL viewer/editor
(used when there is no ``$EDITOR`` or the terminal cannot be handed over)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, TextArea


class ConfirmScreen(ModalScreen[bool]):
    """`question`, answered with `y` (True) or `n` / `esc` (False)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Label(self.question, id="question")
            yield Label("[b]y[/b] yes    [b]n[/b] no", id="answers")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class SqlScreen(ModalScreen[str | None]):
    """SQL shown read-only, or edited (`ctrl+s` saves, `esc` leaves it unchanged)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("ctrl+s", "save", "Save"),
    ]

    def __init__(self, title: str, text: str, *, writable: bool = False) -> None:
        super().__init__()
        self.sql_title = title
        self.text = text
        self.writable = writable

    def compose(self) -> ComposeResult:
        with Vertical(id="sql-dialog"):
            mode = "edit, ctrl+s saves" if self.writable else "read-only"
            yield Label(f"{self.sql_title} ({mode})", id="sql-title")
            yield TextArea(
                self.text, read_only=not self.writable, show_line_numbers=True, id="sql-text"
            )
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.writable if action == "save" else True

    def action_close(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        self.dismiss(self.query_one("#sql-text", TextArea).text)
