"""What the settings form and the wizard share: strategy radio buttons, select
options, and showing a refused save's problems next to their fields."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.widget import Widget
from textual.widgets import RadioButton, RadioSet, Static

from pipekit.errors import PipekitError

#: the merge strategies, in the order the form lists them
STRATEGIES = ("full", "incremental", "append", "upsert")


def strategy_set(current: str | None, id: str) -> RadioSet:
    return RadioSet(
        *(RadioButton(s, value=s == current, id=f"{id}-{s}") for s in STRATEGIES), id=id
    )


def chosen_strategy(radios: RadioSet) -> str | None:
    button = radios.pressed_button
    return str(button.label) if button is not None else None


def options(values: Iterable[str], current: str | None = None) -> list[tuple[str, str]]:
    """Select options for `values`, with `current` kept even when it is not among them."""
    out = list(dict.fromkeys(values))
    if current and current not in out:
        out.insert(0, current)
    return [(v, v) for v in out]


def show_problems(box: Static, form: Widget, exc: PipekitError, fields: dict[str, str]) -> None:
    """`exc`'s problems in `box`, and the fields they concern marked (`fields`: path ->
    widget id)."""
    for widget in form.query(".invalid"):
        widget.remove_class("invalid")
    text = Text("not saved:\n", style="bold red")
    for problem in exc.problems:
        text.append(f"  {problem}\n", style="red")
        widget_id = fields.get(problem.path.split(".")[0])
        if widget_id:
            for widget in form.query(f"#{widget_id}"):
                widget.add_class("invalid")
    box.update(text)


def clear_problems(box: Static, form: Widget) -> None:
    for widget in form.query(".invalid"):
        widget.remove_class("invalid")
    box.update("")
