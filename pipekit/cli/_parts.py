"""Helpers the one-by-one CLI commands share (modules, groups, schedules, watermarks,
hooks, checks): "did you mean" lookups, SQL from an option, a file or stdin,
local-time formatting, and checking a module definition with the shared
validator (``pipekit.engine.validate.module_problems``), which never connects.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipekit.cli._context import WARN, check_line, say
from pipekit.engine.validate import MODULE_SETTINGS  # stdlib-only: keeps --help fast

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


# -- checking a module definition (shared by modules, watermarks, hooks, checks) --

#: the module fields the validator reads, as the store names them
SPEC_FIELDS = MODULE_SETTINGS
#: the option of `modules add/edit` that sets each field, for problem messages
OPTION_OF = {
    "source": "--source",
    "dest": "--dest",
    "dest_table": "--dest-table",
    "source_query": "--query",
    "merge_strategy": "--strategy",
    "merge_key": "--merge-key",
    "watermark_column": "--watermark-column",
    "watermark_op": "--watermark-op",
    "lookback": "--lookback",
    "safety_lag": "--safety-lag",
    "key_sync": "--key-sync",
    "key_sync_query": "--key-sync-query",
    "full_refresh_cron": "--full-refresh-cron",
    "audit_columns": "--audit-columns",
}


def module_spec(store: Store, module: Module) -> dict[str, Any]:
    """The stored module as the validator reads it: fields plus watermarks, hooks, checks."""
    spec: dict[str, Any] = {f: getattr(module, f) for f in SPEC_FIELDS}
    spec["watermarks"] = {
        w.name: {
            "connection": w.connection,
            "resolver_sql": w.resolver_sql,
            "default": w.default_value,
        }
        for w in store.watermarks.list(module.name)
    }
    spec["hooks"] = [{"sql": h.sql, "run_on": h.run_on} for h in store.hooks.list(module.name)]
    spec["checks"] = [{"name": c.name, "sql": c.sql} for c in store.checks.list(module.name)]
    return spec


def source_dialect(store: Store, source: str | None) -> tuple[str | None, str | None]:
    """(sqlglot dialect of the source connection, or None; a warning when it is unknown).

    Only the driver class is imported, for its ``dialect``: nothing connects.
    """
    from pipekit.drivers import driver_class, kind_for_url
    from pipekit.errors import NotFoundError, PipekitError

    if not source:
        return None, None
    try:
        url = store.connections.get(source).url
    except NotFoundError:
        return None, None  # the validator reports the unknown connection
    try:
        return driver_class(kind_for_url(url)).dialect, None
    except PipekitError as exc:
        return None, f"the source query was not parsed: {exc}"


def unused_watermark(spec: dict[str, Any], problem: Any) -> bool:
    """Whether `problem` is "watermark declared but not used by the query".

    Harmless at run time (it resolves and is not used), and a step on the way
    when watermarks and the query are changed one command at a time, so the
    commands warn about it instead of refusing.
    """
    from pipekit.engine.validate import placeholders

    if not problem.path.startswith("watermarks.") or problem.path.count(".") != 1:
        return False
    name = problem.path.split(".", 1)[1]
    queries = [spec.get("source_query") or "", spec.get("key_sync_query") or ""]
    used = placeholders("\n".join(queries))
    return name in spec.get("watermarks", {}) and name not in used


def problems_of(
    store: Store, spec: dict[str, Any], module: str = "NAME"
) -> tuple[list[Any], list[str]]:
    """(problems that refuse the definition, warnings) for a full module spec."""
    from pipekit.engine.validate import module_problems

    dialect, warning = source_dialect(store, spec.get("source"))
    known = [c.name for c in store.connections.list()]
    found = module_problems(spec, source_dialect=dialect, connections=known)
    warnings = [warning] if warning else []
    refused = []
    for p in found:
        if unused_watermark(spec, p):
            wm = p.path.split(".", 1)[1]
            warnings.append(
                f"watermark {{{wm}}} is not used by the source query yet; use it there with "
                f"`pipekit modules edit {module} --query ...` (e.g. WHERE updated_at > {{{wm}}}), "
                f"or remove it with `pipekit watermarks rm {module} {wm}`"
            )
        else:
            refused.append(p)
    return refused, warnings


def label(problem: Any) -> str:
    """A problem as one line, naming the CLI option next to the field."""
    option = OPTION_OF.get(problem.path)
    path = f"{problem.path} ({option})" if option else problem.path
    return f"{path}: {problem.message}" if path else problem.message


def refuse(what: str, problems: Sequence[Any], hint: str | None = None) -> None:
    """Raise one PipekitError naming every problem (several: one per line after the first)."""
    from pipekit.errors import PipekitError

    tail = f"\n  {hint}" if hint else ""
    if len(problems) == 1:
        raise PipekitError(f"{what}: {label(problems[0])}{tail}")
    if problems:
        lines = "\n".join(f"  {label(p)}" for p in problems)
        raise PipekitError(
            f"{what} has {len(problems)} problems; nothing was changed:\n{lines}{tail}"
        )


def warn_all(warnings: Iterable[str]) -> None:
    for w in warnings:
        check_line(WARN, w)


def check_change(
    store: Store, module: Module, change: Any, what: str, hint: str | None = None
) -> list[str]:
    """Check a change to a module's watermarks, hooks or checks before it is written.

    `change(spec)` edits a copy of the module's spec the way the command will
    change the store. Refused: the problems the change *adds* (what was wrong
    before is not this command's business). Returns warnings to print after
    the change is written.
    """
    import copy

    before = module_spec(store, module)
    after = change(copy.deepcopy(before))
    old_refused, old_warnings = problems_of(store, before, module.name)
    old = {str(p) for p in old_refused}
    refused, warnings = problems_of(store, after, module.name)
    refuse(what, [p for p in refused if str(p) not in old], hint)
    return [w for w in warnings if w not in set(old_warnings)]


def get_part(repo: Any, module: str, name: str, kind: str) -> Any:
    """A named watermark or check of `module`, or NotFoundError with the closest name."""
    from pipekit.errors import NotFoundError

    known = [item.name for item in repo.list(module)]
    if name not in known:
        hint = f"known: {', '.join(known)}" if known else f"it has no {kind}s yet"
        raise NotFoundError(
            f"module '{module}' has no {kind} named '{name}'{suggestion(name, known)} ({hint}); "
            f"see `pipekit {kind}s list {module}`"
        )
    return repo.get(module, name)


def show_value(value: Any, width: int = 100) -> str:
    """A value for a change line: - for None, quotes for text, JSON for the rest."""
    import json

    if value is None:
        return "-"
    if isinstance(value, bool):
        return yes_no(value)
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return one_line(text, width)
