"""`pipekit run`, `pipekit run-group` and `pipekit runs list|show|cancel`.

A run goes on in a worker thread while the main thread draws the progress bar
and waits for Ctrl-C: the first Ctrl-C asks the run to stop (it rolls back and
releases the lock), so the destination is never left half-written. Exit codes:
0 success or dry run, 1 error, 130 cancelled.
"""

import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table
from rich.text import Text

from pipekit.cli._context import err, load, open_store, out, say

if TYPE_CHECKING:
    from pipekit.engine.run import RunEvent
    from pipekit.store.runs import Run

runs_app = typer.Typer(help="The run log: list runs, show one (SQL, live log), cancel one.")

EXIT_CODES = {"success": 0, "dry_run": 0, "error": 1, "cancelled": 130}
STATUS_STYLE = {
    "success": "green",
    "dry_run": "cyan",
    "error": "red",
    "cancelled": "yellow",
    "running": "blue",
}


def _in_worker(work: "Callable[[threading.Event, Callable[[RunEvent], None]], Any]") -> Any:
    """Run `work` in a thread with a Rich progress bar; Ctrl-C sets the cancel event."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    cancel = threading.Event()
    result: dict[str, Any] = {}
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[module]}[/bold]"),
        TextColumn("{task.fields[phase]:<10}"),
        BarColumn(bar_width=None),
        TextColumn("{task.fields[rows]:>12,} rows"),
        TextColumn("{task.fields[rate]:>10,.0f} rows/s"),
        TimeElapsedColumn(),
        console=err(),
        transient=True,
    )
    task = progress.add_task("run", total=None, module="", phase="start", rows=0, rate=0.0)

    def on_event(event: "RunEvent") -> None:
        progress.update(
            task,
            module=event.module,
            phase=event.phase,
            rows=event.rows,
            rate=event.rows_per_s,
        )
        if event.message:
            progress.console.print(Text(f"  {event.message}", style="dim"))

    done = threading.Event()

    def target() -> None:
        try:
            result["value"] = work(cancel, on_event)
        except BaseException as exc:
            result["error"] = exc
        finally:
            done.set()

    # Waiting on an Event rather than Thread.join: a join interrupted by Ctrl-C can
    # leave the thread looking finished while it still runs.
    thread = threading.Thread(target=target, name="pipekit-run", daemon=True)
    with progress:
        thread.start()
        while not done.is_set():
            try:
                done.wait(0.1)
            except KeyboardInterrupt:
                if not cancel.is_set():
                    progress.console.print(
                        Text("cancelling: rolling back, the destination stays as it was…",
                             style="yellow")
                    )  # fmt: skip
                cancel.set()
    if "error" in result:
        raise result["error"]
    return result["value"]


def _engine(ctx: typer.Context) -> Any:
    from pipekit.engine.run import Engine

    config = load(ctx)
    store = open_store(ctx)
    return Engine.from_config(store, config)


def run(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Resolve watermarks and record the SQL; move no data."
    ),
    full_refresh: bool = typer.Option(
        False, "--full-refresh", help="Read every source row and replace the destination."
    ),
) -> None:
    """Run one module now and print what it did."""
    engine = _engine(ctx)
    with engine.store:
        engine.store.modules.get(module)  # unknown module: a clear error before any output
        finished = _in_worker(
            lambda cancel, on_event: engine.run_module(
                module,
                dry_run=dry_run,
                full_refresh=full_refresh,
                triggered_by="cli",
                cancel=cancel,
                on_event=on_event,
            )
        )
    _summary([finished])
    raise typer.Exit(EXIT_CODES.get(finished.status, 1))


def run_group(
    ctx: typer.Context,
    group: str = typer.Argument(..., help="Group name."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Dry-run every member."),
    full_refresh: bool = typer.Option(False, "--full-refresh", help="Full refresh every member."),
) -> None:
    """Run a group's enabled modules in order; failures do not stop the rest."""
    from pipekit.engine.run import run_group as run_group_

    engine = _engine(ctx)
    with engine.store:
        engine.store.groups.get(group)
        result = _in_worker(
            lambda cancel, on_event: run_group_(
                engine,
                group,
                dry_run=dry_run,
                full_refresh=full_refresh,
                triggered_by="cli",
                cancel=cancel,
                on_event=on_event,
            )
        )
    _summary(result.runs)
    for message in result.refused:
        err().print(Text(f"not run: {message}", style="red"))
    gr = result.group_run
    say(f"group {gr.group_name} (group run {gr.id}): {gr.status}", STATUS_STYLE.get(gr.status))
    raise typer.Exit(EXIT_CODES.get(gr.status, 1))


def _fmt(n: int | None) -> str:
    return "" if n is None else f"{n:,}"


def _duration(run: "Run") -> str:
    if run.finished_at is None:
        return ""
    return f"{(run.finished_at - run.started_at).total_seconds():.1f} s"


def _summary(runs: "list[Run]") -> None:
    table = Table(title=None, show_edge=False)
    for col in ("run", "module", "status", "strategy", "read", "inserted", "deleted", "rows"):
        table.add_column(col, justify="right" if col in ("run", "read") else "left")
    table.add_column("time", justify="right")
    for r in runs:
        table.add_row(
            str(r.id),
            r.module_name,
            Text(r.status, style=STATUS_STYLE.get(r.status, "")),
            r.merge_strategy or "",
            _fmt(r.rows_read),
            _fmt(r.rows_inserted),
            _fmt(r.rows_deleted),
            _fmt(r.row_count),
            _duration(r),
        )
    out().print(table)
    for r in runs:
        if r.error:
            err().print(Text(f"run {r.id} ({r.module_name}): {r.error}", style="red"))


@runs_app.command("list")
def runs_list(
    ctx: typer.Context,
    module: str | None = typer.Option(None, "--module", "-m", help="Only this module's runs."),
    status: str | None = typer.Option(
        None, "--status", "-s", help="running, success, dry_run, error or cancelled."
    ),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many (newest first)."),
) -> None:
    """Recent runs, newest first."""
    from pipekit.store.schema import RUN_STATUSES

    if status is not None and status not in RUN_STATUSES:
        raise typer.BadParameter(
            f"'{status}' is not a run status; use one of {', '.join(RUN_STATUSES)}",
            param_hint="--status",
        )
    with open_store(ctx) as store:
        runs = store.runs.list(module=module, status=status, limit=limit)
    if not runs:
        say("no runs yet" + (f" of module {module}" if module else ""))
        return
    table = Table(show_edge=False)
    for col in ("run", "module", "started", "status", "strategy", "read", "time", "by"):
        table.add_column(col)
    for r in runs:
        table.add_row(
            str(r.id),
            r.module_name,
            r.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            Text(r.status, style=STATUS_STYLE.get(r.status, "")),
            r.merge_strategy or "",
            _fmt(r.rows_read),
            _duration(r),
            r.triggered_by or "",
        )
    out().print(table)


@runs_app.command("show")
def runs_show(
    ctx: typer.Context,
    run_id: int = typer.Argument(..., help="Run id (see `pipekit runs list`)."),
    sql: bool = typer.Option(False, "--sql", help="Also print the source, merge, check, hook SQL."),
    as_json: bool = typer.Option(False, "--json", help="The whole run record as JSON."),
    follow: bool = typer.Option(
        False, "--follow", "-f", help="Print the live log as it grows until the run ends."
    ),
) -> None:
    """One run: status, counts, watermarks, error, live log (and SQL with --sql)."""
    from dataclasses import asdict

    with open_store(ctx) as store:
        r = store.runs.get(run_id)
        if follow:
            printed = 0
            while True:
                r = store.runs.get(run_id)
                log = r.live_log or ""
                if len(log) > printed:
                    out().print(Text(log[printed:].rstrip("\n")))
                    printed = len(log)
                if r.status != "running":
                    break
                time.sleep(0.5)
    if as_json:
        record = asdict(r)
        for key, value in list(record.items()):
            if hasattr(value, "isoformat"):
                record[key] = value.isoformat()
        out().print_json(json.dumps(record, default=str))
        raise typer.Exit(EXIT_CODES.get(r.status, 0) if r.status != "running" else 0)
    style = STATUS_STYLE.get(r.status, "")
    say(f"run {r.id} of {r.module_name}: {r.status}", style)
    started = r.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    say(f"  started {started}, {_duration(r) or 'still running'}, by {r.triggered_by}")
    if r.group_run_id:
        say(f"  group run {r.group_run_id}")
    say(
        f"  strategy {r.merge_strategy or '-'}; read {_fmt(r.rows_read) or '-'}, inserted "
        f"{_fmt(r.rows_inserted) or '-'}, deleted {_fmt(r.rows_deleted) or '-'}, "
        f"destination rows {_fmt(r.row_count) or '-'}"
    )
    if r.watermarks_json and r.watermarks_json != "{}":
        say(f"  watermarks {r.watermarks_json}")
    if r.schema_changes:
        say("  schema changes: " + "; ".join(r.schema_changes.splitlines()))
    if r.error:
        err().print(Text(f"  error: {r.error}", style="red"))
    if sql:
        for title, text in (
            ("source SQL", r.source_query),
            ("merge SQL", r.merge_sql),
            ("checks", r.check_sql),
            ("hooks", r.hook_sql),
        ):
            if text:
                say(f"-- {title}", "bold")
                out().print(Text(text))
    if not follow and r.live_log:
        say("-- live log", "bold")
        out().print(Text(r.live_log.rstrip("\n")))


@runs_app.command("cancel")
def runs_cancel(
    ctx: typer.Context,
    run_id: int = typer.Argument(..., help="Id of a running run."),
) -> None:
    """Ask a running run (in any process) to stop; it rolls back and releases its lock."""
    from pipekit.errors import PipekitError

    with open_store(ctx) as store:
        r = store.runs.get(run_id)
        if not store.runs.request_cancel(run_id):
            raise PipekitError(f"run {run_id} is not running (it is {r.status}); nothing to cancel")
    say(f"cancel requested for run {run_id} ({r.module_name}); it stops within a second or two")
