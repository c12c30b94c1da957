"""`pipekit modules add|edit|list|show|rm|enable|disable`: sync jobs, one by one.

Every input is checked before anything is written; a module definition is
checked with the shared validator (``pipekit.engine.validate.module_problems``),
which never connects to a database. Helpers shared with the other one-by-one
commands are in ``pipekit.cli._parts``.
"""

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from pipekit.cli._context import OK, WARN, check_line, open_store, out, say
from pipekit.cli._parts import (
    OPTION_OF,
    SPEC_FIELDS,
    get_module,
    module_spec,
    one_line,
    print_fields,
    print_sql,
    problems_of,
    read_sql,
    refuse,
    show_value,
    warn_all,
    when,
    yes_no,
)

if TYPE_CHECKING:
    from pipekit.store import Module, Store


# -- the module commands -----------------------------------------------------

app = typer.Typer(help="Modules: a source query synced into a destination table.")

#: fields `--x ""` clears (the others are required, or have a default)
CLEARABLE = (
    "merge_key",
    "watermark_column",
    "lookback",
    "safety_lag",
    "key_sync_query",
    "full_refresh_cron",
)


def _query(query: str | None, query_file: Path | None) -> str | None:
    return read_sql(
        query,
        query_file,
        what="source query",
        text_opt="--query",
        file_opt="--query-file",
        required=False,
    )


def _inline_watermarks(items: list[str]) -> dict[str, dict[str, Any]]:
    """``NAME:CONNECTION=RESOLVER_SQL`` options -> validator watermarks."""
    from pipekit.errors import PipekitError

    out: dict[str, dict[str, Any]] = {}
    for item in items:
        head, eq, sql = item.partition("=")
        name, colon, conn = head.partition(":")
        name, conn = name.strip(), conn.strip()
        if not eq or not colon or not name or not conn or not sql.strip():
            raise PipekitError(
                f"--watermark {item!r} is not NAME:CONNECTION=RESOLVER_SQL, e.g. "
                "--watermark 'since:wh=SELECT max(updated_at) FROM sync.orders'"
            )
        if name in out:
            raise PipekitError(f"--watermark {name} is given twice")
        out[name] = {"connection": conn, "resolver_sql": sql.strip(), "default": None}
    return out


def _changes_line(before: "Module", after: "Module") -> str:
    parts = []
    for f in ("name", *SPEC_FIELDS):
        old, new = getattr(before, f), getattr(after, f)
        if old == new:
            continue
        if f in ("source_query", "key_sync_query"):
            parts.append(f"{f} changed")
        else:
            parts.append(f"{f} {show_value(old)} → {show_value(new)}")
    return "; ".join(parts)


def _summary(m: "Module") -> str:
    key = f", key {m.merge_key}" if m.merge_key else ""
    return f"{m.source} → {m.dest} {m.dest_table} ({m.merge_strategy}{key})"


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Module name, e.g. orders."),
    source: str | None = typer.Option(None, "--source", help="Connection the query runs on."),
    dest: str | None = typer.Option(None, "--dest", help="Connection the rows land in."),
    dest_table: str | None = typer.Option(None, "--dest-table", help="e.g. sync.orders"),
    query: str | None = typer.Option(None, "--query", help="The source SELECT."),
    query_file: Path | None = typer.Option(
        None, "--query-file", help="Read the SELECT from a file ('-': stdin)."
    ),
    strategy: str = typer.Option("full", "--strategy", help="full, incremental, append, upsert."),
    merge_key: str | None = typer.Option(None, "--merge-key", help='Key column(s): "a, b".'),
    watermark_column: str | None = typer.Option(
        None, "--watermark-column", help="Destination column that grows, e.g. updated_at."
    ),
    watermark_op: str = typer.Option(">", "--watermark-op", help="'>' or '>='."),
    lookback: str | None = typer.Option(None, "--lookback", help="Re-read window: '2 days', 100."),
    safety_lag: str | None = typer.Option(
        None, "--safety-lag", help="Leave out rows newer than now minus this: '5 minutes'."
    ),
    key_sync: bool = typer.Option(
        False, "--key-sync/--no-key-sync", help="Delete rows whose key left the source."
    ),
    key_sync_query: str | None = typer.Option(
        None, "--key-sync-query", help="SQL that returns the source's keys."
    ),
    full_refresh_cron: str | None = typer.Option(
        None, "--full-refresh-cron", help="Cron that forces a full reload, e.g. '0 3 * * 0'."
    ),
    audit_columns: bool = typer.Option(
        False, "--audit-columns/--no-audit-columns", help="Add _pipekit_loaded_at/_run_id."
    ),
    disabled: bool = typer.Option(False, "--disabled", help="Add it switched off."),
    watermark: list[str] | None = typer.Option(
        None,
        "--watermark",
        help="A named watermark, NAME:CONNECTION=RESOLVER_SQL (repeatable).",
    ),
) -> None:
    """Add a module; the definition is checked (without connecting) before it is saved."""
    from pipekit.errors import AlreadyExistsError
    from pipekit.store import ModuleSpecError
    from pipekit.store.repo import check_name

    check_name("module", name, ModuleSpecError)
    sql = _query(query, query_file)
    watermarks = _inline_watermarks(watermark or [])
    config: dict[str, Any] = {
        "source": source,
        "dest": dest,
        "dest_table": dest_table,
        "source_query": sql,
        "merge_strategy": strategy,
        "merge_key": merge_key,
        "watermark_column": watermark_column,
        "watermark_op": watermark_op,
        "lookback": lookback,
        "safety_lag": safety_lag,
        "key_sync": key_sync,
        "key_sync_query": key_sync_query,
        "full_refresh_cron": full_refresh_cron,
        "audit_columns": audit_columns,
        "enabled": not disabled,
    }
    config = {k: (None if v == "" and k in CLEARABLE else v) for k, v in config.items()}
    with open_store(ctx) as store:
        if name in {m.name for m in store.modules.list()}:
            raise AlreadyExistsError(
                f"a module named '{name}' already exists; pick another name, "
                f"or change it with `pipekit modules edit {name}`"
            )
        spec = {**config, "watermarks": watermarks, "hooks": [], "checks": []}
        refused, warnings = problems_of(store, spec, name)
        refuse(f"module '{name}'", refused)
        src, dst = config.pop("source"), config.pop("dest")
        m = store.modules.add(name, source=src, dest=dst, changed_by="cli", **config)
        if watermarks:
            items = [
                {"name": n, "connection": w["connection"], "resolver_sql": w["resolver_sql"]}
                for n, w in watermarks.items()
            ]
            try:
                store.watermarks.replace_all(name, items, changed_by="cli")
            except BaseException:
                store.modules.remove(name)  # all or nothing
                raise
    check_line(OK, f"added module '{m.name}': {_summary(m)}" + ("" if m.enabled else ", disabled"))
    for wm in watermarks:
        say(f"  watermark {{{wm}}} resolved on {watermarks[wm]['connection']}")
    warn_all(warnings)
    say(f"Try it with `pipekit run {m.name} --dry-run`.")


@app.command("edit")
def edit(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Module name."),
    rename: str | None = typer.Option(None, "--rename", help="New name."),
    source: str | None = typer.Option(None, "--source", help="Connection the query runs on."),
    dest: str | None = typer.Option(None, "--dest", help="Connection the rows land in."),
    dest_table: str | None = typer.Option(None, "--dest-table", help="e.g. sync.orders"),
    query: str | None = typer.Option(None, "--query", help="The source SELECT."),
    query_file: Path | None = typer.Option(
        None, "--query-file", help="Read the SELECT from a file ('-': stdin)."
    ),
    strategy: str | None = typer.Option(None, "--strategy", help="full, incremental, ..."),
    merge_key: str | None = typer.Option(None, "--merge-key", help='"a, b"; "" clears.'),
    watermark_column: str | None = typer.Option(
        None, "--watermark-column", help='Destination column that grows; "" clears.'
    ),
    watermark_op: str | None = typer.Option(None, "--watermark-op", help="'>' or '>='."),
    lookback: str | None = typer.Option(None, "--lookback", help='Re-read window; "" clears.'),
    safety_lag: str | None = typer.Option(None, "--safety-lag", help='"" clears.'),
    key_sync: bool | None = typer.Option(
        None, "--key-sync/--no-key-sync", help="Delete rows whose key left the source."
    ),
    key_sync_query: str | None = typer.Option(None, "--key-sync-query", help='"" clears.'),
    full_refresh_cron: str | None = typer.Option(
        None, "--full-refresh-cron", help='Cron that forces a full reload; "" clears.'
    ),
    audit_columns: bool | None = typer.Option(
        None, "--audit-columns/--no-audit-columns", help="Add _pipekit_loaded_at/_run_id."
    ),
    enabled: bool | None = typer.Option(None, "--enabled/--disabled", help="Switch on or off."),
) -> None:
    """Change a module: only the options given change; '' clears an optional setting."""
    from pipekit.errors import AlreadyExistsError, PipekitError
    from pipekit.store import ModuleSpecError
    from pipekit.store.repo import check_name

    sql = _query(query, query_file)
    given: dict[str, Any] = {
        "source": source,
        "dest": dest,
        "dest_table": dest_table,
        "source_query": sql,
        "merge_strategy": strategy,
        "merge_key": merge_key,
        "watermark_column": watermark_column,
        "watermark_op": watermark_op,
        "lookback": lookback,
        "safety_lag": safety_lag,
        "key_sync": key_sync,
        "key_sync_query": key_sync_query,
        "full_refresh_cron": full_refresh_cron,
        "audit_columns": audit_columns,
        "enabled": enabled,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    for key, value in list(changes.items()):
        if value == "":
            if key not in CLEARABLE:
                raise PipekitError(
                    f"{OPTION_OF.get(key, key)} cannot be cleared; give a value "
                    f'(only {", ".join(OPTION_OF[k] for k in CLEARABLE)} can be cleared with "")'
                )
            changes[key] = None
    if rename is None and not changes:
        raise PipekitError(
            "nothing to change; give the options to change (see `pipekit modules edit --help`)"
        )
    if rename is not None:
        check_name("module", rename, ModuleSpecError)
    with open_store(ctx) as store:
        before = get_module(store, name)
        if rename not in (None, name) and rename in {m.name for m in store.modules.list()}:
            raise AlreadyExistsError(
                f"a module named '{rename}' already exists; pick another name for --rename"
            )
        spec = {**module_spec(store, before), **changes}
        target = rename or name
        refused, warnings = problems_of(store, spec, target)
        refuse(f"module '{name}'", refused)
        if rename is not None:
            changes["new_name"] = rename
        after = store.modules.update(name, changed_by="cli", **changes)
    line = _changes_line(before, after)
    if line:
        check_line(OK, f"updated module '{after.name}': {line}")
    else:
        check_line(WARN, f"nothing changed: module '{name}' already has these settings")
    warn_all(warnings)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List modules: connections, table, strategy, enabled, running, last run."""
    from rich.table import Table

    with open_store(ctx) as store:
        modules = store.modules.list()
        last = {m.name: store.runs.list(module=m.name, limit=1) for m in modules}
    if not modules:
        say("no modules yet; add one with `pipekit modules add NAME --source ... --dest ...`")
        return
    table = Table("name", "source → dest", "table", "strategy", "enabled", "running", "last run")
    for m in modules:
        runs = last[m.name]
        table.add_row(
            m.name,
            f"{m.source or '-'} → {m.dest or '-'}",
            m.dest_table or "-",
            m.merge_strategy,
            yes_no(m.enabled),
            yes_no(m.running),
            f"{runs[0].status} {when(runs[0].started_at)}" if runs else "never",
        )
    out().print(table)


def _details(store: "Store", name: str, history: bool) -> dict[str, Any]:
    """Everything `show` prints, gathered in one place (also the --json document)."""
    from dataclasses import asdict

    m = get_module(store, name)
    ids = ("source_connection_id", "dest_connection_id")
    doc: dict[str, Any] = {k: v for k, v in asdict(m).items() if k not in ids}
    doc["watermarks"] = [asdict(w) for w in store.watermarks.list(name)]
    doc["hooks"] = [asdict(h) for h in store.hooks.list(name)]
    doc["checks"] = [asdict(c) for c in store.checks.list(name)]
    doc["groups"] = store.groups.groups_of(name)
    doc["runs"] = [
        {
            k: getattr(r, k)
            for k in (
                "id",
                "status",
                "started_at",
                "finished_at",
                "triggered_by",
                "merge_strategy",
                "rows_read",
                "row_count",
                "error",
            )
        }
        for r in store.runs.list(module=name, limit=5)
    ]
    if history:
        doc["history"] = [asdict(h) for h in store.modules.history(name)]
    return doc


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@app.command("show")
def show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Module name."),
    history: bool = typer.Option(False, "--history", help="Also print every recorded change."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document instead."),
) -> None:
    """Show a module: settings, query, watermarks, hooks, checks, groups, last runs."""
    import json

    with open_store(ctx) as store:
        doc = _details(store, name, history)
    if as_json:
        typer.echo(json.dumps(doc, indent=2, default=_json_default, ensure_ascii=False))
        return
    _print_details(doc)


def _print_details(d: dict[str, Any]) -> None:
    from rich.table import Table

    running = "no"
    if d["running"]:
        running = (
            f"yes (run {d['locked_by_run_id']}, pid {d['locked_pid']} on {d['locked_host']}, "
            f"since {when(d['locked_at'])})"
        )
    op = f" ({d['watermark_op']})" if d["watermark_column"] else ""
    print_fields(
        [
            ("name", d["name"]),
            ("enabled", yes_no(d["enabled"])),
            ("running", running),
            ("source → dest", f"{d['source'] or '-'} → {d['dest'] or '-'}"),
            ("dest table", d["dest_table"] or "-"),
            ("strategy", d["merge_strategy"]),
            ("merge key", d["merge_key"] or "-"),
            ("watermark column", (d["watermark_column"] or "-") + op),
            ("lookback", d["lookback"] or "-"),
            ("safety lag", d["safety_lag"] or "-"),
            ("key sync", yes_no(d["key_sync"])),
            ("full refresh cron", d["full_refresh_cron"] or "-"),
            ("audit columns", yes_no(d["audit_columns"])),
            ("groups", ", ".join(d["groups"]) or "-"),
            ("created", when(d["created_at"])),
            ("updated", when(d["updated_at"])),
        ]
    )
    print_sql("source query", d["source_query"])
    if d["key_sync_query"]:
        print_sql("key sync query", d["key_sync_query"])
    say("")
    if d["watermarks"]:
        t = Table("name", "connection", "resolver SQL", "default", "last value", title="watermarks")
        t.columns[2].overflow = "fold"
        for w in d["watermarks"]:
            t.add_row(
                "{" + w["name"] + "}",
                w["connection"] or "-",
                one_line(w["resolver_sql"]),
                w["default_value"] or "-",
                w["last_value"] or "-",
            )
        out().print(t)
    else:
        say("watermarks: none")
    if d["hooks"]:
        t = Table("#", "id", "runs on", "sql", title="hooks")
        t.columns[3].overflow = "fold"
        for i, h in enumerate(d["hooks"], 1):
            t.add_row(str(i), str(h["id"]), h["run_on"], one_line(h["sql"]))
        out().print(t)
    else:
        say("hooks: none")
    if d["checks"]:
        t = Table("#", "name", "sql", title="checks")
        t.columns[2].overflow = "fold"
        for i, c in enumerate(d["checks"], 1):
            t.add_row(str(i), c["name"], one_line(c["sql"]))
        out().print(t)
    else:
        say("checks: none")
    if d["runs"]:
        t = Table("run", "started", "finished", "status", "rows", "by", "error", title="last runs")
        t.columns[6].overflow = "fold"
        for r in d["runs"]:
            t.add_row(
                str(r["id"]),
                when(r["started_at"]),
                when(r["finished_at"]),
                r["status"],
                "" if r["row_count"] is None else str(r["row_count"]),
                r["triggered_by"] or "",
                one_line(r["error"], 80),
            )
        out().print(t)
    else:
        say(f"last runs: none; try `pipekit run {d['name']} --dry-run`")
    if "history" in d:
        _print_history(d["history"])


def _print_history(entries: list[dict[str, Any]]) -> None:
    say("")
    say(f"history ({len(entries)} change(s), newest first):")
    for e in entries:
        say(f"  {when(e['changed_at'])}  by {e['changed_by'] or '-'}")
        for field, (old, new) in sorted(e["diff"].items()):
            say(f"    {field}: {show_value(old)} → {show_value(new)}")


@app.command("rm")
def rm(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Module name."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Remove a module with its watermarks, hooks, checks and history (its runs stay)."""
    from pipekit.errors import InUseError, PipekitError

    with open_store(ctx) as store:
        m = get_module(store, name)
        if m.running:
            raise InUseError(
                f"module '{name}' is running (run {m.locked_by_run_id}); wait for it or "
                f"cancel it first with `pipekit runs cancel {m.locked_by_run_id}`"
            )
        parts = (
            f"{len(store.watermarks.list(name))} watermark(s), {len(store.hooks.list(name))} "
            f"hook(s), {len(store.checks.list(name))} check(s)"
        )
        groups = store.groups.groups_of(name)
        if not yes:
            try:
                sure = typer.confirm(
                    f"Remove module '{name}' with its {parts} and its history?", default=False
                )
            except typer.Abort:  # no answer (end of input): end the prompt line
                say("")
                sure = False
            if not sure:
                raise PipekitError(f"module '{name}' was not removed (confirm, or pass --yes)")
        store.modules.remove(name)
    check_line(OK, f"removed module '{name}' with its {parts}; its run history was kept")
    if groups:
        say(f"  it was taken out of group(s): {', '.join(groups)}")


def _set_enabled(ctx: typer.Context, name: str, enabled: bool) -> None:
    with open_store(ctx) as store:
        before = get_module(store, name)
        store.modules.set_enabled(name, enabled, changed_by="cli")
    word = "enabled" if enabled else "disabled"
    if before.enabled == enabled:
        check_line(WARN, f"module '{name}' was already {word}")
    else:
        check_line(OK, f"{word} module '{name}'")


@app.command("enable")
def enable(ctx: typer.Context, name: str = typer.Argument(..., help="Module name.")) -> None:
    """Switch a module on (group runs and schedules run it again)."""
    _set_enabled(ctx, name, True)


@app.command("disable")
def disable(ctx: typer.Context, name: str = typer.Argument(..., help="Module name.")) -> None:
    """Switch a module off (group runs skip it; `pipekit run` still runs it by hand)."""
    _set_enabled(ctx, name, False)
