"""`pipekit hooks add|edit|list|show|rm`: SQL run on the destination after a module's merge.

Hooks have no names: they are addressed by the id that `add` prints and `list`
shows. They run in order (position 1 first) by outcome: ``success`` (after the
merge committed), ``failure`` (after a failed run) or ``always``. A failed hook
fails the run but cannot undo committed data.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from pipekit.cli._context import OK, check_line, open_store, out, say
from pipekit.cli._parts import (
    check_change,
    get_module,
    one_line,
    print_fields,
    print_sql,
    read_sql,
    suggestion,
    warn_all,
)

if TYPE_CHECKING:
    from pipekit.store import Hook, Store

app = typer.Typer(help="Hooks: SQL run on the destination after a module's merge.")

RUN_ON = ("success", "failure", "always")


def _run_on(value: str | None) -> str | None:
    from pipekit.errors import PipekitError

    if value is not None and value not in RUN_ON:
        raise PipekitError(
            f"--run-on {value!r} is not one of {', '.join(RUN_ON)}{suggestion(value, RUN_ON)}"
        )
    return value


def _position(position: int | None, count: int, module: str) -> int | None:
    """The 0-based index for a 1-based --position among `count` places."""
    from pipekit.errors import PipekitError

    if position is None:
        return None
    if not 1 <= position <= count:
        raise PipekitError(
            f"--position {position} is out of range; module '{module}' would have "
            f"{count} hook(s), so use 1 to {count}"
        )
    return position - 1


def _hook(store: "Store", hook_id: int) -> "Hook":
    from pipekit.errors import NotFoundError

    try:
        return store.hooks.get(hook_id)
    except NotFoundError:
        raise NotFoundError(
            f"no hook with id {hook_id}; `pipekit hooks list MODULE` shows a module's hooks "
            "and their ids"
        ) from None


def _place(store: "Store", others: "list[Hook]", index: int) -> None:
    """Renumber `others` (the module's hooks in order, without the one being placed)
    0, 1, 2, ... leaving run order `index` free; only hooks whose order changes are written."""
    for i, hook in enumerate(others):
        order = i if i < index else i + 1
        if hook.run_order != order:
            store.hooks.update(hook.id, run_order=order)


@app.command("add")
def add(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name."),
    sql: str | None = typer.Option(None, "--sql", help="The SQL, run on the destination."),
    sql_file: Path | None = typer.Option(
        None, "--sql-file", help="Read the SQL from a file ('-': stdin)."
    ),
    run_on: str = typer.Option("success", "--run-on", help="success, failure or always."),
    position: int | None = typer.Option(
        None, "--position", "-p", help="1 = runs first (default: last)."
    ),
) -> None:
    """Add a hook to a module (it runs last unless --position says otherwise)."""
    text = read_sql(sql, sql_file, what="hook SQL")
    assert text is not None
    _run_on(run_on)
    with open_store(ctx) as store:
        m = get_module(store, module)
        hooks = store.hooks.list(module)
        index = _position(position, len(hooks) + 1, module)

        def change(spec: dict[str, Any]) -> dict[str, Any]:
            at = len(spec["hooks"]) if index is None else index
            spec["hooks"].insert(at, {"sql": text, "run_on": run_on})
            return spec

        warnings = check_change(store, m, change, f"the new hook of module '{module}'")
        if index is None:
            hook = store.hooks.add(module, text, run_on=run_on)
        else:
            _place(store, hooks, index)
            hook = store.hooks.add(module, text, run_on=run_on, run_order=index)
        where = [h.id for h in store.hooks.list(module)].index(hook.id) + 1
    check_line(
        OK, f"added hook {hook.id} to module '{module}' (position {where}, runs on {hook.run_on})"
    )
    warn_all(warnings)


@app.command("edit")
def edit(
    ctx: typer.Context,
    hook_id: int = typer.Argument(..., metavar="HOOK_ID", help="Hook id (see `hooks list`)."),
    sql: str | None = typer.Option(None, "--sql", help="New SQL."),
    sql_file: Path | None = typer.Option(
        None, "--sql-file", help="Read the new SQL from a file ('-': stdin)."
    ),
    run_on: str | None = typer.Option(None, "--run-on", help="success, failure or always."),
    position: int | None = typer.Option(None, "--position", "-p", help="Move it: 1 = first."),
) -> None:
    """Change a hook's SQL, outcome or position (only the options given change)."""
    from pipekit.errors import PipekitError
    from pipekit.store import UNSET

    text = read_sql(sql, sql_file, what="hook SQL", required=False)
    _run_on(run_on)
    if text is None and run_on is None and position is None:
        raise PipekitError("nothing to change; give --sql, --sql-file, --run-on or --position")
    with open_store(ctx) as store:
        old = _hook(store, hook_id)
        module = old.module
        m = get_module(store, module)
        hooks = store.hooks.list(module)
        current = [h.id for h in hooks].index(hook_id)
        index = _position(position, len(hooks), module)
        target = current if index is None else index

        def change(spec: dict[str, Any]) -> dict[str, Any]:
            item = spec["hooks"].pop(current)
            if text is not None:
                item["sql"] = text
            if run_on is not None:
                item["run_on"] = run_on
            spec["hooks"].insert(target, item)
            return spec

        warnings = check_change(store, m, change, f"hook {hook_id} of module '{module}'")
        if target != current:
            _place(store, [h for h in hooks if h.id != hook_id], target)
        hook = store.hooks.update(
            hook_id,
            sql=UNSET if text is None else text,
            run_on=UNSET if run_on is None else run_on,
            run_order=UNSET if target == current else target,
        )
    changed = []
    if target != current:
        changed.append(f"position {current + 1} → {target + 1}")
    if hook.run_on != old.run_on:
        changed.append(f"runs on {old.run_on} → {hook.run_on}")
    if hook.sql != old.sql:
        changed.append("SQL changed")
    check_line(
        OK,
        f"updated hook {hook_id} of module '{module}'"
        + (f": {'; '.join(changed)}" if changed else " (nothing changed)"),
    )
    warn_all(warnings)


@app.command("list")
def list_(ctx: typer.Context, module: str = typer.Argument(..., help="Module name.")) -> None:
    """List a module's hooks in the order they run."""
    from rich.table import Table

    with open_store(ctx) as store:
        get_module(store, module)
        hooks = store.hooks.list(module)
    if not hooks:
        say(f"module '{module}' has no hooks; add one with `pipekit hooks add {module} --sql ...`")
        return
    table = Table("#", "id", "runs on", "sql")
    table.columns[3].overflow = "fold"
    for i, h in enumerate(hooks, 1):
        table.add_row(str(i), str(h.id), h.run_on, one_line(h.sql, 100))
    out().print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    hook_id: int = typer.Argument(..., metavar="HOOK_ID", help="Hook id (see `hooks list`)."),
) -> None:
    """Show one hook with its full SQL."""
    with open_store(ctx) as store:
        hook = _hook(store, hook_id)
        ids = [h.id for h in store.hooks.list(hook.module)]
    print_fields(
        [
            ("id", hook.id),
            ("module", hook.module),
            ("position", f"{ids.index(hook.id) + 1} of {len(ids)}"),
            ("runs on", hook.run_on),
        ]
    )
    print_sql("sql", hook.sql)


@app.command("rm")
def rm(
    ctx: typer.Context,
    hook_id: int = typer.Argument(..., metavar="HOOK_ID", help="Hook id (see `hooks list`)."),
) -> None:
    """Remove a hook."""
    with open_store(ctx) as store:
        hook = _hook(store, hook_id)
        store.hooks.remove(hook_id)
    check_line(OK, f"removed hook {hook_id} from module '{hook.module}' ({one_line(hook.sql, 50)})")
