"""Typer's parameter coercion, minus pydantic for the plain values commands get.

Typer 0.2x coerces every parameter value through a pydantic ``TypeAdapter``,
built the first time a parameter is processed, so any command with a
parameter imports pydantic (about 80 ms of a 10-row ``pipekit run``). Our
parameters are ``str``, ``int``, ``bool`` and ``Path``, and their values arrive
as plain strings or as their defaults. For those values ``PlainParam`` returns
what typer would, directly; every other value (a malformed or out-of-range
number, an empty path, another type) goes to typer's own coercion, built on
first use as before, so every result and every error message stays typer's.

This leans on typer internals (``_TyperParameter._runtime_param`` and the
``RuntimeParam`` contract); with a typer that lacks them ``install`` does
nothing and typer coerces as usual. ``tests/cli/test_startup.py`` checks the
results against typer's own and that plain commands do not import pydantic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

try:
    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_path
except ImportError:  # a typer without the pydantic layer: nothing to short-cut
    RuntimeParam = None  # type: ignore[assignment,misc]

__all__ = ["install"]

# Canonical decimal integers, which int() and pydantic read alike; anything else
# ("+5", "0x10", " 5", "1_000") is left to typer.
_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")

_SLOW = object()  # "not a plain value: ask typer"


def _plain(annotation: Any, info: Any, value: Any, param: Any, ctx: Any) -> Any:
    """`value` coerced as typer would, or ``_SLOW`` when typer has to decide."""
    if annotation is str:
        return value if type(value) is str else _SLOW
    if annotation is bool:
        return value if type(value) is bool else _SLOW
    if annotation is int:
        if type(value) is str and _INT.fullmatch(value):
            value = int(value)
        if type(value) is not int or info.clamp:
            return _SLOW
        in_range = (info.min is None or value >= info.min) and (
            info.max is None or value <= info.max
        )
        return value if in_range else _SLOW  # out of range: typer words the error
    if annotation is Path:
        if type(value) is not str or not value or "\0" in value:
            return _SLOW
        # What typer does after pydantic has turned the string into a Path: the
        # exists / file_okay / dir_okay / readable checks and their messages.
        return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
    return _SLOW


def _is_plain(param: Any) -> bool:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or getattr(param, "_runtime_param", False) is not None:
        return False
    info = descriptor.parameter_info
    if info.parser is not None or descriptor.file_annotation is not None:
        return False
    if descriptor.annotation is Path:
        return info.path_type is None  # path_type=str/bytes change the result type
    return descriptor.annotation in (str, int, bool)


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class PlainParam(RuntimeParam):
        """A ``RuntimeParam`` that answers plain values itself and the rest through typer."""

        @cached_property
        def typer_param(self) -> Any:
            # Typer's own coercion for this parameter: imports pydantic, so built
            # only when a value needs it.
            from typer._coercion import TypeDescriptor

            return build_runtime_param(
                TypeDescriptor(
                    annotation=self.annotation,
                    parameter_info=self.parameter_info,
                    file_annotation=None,
                )
            )

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            result = _plain(self.annotation, self.parameter_info, value, param, ctx)
            if result is _SLOW:
                return self.typer_param._coerce_value(value, param=param, ctx=ctx)
            return result


def _give_plain(param: Any) -> None:
    if _is_plain(param):
        descriptor = param.type_descriptor
        param._runtime_param = PlainParam(
            parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
        )


def install(command: Any) -> None:
    """Give every plain parameter of `command` and its subcommands ``PlainParam``."""
    if RuntimeParam is None:
        return
    for param in command.params:
        _give_plain(param)
    make_help_option = command.get_help_option

    def get_help_option(ctx: Any) -> Any:
        # The --help option is made on first use, outside `params`; it is coerced
        # (from None) on every command, so it needs PlainParam as much as the rest.
        option = make_help_option(ctx)
        if option is not None:
            _give_plain(option)
        return option

    command.get_help_option = get_help_option
    for sub in getattr(command, "commands", {}).values():
        install(sub)
