"""`pipekit modules add|edit|list|show|history|preview|rm|enable|disable`: sync jobs.

Every command calls ``sv.modules``: a definition is checked with the shared
validator (without connecting) before anything is written, and the same
problems, with the same paths, come back from the REST API. With ``--json`` a
command prints what the API answers for the same request.
"""

from typing import TYPE_CHECKING, Any

import typer

from pipekit.cli._context import (
    JSON_HELP,
    OK,
    WARN,
    check_line,
    emit_json,
    json_mode,
    open_services,
    print_error,
    print_table,
    say,
)
from pipekit.cli._parts import (
    OPTION_OF,
    SPEC_FIELDS,
    labelled,
    one_line,
    print_fields,
    print_sql,
    show_value,
    warn_all,
    when,
    yes_no,
)
from pipekit.cli._setting_options import given_settings, setting_options
from pipekit.module_settings import LONG, audit_column_names

if TYPE_CHECKING:
    from pipekit.services.modules import HistoryView, ModuleDetails, ModuleView

app = typer.Typer(help="Modules: a source query synced into a destination table.")

JSON = typer.Option(False, "--json", help=JSON_HELP)
#: `modules add` names the module as an argument, not with --rename
ADD_OPTIONS = {k: v for k, v in OPTION_OF.items() if k != "name"}


def _inline_watermarks(items: list[str]) -> dict[str, dict[str, Any]]:
    """``NAME:CONNECTION=RESOLVER_SQL`` options -> watermark settings by name."""
    from pipekit.errors import InvalidError

    found: dict[str, dict[str, Any]] = {}
    for item in items:
        head, eq, sql = item.partition("=")
        name, colon, conn = head.partition(":")
        name, conn = name.strip(), conn.strip()
        if not eq or not colon or not name or not conn or not sql.strip():
            raise InvalidError(
                f"--watermark {item!r} is not NAME:CONNECTION=RESOLVER_SQL, e.g. "
                "--watermark 'since:wh=SELECT max(updated_at) FROM sync.orders'",
                path="watermarks",
            )
        if name in found:
            raise InvalidError(f"--watermark {name} is given twice", path=f"watermarks.{name}")
        found[name] = {"connection": conn, "resolver_sql": sql.strip(), "default": None}
    return found


def _changes_line(before: "ModuleView", after: "ModuleView") -> str:
    parts = []
    for f in ("name", *SPEC_FIELDS):
        old, new = getattr(before, f), getattr(after, f)
        if old == new:
            continue
        if f in LONG:
            parts.append(f"{f} changed")
        else:
            parts.append(f"{f} {show_value(old)} → {show_value(new)}")
    return "; ".join(parts)


def _summary(m: "ModuleView") -> str:
    key = f", key {m.merge_key}" if m.merge_key else ""
    return f"{m.source} → {m.dest} {m.dest_table} ({m.merge_strategy}{key})"


@app.command("add")
@setting_options(edit=False)
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Module name, e.g. orders."),
    watermark: list[str] | None = typer.Option(
        None,
        "--watermark",
        help="A named watermark, NAME:CONNECTION=RESOLVER_SQL (repeatable).",
    ),
    as_json: bool = JSON,
    **given: Any,
) -> None:
    """Add a module; the definition is checked (without connecting) before it is saved."""
    json_mode(ctx, as_json)
    fields = given_settings(given, edit=False)
    watermarks = _inline_watermarks(watermark or [])
    with open_services(ctx) as sv, labelled(as_json, ADD_OPTIONS):
        m = sv.modules.add(name, watermarks=watermarks, **fields)
    if as_json:
        emit_json(ctx, m)
        return
    check_line(OK, f"added module '{m.name}': {_summary(m)}" + ("" if m.enabled else ", disabled"))
    for wm in watermarks:
        say(f"  watermark {{{wm}}} resolved on {watermarks[wm]['connection']}")
    warn_all(m.warnings)
    say(f"Try it with `pipekit run {m.name} --dry-run`.")


@app.command("edit")
@setting_options(edit=True)
def edit(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Module name or id."),
    rename: str | None = typer.Option(None, "--rename", help="New name."),
    as_json: bool = JSON,
    **given: Any,
) -> None:
    """Change a module: only the options given change; '' clears an optional setting."""
    from pipekit.errors import InvalidError

    json_mode(ctx, as_json)
    changes = given_settings(given, edit=True)
    if rename is not None:
        changes["name"] = rename
    if not changes:
        raise InvalidError(
            "nothing to change; give the options to change (see `pipekit modules edit --help`)"
        )
    with open_services(ctx) as sv, labelled(as_json):
        before = sv.modules.show(name)
        after = sv.modules.update(before.id, **changes)
    if as_json:
        emit_json(ctx, after)
        return
    line = _changes_line(before, after)
    if line:
        check_line(OK, f"updated module '{after.name}': {line}")
    else:
        check_line(WARN, f"nothing changed: module '{name}' already has these settings")
    warn_all(after.warnings)


@app.command("list")
def list_(
    ctx: typer.Context,
    enabled: bool | None = typer.Option(
        None, "--enabled/--disabled", help="Only enabled (or disabled) modules."
    ),
    as_json: bool = JSON,
) -> None:
    """List modules: connections, table, strategy, enabled, running, last run."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        modules = sv.modules.list(enabled=enabled)
        last = {} if as_json else sv.modules.last_runs()
    if as_json:
        emit_json(ctx, modules)
        return
    from rich.table import Table

    if not modules:
        say("no modules yet; add one with `pipekit modules add NAME --source ... --dest ...`")
        return
    table = Table("name", "source → dest", "table", "strategy", "enabled", "running", "last run")
    for m in modules:
        run = last.get(m.name)
        table.add_row(
            m.name,
            f"{m.source or '-'} → {m.dest or '-'}",
            m.dest_table or "-",
            m.merge_strategy,
            yes_no(m.enabled),
            yes_no(m.running),
            f"{run.status} {when(run.started_at)}" if run else "never",
        )
    print_table(table)


@app.command("show")
def show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Module name or id."),
    history: bool = typer.Option(False, "--history", help="Also print every recorded change."),
    as_json: bool = typer.Option(
        False, "--json", help=JSON_HELP + " (the module; see also `modules history --json`)"
    ),
) -> None:
    """Show a module: settings, query, watermarks, hooks, checks, groups, last runs."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        if as_json:
            emit_json(ctx, sv.modules.show(name))
            return
        details = sv.modules.details(name, history=history)
    _print_details(details)


def _print_details(d: "ModuleDetails") -> None:
    from rich.table import Table

    m = d.module
    running = "no"
    if m.running:
        running = (
            f"yes (run {m.locked_by_run_id}, pid {d.locked_pid} on {d.locked_host}, "
            f"since {when(m.locked_at)})"
        )
    op = f" ({m.watermark_op})" if m.watermark_column else ""
    print_fields(
        [
            ("name", m.name),
            ("enabled", yes_no(m.enabled)),
            ("running", running),
            ("source → dest", f"{m.source or '-'} → {m.dest or '-'}"),
            ("dest table", m.dest_table or "-"),
            ("strategy", m.merge_strategy),
            ("merge key", m.merge_key or "-"),
            ("watermark column", (m.watermark_column or "-") + op),
            ("lookback", m.lookback or "-"),
            ("safety lag", m.safety_lag or "-"),
            ("key sync", yes_no(m.key_sync)),
            ("full refresh cron", m.full_refresh_cron or "-"),
            ("audit columns", ", ".join(audit_column_names(m)) or "no"),
            ("groups", ", ".join(d.groups) or "-"),
            ("created", when(m.created_at)),
            ("updated", when(m.updated_at)),
        ]
    )
    print_sql("source query", m.source_query)
    if m.key_sync_query:
        print_sql("key sync query", m.key_sync_query)
    say("")
    if d.watermarks:
        t = Table("name", "connection", "resolver SQL", "default", "last value", title="watermarks")
        t.columns[2].overflow = "fold"
        for w in d.watermarks:
            t.add_row(
                "{" + w.name + "}",
                w.connection or "-",
                one_line(w.resolver_sql),
                w.default_value or "-",
                w.last_value or "-",
            )
        print_table(t)
    else:
        say("watermarks: none")
    if d.hooks:
        t = Table("#", "id", "runs on", "sql", title="hooks")
        t.columns[3].overflow = "fold"
        for i, h in enumerate(d.hooks, 1):
            t.add_row(str(i), str(h.id), h.run_on, one_line(h.sql))
        print_table(t)
    else:
        say("hooks: none")
    if d.checks:
        t = Table("#", "name", "sql", title="checks")
        t.columns[2].overflow = "fold"
        for i, c in enumerate(d.checks, 1):
            t.add_row(str(i), c.name, one_line(c.sql))
        print_table(t)
    else:
        say("checks: none")
    if d.runs:
        t = Table("run", "started", "finished", "status", "rows", "by", "error", title="last runs")
        t.columns[6].overflow = "fold"
        for r in d.runs:
            t.add_row(
                str(r.id),
                when(r.started_at),
                when(r.finished_at),
                r.status,
                "" if r.row_count is None else str(r.row_count),
                r.triggered_by or "",
                one_line(r.error, 80),
            )
        print_table(t)
    else:
        say(f"last runs: none; try `pipekit run {m.name} --dry-run`")
    if d.history is not None:
        say("")
        _print_history(d.history)


def _print_history(entries: "list[HistoryView]") -> None:
    say(f"history ({len(entries)} change(s), newest first):")
    for e in entries:
        say(f"  {when(e.changed_at)}  by {e.changed_by or '-'}")
        for field, (old, new) in sorted(e.diff.items()):
            say(f"    {field}: {show_value(old)} → {show_value(new)}")


@app.command("history")
def history(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Module name or id."),
    limit: int | None = typer.Option(None, "--limit", "-n", min=1, help="Newest N changes."),
    as_json: bool = JSON,
) -> None:
    """Every recorded change of a module (its own fields and its parts), newest first."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        entries = sv.modules.history(name, limit=limit)
    if as_json:
        emit_json(ctx, entries)
        return
    _print_history(entries)


@app.command("preview")
def preview(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Module name or id."),
    as_json: bool = JSON,
) -> None:
    """The SQL the next run would execute, without running it: nothing is recorded and
    the destination is only read (exit code 1 when it cannot be planned)."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        p = sv.modules.preview(name)
    if as_json:
        emit_json(ctx, p)
    else:
        print_fields([("strategy", p.merge_strategy or "-")])
        print_sql("source query", p.source_query)
        print_sql("merge SQL", p.merge_sql)
        if p.check_sql:
            print_sql("check SQL", p.check_sql)
        named = p.watermarks.get("named") or {}
        for wm, value in named.items():
            say(f"watermark {{{wm}}} = {value.get('value')} ({value.get('from')})")
        if p.error:
            print_error(p.error)
    if p.error:
        raise typer.Exit(1)


@app.command("rm")
def rm(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Module name or id."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = JSON,
) -> None:
    """Remove a module with its watermarks, hooks, checks and history (its runs stay)."""
    from pipekit.errors import InvalidError

    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        d = sv.modules.details(name, runs=0)
        m = d.module
        if m.running:
            sv.modules.remove(m.id)  # refused, with what to do
        parts = (
            f"{len(d.watermarks)} watermark(s), {len(d.hooks)} hook(s), {len(d.checks)} check(s)"
        )
        if not yes:
            try:
                sure = typer.confirm(
                    f"Remove module '{m.name}' with its {parts} and its history?",
                    default=False,
                    err=as_json,
                )
            except typer.Abort:  # no answer (end of input): end the prompt line
                say("")
                sure = False
            if not sure:
                raise InvalidError(f"module '{m.name}' was not removed (confirm, or pass --yes)")
        sv.modules.remove(m.id)
    if as_json:
        emit_json(ctx, {"deleted": True})
        return
    check_line(OK, f"removed module '{m.name}' with its {parts}; its run history was kept")
    if d.groups:
        say(f"  it was taken out of group(s): {', '.join(d.groups)}")


def _set_enabled(ctx: typer.Context, name: str, enabled: bool, as_json: bool) -> None:
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        before = sv.modules.show(name)
        after = sv.modules.set_enabled(before.id, enabled)
    if as_json:
        emit_json(ctx, after)
        return
    word = "enabled" if enabled else "disabled"
    if before.enabled == enabled:
        check_line(WARN, f"module '{after.name}' was already {word}")
    else:
        check_line(OK, f"{word} module '{after.name}'")


@app.command("enable")
def enable(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Module name or id."),
    as_json: bool = JSON,
) -> None:
    """Switch a module on (group runs and schedules run it again)."""
    _set_enabled(ctx, name, True, as_json)


@app.command("disable")
def disable(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Module name or id."),
    as_json: bool = JSON,
) -> None:
    """Switch a module off (group runs skip it; `pipekit run` still runs it by hand)."""
    _set_enabled(ctx, name, False, as_json)


@app.command("unlock")
def unlock(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Module name or id."),
    as_json: bool = JSON,
) -> None:
    """Free a module's lock by hand (admin). The run holding it ends, cancelled if it
    was queued, error "interrupted" if it ran, and is not retried."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        done = sv.modules.unlock(name)
    if as_json:
        emit_json(ctx, done)
        return
    ended = f"; run {done.run_id} is {done.run_status}" if done.run_status else ""
    check_line(OK, f"{done.message}{ended}")
