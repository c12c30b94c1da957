"""The rules a module definition is judged by, whichever face or part changes it.

A module, its watermarks, hooks and checks are one definition: the shared
validator (``pipekit.engine.validate.module_problems``, which never connects)
judges them together. A change is refused only for the problems it *adds*:
what was wrong before is not this change's business. One problem is only a
warning: a declared watermark the query does not use yet (harmless at run time,
and a step on the way when the query and its watermarks change one at a time).

Nothing heavy is imported at module level: the CLI imports the constants here
on start-up.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from pipekit import module_settings as settings
from pipekit.engine.validate import HOOK_RUN_ON, MODULE_SETTINGS
from pipekit.errors import ModuleSpecError, Problem, ValidationError

if TYPE_CHECKING:
    from pipekit.store import Group, Module, Store

#: the module fields the validator reads, as the store names them
SPEC_FIELDS = MODULE_SETTINGS
# Declared with each setting in pipekit.module_settings:
#: optional fields a change may clear (set to null)
CLEARABLE = settings.CLEARABLE
#: fields that always have a value: null is refused (the others are required by the validator)
NOT_NULL = settings.NOT_NULL
#: the value each field gets when a new module leaves it out
DEFAULTS = settings.DEFAULTS
RUN_ON = HOOK_RUN_ON

ModuleChange = Callable[[dict[str, Any]], dict[str, Any]]


# -- finding things -------------------------------------------------------------


def find_module(store: Store, key: str | int) -> Module:
    """The module whose id (a key of digits) or name is `key`; NotFoundError with the
    closest known name otherwise."""
    from pipekit.errors import NotFoundError
    from pipekit.services.lookup import as_id, find

    # One row by its key; the whole list only to say "did you mean" (1,000 modules
    # cost tens of milliseconds to list, and every page of a module looks it up).
    number = as_id(key)
    try:
        if number is not None:
            return store.modules.get_by_id(number)
        return store.modules.get(str(key))
    except NotFoundError:
        pass
    return find(store.modules.list(), key, "module", "add one with `pipekit modules add`")


def find_group(store: Store, key: str | int) -> Group:
    """The group whose id or name is `key`; NotFoundError with the closest name otherwise."""
    from pipekit.services.lookup import find

    return find(store.groups.list(), key, "group", "add one with `pipekit groups add`")


def check_modules_exist(store: Store, names: Iterable[str]) -> None:
    """NotFoundError naming every unknown module (each with a suggestion) at once."""
    from pipekit.errors import NotFoundError
    from pipekit.services.lookup import describe_missing, first_missing

    known = [m.name for m in store.modules.list()]
    unknown = first_missing(names, known)
    if unknown:
        fix = "add " + ("it" if len(unknown) == 1 else "them") + " with `pipekit modules add`"
        raise NotFoundError(describe_missing("module", unknown, known, fix), path="members")


def find_part(items: list[Any], module: str, name: str, kind: str) -> Any:
    """The watermark or check `name` among `items` of `module`; NotFoundError with the
    closest name otherwise."""
    from pipekit.errors import NotFoundError
    from pipekit.services.lookup import suggestion

    for item in items:
        if item.name == name:
            return item
    known = [item.name for item in items]
    hint = f"known: {', '.join(known)}" if known else f"it has no {kind}s yet"
    raise NotFoundError(
        f"module '{module}' has no {kind} named '{name}'{suggestion(name, known)} ({hint}); "
        f"see `pipekit {kind}s list {module}`"
    )


# -- single values ----------------------------------------------------------------


def check_run_on(value: Any) -> str:
    """`value` if it is a hook outcome, else ModuleSpecError (path ``run_on``)."""
    from pipekit.services.lookup import suggestion

    if not isinstance(value, str) or value not in RUN_ON:
        hint = suggestion(value, RUN_ON) if isinstance(value, str) else ""
        raise ModuleSpecError(
            f"run_on {value!r} is not one of {', '.join(RUN_ON)}{hint}", path="run_on"
        )
    return value


def part_name_problem(kind: str, name: Any) -> Problem | None:
    """The problem with a watermark's or check's name (letters, digits, '_'), if any."""
    from pipekit.engine.validate import NAME_RE

    if isinstance(name, str) and NAME_RE.match(name):
        return None
    where = " (it is written {name} in the source query)" if kind == "watermark" else ""
    return Problem(
        "name",
        f"invalid {kind} name {name!r}: use letters, digits and '_', not starting with a "
        f"digit{where}",
    )


# -- the whole definition ------------------------------------------------------------


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
    from pipekit.drivers import dialect_for_url
    from pipekit.errors import NotFoundError, PipekitError

    if not source or not isinstance(source, str):
        return None, None
    try:
        url = store.connections.get(source).url
    except NotFoundError:
        return None, None  # the validator reports the unknown connection
    from pipekit.connectors.sources import is_connector_url

    if is_connector_url(url):
        # a connector's rows are queried by DuckDB (engine/connector_source.py)
        return "duckdb", None
    try:
        return dialect_for_url(url).sqlglot, None
    except PipekitError as exc:
        return None, f"the source query was not parsed: {exc}"


def unused_watermark(spec: dict[str, Any], problem: Problem) -> bool:
    """Whether `problem` is "watermark declared but not used by the query" (a warning)."""
    from pipekit.engine.validate import placeholders

    if not problem.path.startswith("watermarks.") or problem.path.count(".") != 1:
        return False
    name = problem.path.split(".", 1)[1]
    queries = [spec.get("source_query") or "", spec.get("key_sync_query") or ""]
    used = placeholders("\n".join(str(q) for q in queries))
    return name in (spec.get("watermarks") or {}) and name not in used


def unused_warning(module: str, watermark: str) -> str:
    return (
        f"watermark {{{watermark}}} is not used by the source query yet; use it there with "
        f"`pipekit modules edit {module} --query ...` (e.g. WHERE updated_at > {{{watermark}}}), "
        f"or remove it with `pipekit watermarks rm {module} {watermark}`"
    )


def problems_of(
    store: Store, spec: dict[str, Any], module: str = "NAME"
) -> tuple[list[Problem], list[str]]:
    """(problems that refuse the definition, warnings) for a full module spec."""
    from pipekit.engine.validate import module_problems

    dialect, warning = source_dialect(store, spec.get("source"))
    connections = store.connections.list()
    known = [c.name for c in connections]
    found = module_problems(spec, source_dialect=dialect, connections=known)
    from pipekit.engine.validate import source_kind_problems

    found.extend(source_kind_problems(spec, {c.name: c.url for c in connections}))
    warnings = [warning] if warning else []
    refused = []
    for p in found:
        if unused_watermark(spec, p):
            warnings.append(unused_warning(module, p.path.split(".", 1)[1]))
        else:
            refused.append(p)
    return refused, warnings


def added_problems(
    store: Store, module: Module, change: ModuleChange, target: str | None = None
) -> tuple[list[Problem], list[str], list[str]]:
    """(problems `change` adds, every warning after it, warnings it adds).

    `change(spec)` edits a copy of the module's spec the way the write will
    change the store; `target` is the module's name afterwards (a rename).
    """
    before = module_spec(store, module)
    after = change(copy.deepcopy(before))
    old_refused, old_warnings = problems_of(store, before, module.name)
    old = {str(p) for p in old_refused}
    refused, warnings = problems_of(store, after, target or module.name)
    added = [p for p in refused if str(p) not in old]
    return added, warnings, [w for w in warnings if w not in set(old_warnings)]


def refuse(what: str, problems: list[Problem]) -> None:
    """ValidationError naming every problem, if there are any."""
    if problems:
        raise ValidationError(problems, what)


def check_change(
    store: Store,
    module: Module,
    change: ModuleChange,
    what: str,
    *,
    removed: str | None = None,
) -> list[str]:
    """Refuse the problems a change to a module's parts adds; returns the warnings it adds.

    `removed` names a watermark the change removes or renames: a query that still
    uses it is that watermark's problem (path ``watermarks.<name>``), with what to
    do first.
    """
    added, _, new_warnings = added_problems(store, module, change)
    if removed is not None:
        added = [_blame_watermark(p, module.name, removed) for p in added]
    refuse(what, added)
    return new_warnings


def _blame_watermark(problem: Problem, module: str, name: str) -> Problem:
    """A query's "placeholder {name} is not declared", said of the watermark removed."""
    if problem.path not in ("source_query", "key_sync_query"):
        return problem
    if "{" + name + "}" not in problem.message:
        return problem
    return Problem(
        f"watermarks.{name}",
        f"the {problem.path.replace('_', ' ')} uses it: {problem.message}; take {{{name}}} out "
        f"of the query first with `pipekit modules edit {module} --query ...` (a watermark "
        "the query does not use is only a warning)",
    )
