"""The options of `pipekit modules add` and `edit`: one per module setting, built from
the settings table (``pipekit.module_settings``), so a new setting is an option here
without an edit.

SQL settings also get a ``--<flag>-file PATH`` option (``-`` reads standard input).
On `add` an option's default is the setting's default; on `edit` every option
defaults to "not given", and ``""`` clears a setting the table marks clearable.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import typer
from typer.models import OptionInfo

from pipekit.module_settings import CLEARABLE, FLAGS, SETTINGS, SettingInfo

F = TypeVar("F", bound=Callable[..., Any])

_FILE = "_file"


def _file_flag(s: SettingInfo) -> str:
    return f"{s.spec.flag}-file"


def _params(s: SettingInfo, *, edit: bool) -> list[inspect.Parameter]:
    kw = inspect.Parameter.KEYWORD_ONLY
    help_text = s.spec.help
    if edit and s.spec.clearable:
        help_text += ' "" clears it.'
    if not edit and s.spec.required:
        # not typer-required: the validator names every missing setting at once
        alternative = f" or {_file_flag(s)}" if s.kind == "sql" else ""
        help_text += f" (required{alternative})"
    if s.kind == "bool":
        decls = f"{s.spec.flag}/{s.spec.negative_flag}"
        default = None if edit else bool(s.default)
        annotation: Any = bool | None if edit else bool
        option = typer.Option(default, decls, help=help_text)
        return [inspect.Parameter(s.name, kw, default=option, annotation=annotation)]
    default = None if edit else s.default
    option = typer.Option(default, s.spec.flag, help=help_text, show_default=default is not None)
    params = [inspect.Parameter(s.name, kw, default=option, annotation=str | None)]
    if s.kind == "sql":
        file_option = typer.Option(
            None, _file_flag(s), help=f"Read {s.name} from a file ('-': standard input)."
        )
        params.append(
            inspect.Parameter(s.name + _FILE, kw, default=file_option, annotation=Path | None)
        )
    return params


def setting_options(*, edit: bool) -> Callable[[F], F]:
    """Give the command one option per setting; it receives them in its ``**given``."""

    def decorate(func: F) -> F:
        sig = inspect.signature(func)
        own = [p for p in sig.parameters.values() if p.kind != inspect.Parameter.VAR_KEYWORD]
        added = [p for s in SETTINGS for p in _params(s, edit=edit)]
        # arguments, then the settings in table order, then the command's own options
        leading = [p for p in own if not isinstance(p.default, OptionInfo)]
        kw = inspect.Parameter.KEYWORD_ONLY
        options = [p.replace(kind=kw) for p in own if isinstance(p.default, OptionInfo)]
        params = [*leading, *added, *options]
        func.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        func.__annotations__ = {
            **func.__annotations__,
            **{p.name: p.annotation for p in added},
        }
        return func

    return decorate


def given_settings(given: Mapping[str, Any], *, edit: bool) -> dict[str, Any]:
    """The settings the options gave: SQL read from its file, options left out dropped.

    On `edit`, ``""`` clears a clearable setting (None) and is refused for the others;
    on `add` it leaves a clearable setting out and passes the rest to the validator.
    """
    from pipekit.cli._parts import read_sql
    from pipekit.errors import InvalidError

    values: dict[str, Any] = {}
    for s in SETTINGS:
        value = given.get(s.name)
        if s.kind == "sql" and not (value == "" and s.spec.clearable):
            value = read_sql(
                value,
                given.get(s.name + _FILE),
                what=s.name.replace("_", " "),
                text_opt=s.spec.flag,
                file_opt=_file_flag(s),
                required=False,
            )
        if value is None:
            continue
        if value == "" and edit:
            if s.name not in CLEARABLE:
                clearable = ", ".join(FLAGS[k] for k in CLEARABLE)
                raise InvalidError(
                    f"{s.spec.flag} cannot be cleared; give a value "
                    f'(only {clearable} can be cleared with "")',
                    path=s.name,
                )
            value = None
        elif value == "" and s.name in CLEARABLE:
            continue  # a new module leaves an optional setting out
        values[s.name] = value
    return values
