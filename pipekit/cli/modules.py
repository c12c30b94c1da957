"""`pipekit modules add|edit|list|show|rm|enable|disable`: sync jobs, one by one.

Also home of the helpers the module-part commands share (groups, schedules,
watermarks, hooks, checks): "did you mean" lookups, SQL from an option, a file
or stdin, and local-time formatting. Every input is checked before anything is
written; a module definition is checked with the shared validator
(``pipekit.engine.validate.module_problems``), which never connects to a database.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipekit.store import Group, Module, Store

# -- helpers shared by the module-part commands ------------------------------


def suggestion(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'orders'?"`` for the closest known name, else ``""``."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def known_list(known: Sequence[str], limit: int = 20) -> str:
    if not known:
        return "none are defined yet"
    more = f", ... ({len(known) - limit} more)" if len(known) > limit else ""
    return "known: " + ", ".join(known[:limit]) + more


def missing(what: str, name: str, known: Sequence[str], fix: str) -> str:
    """``no module named 'ordrs'; did you mean 'orders'? (known: ...); <fix>``."""
    return f"{what} '{name}'{suggestion(name, known)} ({known_list(known)}); {fix}"


def get_module(store: Store, name: str) -> Module:
    """The module `name`, or NotFoundError with the closest known name."""
    from pipekit.errors import NotFoundError

    try:
        return store.modules.get(name)
    except NotFoundError:
        known = [m.name for m in store.modules.list()]
        raise NotFoundError(
            missing("no module named", name, known, "add one with `pipekit modules add`")
        ) from None


def check_modules_exist(store: Store, names: Iterable[str]) -> None:
    """NotFoundError naming every unknown module (with suggestions) at once."""
    from pipekit.errors import NotFoundError

    known = [m.name for m in store.modules.list()]
    unknown = [n for n in dict.fromkeys(names) if n not in known]
    fix = "add it with `pipekit modules add`"
    if len(unknown) == 1:
        raise NotFoundError(missing("no module named", unknown[0], known, fix))
    if unknown:
        parts = []
        for n in unknown:
            close = difflib.get_close_matches(n, known, n=1, cutoff=0.6)
            parts.append(f"'{n}' (did you mean '{close[0]}'?)" if close else f"'{n}'")
        raise NotFoundError(
            f"no modules named {', '.join(parts)} ({known_list(known)}); "
            "add them with `pipekit modules add`"
        )


def check_connection(store: Store, name: str, role: str) -> str:
    """`name` if a connection of that name exists, else NotFoundError with a suggestion."""
    from pipekit.errors import NotFoundError

    known = [c.name for c in store.connections.list()]
    if name not in known:
        raise NotFoundError(
            f"{role} connection '{name}' does not exist{suggestion(name, known)} "
            f"({known_list(known)}); add it with `pipekit connections add`"
        )
    return name


def get_group(store: Store, name: str) -> Group:
    """The group `name`, or NotFoundError with the closest known name."""
    from pipekit.errors import NotFoundError

    try:
        return store.groups.get(name)
    except NotFoundError:
        known = [g.name for g in store.groups.list()]
        raise NotFoundError(
            missing("no group named", name, known, "add one with `pipekit groups add`")
        ) from None


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
    from pipekit.errors import PipekitError

    if text is not None and path is not None:
        raise PipekitError(f"give the {what} with {text_opt} or {file_opt}, not both")
    if text is None and path is None:
        if required:
            raise PipekitError(
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
                raise PipekitError(f"cannot read {what} from {file_opt} {path}: {reason}") from None
    assert text is not None
    if not text.strip():
        source = f"{file_opt} {path}" if path is not None else text_opt
        raise PipekitError(f"the {what} is empty ({source}); give the SQL text")
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
    from pipekit.cli._context import say

    for key, value in rows:
        say(f"{key + ':':<{width}}{value}")


def print_sql(label: str, sql: str | None) -> None:
    """A label line, then the SQL indented by two spaces."""
    from pipekit.cli._context import say

    if not sql:
        say(f"{label + ':':<20}-")
        return
    say(f"{label}:")
    for line in sql.splitlines():
        say(f"  {line}")
