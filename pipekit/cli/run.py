"""`pipekit run`, `pipekit run-group` and `pipekit runs list|show|follow|cancel`.

A run goes on in a worker thread while the main thread draws the progress bar
and waits for Ctrl-C: the first Ctrl-C asks the run to stop (it rolls back and
releases the lock), so the destination is never left half-written. Exit codes
(``pipekit.status.exit_code``): 0 success or dry run, 1 error, 3 error after the merge
committed (a hook failed), 130 cancelled; a group exits with its worst member's. Every
command calls ``sv.runs``; with ``--json`` it prints what the REST API answers for the
same request.
"""

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table
from rich.text import Text

from pipekit.cli._context import (
    JSON_HELP,
    emit_json,
    err,
    json_mode,
    open_services,
    out,
    print_table,
    say,
)
from pipekit.run_counters import COUNTERS, counter_text
from pipekit.status import RUN_STATUSES, RunStatus, exit_code, worst_exit_code

if TYPE_CHECKING:
    from pipekit.engine.run import RunEvent
    from pipekit.errors import InvalidError
    from pipekit.services.runs import RunView

runs_app = typer.Typer(
    help="The run log: list runs, show one (SQL, live log), follow one, cancel one."
)

STATUS_STYLE: dict[str, str] = {
    RunStatus.SUCCESS: "green",
    RunStatus.DRY_RUN: "cyan",
    RunStatus.ERROR: "red",
    RunStatus.CANCELLED: "yellow",
    RunStatus.RUNNING: "blue",
    RunStatus.QUEUED: "magenta",
}
#: how often `runs show --follow` and `runs follow` look at the run log (seconds)
FOLLOW_POLL_S = 0.5


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


def run(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="Module name (or id)."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Resolve watermarks and record the SQL; move no data."
    ),
    full_refresh: bool = typer.Option(
        False, "--full-refresh", help="Read every source row and replace the destination."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the finished run as JSON (as the REST API shows runs)."
    ),
) -> None:
    """Run one module now and print what it did."""
    from pipekit.services.runs import preload_engine

    json_mode(ctx, as_json)
    preload_engine()  # before start-up ends (open_services), see pipekit.cli._startup
    with open_services(ctx) as sv:
        name = sv.runs.resolve_module(module)  # unknown: a clear error before any output
        finished = _in_worker(
            lambda cancel, on_event: sv.runs.run(
                name,
                dry_run=dry_run,
                full_refresh=full_refresh,
                cancel=cancel,
                on_event=on_event,
            )
        )
    if as_json:
        emit_json(ctx, finished)
    else:
        _summary([finished])
        if finished.status == RunStatus.DRY_RUN:
            _print_plan(finished)
    raise typer.Exit(exit_code(finished.status, finished.committed))


def _print_plan(r: "RunView") -> None:
    """What a dry run found it would do: its watermark values and SQL."""
    say("dry run: nothing was read into the destination; a run would use", "cyan")
    lines = watermark_lines(r.watermarks_json)
    if lines:
        say("-- watermarks", "bold")
        for line in lines:
            say(f"  {line}")
    for title, text in (("source SQL", r.source_query), ("merge SQL", r.merge_sql)):
        say(f"-- {title}", "bold")
        out().print(Text(text or "(none)"))


def watermark_lines(watermarks_json: str | None) -> list[str]:
    """A run's watermarks as lines a person reads: the column's window, then each
    named watermark with its value and where it came from."""
    import json

    if not watermarks_json:
        return []
    data = json.loads(watermarks_json)
    lines: list[str] = []
    column = data.get("column")
    if column:
        window = (
            " and ".join(
                f"{column['column']} {bound}"
                for bound in (column.get("lower"), column.get("upper"))
                if bound
            )
            or f"{column['column']}: every row"
        )
        lines.append(f"column    {window} (destination max {column.get('destination_max')})")
    for name, item in (data.get("named") or {}).items():
        lines.append(f"{{{name}}}  = {item.get('value')} ({item.get('from')})")
    for key, value in data.items():
        if key not in ("column", "named"):
            lines.append(f"{key} = {value}")
    return lines


def run_group(
    ctx: typer.Context,
    group: str = typer.Argument(..., help="Group name (or id)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Dry-run every member."),
    full_refresh: bool = typer.Option(False, "--full-refresh", help="Full refresh every member."),
    as_json: bool = typer.Option(
        False, "--json", help="Print the finished group run with its runs as JSON (as the API)."
    ),
) -> None:
    """Run a group's enabled modules in order; failures do not stop the rest."""
    from pipekit.services.runs import preload_engine

    json_mode(ctx, as_json)
    preload_engine()
    with open_services(ctx) as sv:
        name = sv.runs.resolve_group(group)
        outcome = _in_worker(
            lambda cancel, on_event: sv.runs.run_group(
                name,
                dry_run=dry_run,
                full_refresh=full_refresh,
                cancel=cancel,
                on_event=on_event,
            )
        )
    gr = outcome.group_run
    # the worst of its members' codes; a member refused (busy, disabled) is an error
    members = [exit_code(r.status, r.committed) for r in gr.runs]
    code = worst_exit_code(members + [exit_code(RunStatus.ERROR)] * len(outcome.refused))
    if not members and not outcome.refused:
        code = exit_code(gr.status)
    if as_json:
        emit_json(ctx, gr)
        raise typer.Exit(code)
    _summary(gr.runs)
    for message in outcome.refused:
        err().print(Text(f"not run: {message}", style="red"))
    say(f"group {gr.group_name} (group run {gr.id}): {gr.status}", STATUS_STYLE.get(gr.status))
    raise typer.Exit(code)


def _fmt(n: int | None) -> str:
    return "" if n is None else f"{n:,}"


def _duration(run: "RunView") -> str:
    if run.finished_at is None:
        return ""
    return f"{(run.finished_at - run.started_at).total_seconds():.1f} s"


def _summary(runs: "list[RunView]") -> None:
    table = Table(title=None, show_edge=False)
    for col in ("run", "module", "status", "strategy"):
        table.add_column(col, justify="right" if col == "run" else "left")
    for counter in COUNTERS:  # the same words as runs show, the API docs and the console
        table.add_column(counter.word, justify="right")
    table.add_column("time", justify="right")
    for r in runs:
        table.add_row(
            str(r.id),
            r.module_name,
            Text(r.status, style=STATUS_STYLE.get(r.status, "")),
            r.merge_strategy or "",
            *(_fmt(getattr(r, counter.field)) for counter in COUNTERS),
            _duration(r),
        )
    print_table(table)
    for r in runs:
        for change in (r.schema_changes or "").splitlines():
            say(f"run {r.id} ({r.module_name}): {change}", "yellow")
        if r.error:
            err().print(Text(f"run {r.id} ({r.module_name}): {r.error}", style="red"))


def _bad_option(exc: "InvalidError", as_json: bool) -> Exception:
    """A refused filter: in JSON mode the error itself (printed as JSON), else a usage
    error on the option it concerns (exit code 2, as Typer's own checks)."""
    if as_json or not exc.path:
        return exc
    return typer.BadParameter(exc.message, param_hint=f"--{exc.path}")


@runs_app.command("list")
def runs_list(
    ctx: typer.Context,
    module: str | None = typer.Option(None, "--module", "-m", help="Only this module's runs."),
    group: str | None = typer.Option(None, "--group", "-g", help="Only runs of this group."),
    status: str | None = typer.Option(
        None, "--status", "-s", help=f"One of {', '.join(RUN_STATUSES)}."
    ),
    since: str | None = typer.Option(
        None, "--since", help="Started at or after (ISO 8601, e.g. 2026-01-31T08:00:00Z)."
    ),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many (newest first)."),
    offset: int = typer.Option(0, "--offset", min=0, help="Skip this many of the newest."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Recent runs, newest first."""
    from pipekit.errors import InvalidError

    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        try:
            runs = sv.runs.list(
                module=module, group=group, status=status, since=since, limit=limit, offset=offset
            )
        except InvalidError as exc:
            raise _bad_option(exc, as_json) from None
    if as_json:
        emit_json(ctx, runs)
        return
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
    print_table(table)


def _print_log(line: str, as_json: bool) -> None:
    # With --json, stdout holds the JSON only; the log goes to stderr.
    (err() if as_json else out()).print(Text(line))


@runs_app.command("show")
def runs_show(
    ctx: typer.Context,
    run_id: int = typer.Argument(..., help="Run id (see `pipekit runs list`)."),
    sql: bool = typer.Option(False, "--sql", help="Also print the source, merge, check, hook SQL."),
    as_json: bool = typer.Option(
        False, "--json", help="The whole run record as JSON (as the REST API returns it)."
    ),
    follow: bool = typer.Option(
        False, "--follow", "-f", help="Print the live log as it grows until the run ends."
    ),
) -> None:
    """One run: status, counts, watermarks, error, live log (and SQL with --sql)."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        if follow:
            for item in sv.runs.follow(run_id, poll_s=FOLLOW_POLL_S):
                if isinstance(item, str):
                    _print_log(item, as_json)
        r = sv.runs.show(run_id)
    # Followed to its end, the exit code is the run's (as `pipekit run` gives it);
    # only showing a run is a read that worked: 0.
    code = exit_code(r.status, r.committed) if follow else 0
    if as_json:
        emit_json(ctx, r)
        raise typer.Exit(code)
    style = STATUS_STYLE.get(r.status, "")
    say(f"run {r.id} of {r.module_name}: {r.status}", style)
    started = r.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    say(f"  started {started}, {_duration(r) or 'still running'}, by {r.triggered_by}")
    if r.group_run_id:
        say(f"  group run {r.group_run_id}")
    say(f"  strategy {r.merge_strategy or '-'}; rows: {counter_text(r) or '-'}")
    for i, line in enumerate(watermark_lines(r.watermarks_json)):
        say(f"  {'watermarks' if i == 0 else '':<10} {line}")
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
    raise typer.Exit(code)


@runs_app.command("follow")
def runs_follow(
    ctx: typer.Context,
    run_id: int = typer.Argument(..., help="Run id (see `pipekit runs list`)."),
    as_json: bool = typer.Option(
        False, "--json", help="Print the finished run as JSON (the log goes to stderr)."
    ),
) -> None:
    """Print a run's live log as it grows, until the run ends.

    The exit code is the run's, as `pipekit run` gives it (0 success or dry run, 1
    error, 3 committed but a hook failed, 130 cancelled); a run that has ended prints
    its whole log at once.
    """
    from pipekit.services.runs import RunView

    json_mode(ctx, as_json)
    finished: RunView | None = None
    with open_services(ctx) as sv:
        for item in sv.runs.follow(run_id, poll_s=FOLLOW_POLL_S):
            if isinstance(item, RunView):
                finished = item
            else:
                _print_log(item, as_json)
    assert finished is not None  # follow ends with the finished run
    if as_json:
        emit_json(ctx, finished)
    else:
        say(
            f"run {finished.id} of {finished.module_name}: {finished.status}",
            STATUS_STYLE.get(finished.status),
        )
        if finished.error:
            err().print(Text(f"  error: {finished.error}", style="red"))
    raise typer.Exit(exit_code(finished.status, finished.committed))


@runs_app.command("prune")
def runs_prune(
    ctx: typer.Context,
    older_than: str = typer.Option(
        ..., "--older-than", help="Age of the runs to delete: 90d, 12h, 2w."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only count what would go."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Delete finished runs (and emptied group runs) that started before a given age."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        done = sv.runs.prune(older_than, dry_run=dry_run)
    if as_json:
        emit_json(ctx, done)
        return
    verb = "would delete" if done.dry_run else "deleted"
    when_ = done.before.astimezone().strftime("%Y-%m-%d %H:%M")
    say(f"{verb} {done.runs:,} run(s) and {done.group_runs:,} group run(s) started before {when_}")


@runs_app.command("cancel")
def runs_cancel(
    ctx: typer.Context,
    run_id: int = typer.Argument(..., help="Id of a running run."),
    as_json: bool = typer.Option(
        False, "--json", help="Print the answer as JSON (as the REST API returns it)."
    ),
) -> None:
    """Ask a running run (in any process) to stop; it rolls back and releases its lock."""
    json_mode(ctx, as_json)
    with open_services(ctx) as sv:
        module = sv.runs.show(run_id).module_name
        answer = sv.runs.cancel(run_id)
    if as_json:
        emit_json(ctx, answer)
        return
    say(f"cancel requested for run {run_id} ({module}); it stops within a second or two")
