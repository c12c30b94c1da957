"""Display helpers the one-by-one CLI commands share (modules, groups, schedules,
watermarks, hooks, checks): SQL from an option, a file or stdin, local-time
formatting, aligned fields, and errors said in the command's own words.

The rules (lookups with "did you mean", checking a module definition) are the
services' (``pipekit.services.module_rules``); the thin wrappers here are kept
for the commands that still pass a store.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from pipekit.cli._context import WARN, check_line, say
from pipekit.module_settings import FLAGS
from pipekit.module_settings import NAMES as SPEC_FIELDS
from pipekit.services.lookup import known_list, suggestion

__all__ = [
    "OPTION_OF",
    "SPEC_FIELDS",
    "check_modules_exist",
    "get_group",
    "known_list",
    "labelled",
    "one_line",
    "print_fields",
    "print_sql",
    "read_sql",
    "show_value",
    "suggestion",
    "warn_all",
    "when",
    "yes_no",
]


def get_group(store: Any, name: str) -> Any:
    """The group `name`, or NotFoundError with the closest known name."""
    from pipekit.services.module_rules import find_group

    return find_group(store, name)


def check_modules_exist(store: Any, names: Iterable[str]) -> None:
    """NotFoundError naming every unknown module (with suggestions) at once."""
    from pipekit.services.module_rules import check_modules_exist as check

    check(store, names)


def read_sql(
    text: str | None,
    path: Path | None,
    *,
    what: str,
    text_opt: str = "--sql",
    file_opt: str = "--sql-file",
    required: bool = True,
) -> str | None:
    """SQL given inline, in a file, or on stdin (``PATH`` = ``-``); None if neither given.

    Refuses both at once, neither when `required`, an unreadable file and empty SQL.
    """
    from pipekit.errors import InvalidError

    if text is not None and path is not None:
        raise InvalidError(f"give the {what} with {text_opt} or {file_opt}, not both")
    if text is None and path is None:
        if required:
            raise InvalidError(
                f"the {what} is missing; give it with {text_opt} SQL, {file_opt} PATH, "
                f"or {file_opt} - to read it from standard input"
            )
        return None
    if path is not None:
        if str(path) == "-":
            text = sys.stdin.read()
        else:
            try:
                text = path.expanduser().read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                raise InvalidError(f"cannot read {what} from {file_opt} {path}: {reason}") from None
    assert text is not None
    if not text.strip():
        source = f"{file_opt} {path}" if path is not None else text_opt
        raise InvalidError(f"the {what} is empty ({source}); give the SQL text")
    return text.strip()


def when(moment: datetime | None, *, seconds: bool = True) -> str:
    """A stored (UTC) time shown in the machine's local time; ``-`` for None."""
    if moment is None:
        return "-"
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return moment.astimezone().strftime(fmt)


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def one_line(sql: str | None, width: int = 70) -> str:
    """SQL squeezed onto one line for a table cell."""
    text = " ".join((sql or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def print_fields(rows: Iterable[tuple[str, Any]], width: int = 20) -> None:
    """``key:   value`` lines, aligned (plain text: values may hold brackets)."""
    for key, value in rows:
        say(f"{key + ':':<{width}}{value}")


def print_sql(label: str, sql: str | None) -> None:
    """A label line, then the SQL indented by two spaces."""
    if not sql:
        say(f"{label + ':':<20}-")
        return
    say(f"{label}:")
    for line in sql.splitlines():
        say(f"  {line}")


def show_value(value: Any, width: int = 100) -> str:
    """A value for a change line: - for None, quotes for text, JSON for the rest."""
    import json

    if value is None:
        return "-"
    if isinstance(value, bool):
        return yes_no(value)
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return one_line(text, width)


def warn_all(warnings: Iterable[str]) -> None:
    for w in warnings:
        check_line(WARN, w)


# -- errors in the command's words --------------------------------------------------

#: the option of `modules add/edit` that sets each module field, for problem messages
OPTION_OF = {"name": "--rename", **FLAGS}


def _label(problem: Any, options: Mapping[str, str]) -> str:
    option = options.get(problem.path)
    path = f"{problem.path} ({option})" if option else problem.path
    return f"{path}: {problem.message}" if path else problem.message


@contextmanager
def labelled(as_json: bool, options: Mapping[str, str] = OPTION_OF) -> Iterator[None]:
    """Errors raised in the block name the command's options next to the fields
    (``merge_key (--merge-key): ...``); with --json they pass unchanged."""
    import copy

    from pipekit.errors import PipekitError, ValidationError

    try:
        yield
    except ValidationError as exc:
        if as_json:
            raise
        problems = exc.problems
        if len(problems) == 1:
            text = f"{exc.what}: {_label(problems[0], options)}"
        else:
            lines = "\n".join(f"  {_label(p, options)}" for p in problems)
            text = f"{exc.what} has {len(problems)} problems; nothing was changed:\n{lines}"
        said = copy.copy(exc)
        said.args = (text,)
        raise said from None
    except PipekitError as exc:
        option = options.get(exc.path or "")
        if as_json or option is None or not exc.message.startswith(f"{exc.path} "):
            raise
        said = copy.copy(exc)
        said.args = (option + exc.message[len(exc.path or "") :],)
        raise said from None
