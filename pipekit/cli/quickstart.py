"""`pipekit quickstart [DIR]`: a working demo in one folder, no server needed.

Setup and checks are the service ``pipekit.services.quickstart`` (its sample
data comes from ``pipekit.samples``); this module runs the group twice (with
the same progress bar as `pipekit run-group`) and prints what happened.
"""

import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table
from rich.text import Text

from pipekit.cli._context import BAD, OK, WARN, check_line, err, print_table, say
from pipekit.run_counters import COUNTERS
from pipekit.status import RunStatus

if TYPE_CHECKING:
    from pipekit.engine.run import RunEvent
    from pipekit.services.quickstart import Changes, Quickstart
    from pipekit.services.runs import GroupRunOutcome, RunView

#: live-log lines printed under the progress bar (the run log keeps all of them)
_LOG_SHOWN = ("watermark", "check ", "committed", "error", "cancelled", "full refresh")


def quickstart(
    directory: Path = typer.Argument(
        Path("pipekit-quickstart"),
        help="Folder to build the demo in (created if missing).",
        show_default=True,
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Recreate the demo if DIR holds one: deletes its config, state database "
        "(with any connections and modules added to it), source.db and warehouse.duckdb.",
    ),
) -> None:
    """Build a demo: SQLite source with sample data, DuckDB warehouse, modules; sync it twice.

    Everything lives in DIR (config, state database, source.db,
    warehouse.duckdb). The first run copies everything; then some source rows
    change and the second, incremental run moves only those.
    """
    from pipekit.services import quickstart as qs

    started = time.monotonic()
    shown = _shown(directory)
    demo = qs.setup(directory, force=force)
    say(f"Built a Pipekit quickstart in {shown}/", "bold")
    _describe_setup(demo, shown)

    say("")
    say("Run 1: the first sync reads every row", "bold")
    first = _run(demo)
    _results(first)
    if first.group_run.status != RunStatus.SUCCESS:
        _failed(first, shown)
        _next_steps(demo, shown, first)
        raise typer.Exit(1)

    say("")
    say("Changing the source, as an application would", "bold")
    changes = qs.apply_changes(demo.source_path)
    say(
        f"  orders: {len(changes.orders_updated)} updated, {len(changes.orders_inserted)} "
        f"new, {len(changes.orders_deleted)} deleted; customers: "
        f"{len(changes.customers_updated)} updated (updated_at = {changes.at:%Y-%m-%d %H:%M:%S} "
        "UTC)"
    )

    say("")
    say("Run 2: incremental — only the changes move", "bold")
    second = _run(demo)
    _results(second)
    ok = second.group_run.status == RunStatus.SUCCESS
    if ok:
        ok = _verify(demo, second, changes)
    else:
        _failed(second, shown)
    _next_steps(demo, shown, second)
    say(f"done in {time.monotonic() - started:.1f} s", "dim")
    raise typer.Exit(0 if ok else 1)


def _shown(directory: Path) -> str:
    """DIR as the user wrote it (shorter in the commands printed), without a trailing /."""
    text = str(directory.expanduser())
    return text.rstrip("/") or "/"


def _cmd(*parts: str) -> str:
    return " ".join(shlex.quote(p) for p in parts)


def _describe_setup(demo: "Quickstart", shown: str) -> None:
    from pipekit.services import quickstart as qs

    rows = demo.source.rows
    check_line(
        OK,
        f"config {shown}/{qs.CONFIG_FILE} and state database {qs.STATE_DB} "
        f"(schema version {demo.schema_version})",
    )
    check_line(
        OK,
        f"source {qs.SOURCE_DB} (SQLite): {rows['products']:,} products, "
        f"{rows['customers']:,} customers, {rows['orders']:,} orders",
    )
    check_line(OK, f"warehouse {qs.WAREHOUSE_DB} (DuckDB), tables in schema '{qs.SCHEMA}'")
    check_line(OK, f"connections '{qs.SOURCE}' and '{qs.WAREHOUSE}'")
    check_line(OK, "modules:")
    width = max(len(m["name"]) for m in qs.MODULES)
    for m in qs.MODULES:
        extra = [f"key {m['merge_key']}"]
        if m.get("watermark_column"):
            extra.append(f"watermark {m['watermark_column']}")
        if m.get("lookback"):
            extra.append(f"lookback {m['lookback']}")
        if m.get("key_sync"):
            extra.append("key_sync")
        if m.get("checks"):
            extra.append("checks " + ", ".join(name for name, _ in m["checks"]))
        say(
            f"    {m['name']:<{width}}  {m['merge_strategy']:<11} → {m['dest_table']:<15} "
            + "; ".join(extra)
        )
    check_line(
        OK,
        f"group '{qs.GROUP}': {' → '.join(demo.modules)}; schedule {demo.schedule_id} "
        f"'{qs.SCHEDULE}' (next {_next_fire(demo)}; fires only while a server runs)",
    )


def _next_fire(demo: "Quickstart") -> str:
    """When the scheduler would fire the demo's schedule (its own computation)."""
    from pipekit.services import Services

    with Services.open(demo.config(), actor="quickstart") as sv:
        fire = sv.schedules.show(demo.schedule_id).next_fire_at
    return f"{fire.astimezone():%Y-%m-%d %H:%M} local" if fire else "-"


def _run(demo: "Quickstart") -> "GroupRunOutcome":
    from pipekit.cli.run import _in_worker
    from pipekit.services import Services
    from pipekit.services import quickstart as qs

    def work(cancel: threading.Event, on_event: "Callable[[RunEvent], None]") -> "GroupRunOutcome":
        def shown(event: "RunEvent") -> None:
            # The progress bar shows every event; of the live log, only the lines that
            # explain the sync (watermark window, checks, what the merge did, errors).
            message = event.message
            if message and message.startswith(_LOG_SHOWN):
                message = f"{event.module}: {message}"
            else:
                message = None
            on_event(replace(event, message=message))

        return sv.runs.run_group(qs.GROUP, cancel=cancel, on_event=shown)

    with Services.open(demo.config(), actor="quickstart") as sv:
        return _in_worker(work)


def _fmt(n: int | None) -> str:
    return "" if n is None else f"{n:,}"


def _results(result: "GroupRunOutcome") -> None:
    from pipekit.cli.run import STATUS_STYLE, _duration

    table = Table(show_edge=False)
    table.add_column("module")
    table.add_column("status")
    table.add_column("strategy")
    for counter in COUNTERS:  # the words `pipekit run` and `runs show` use
        table.add_column(counter.word, justify="right")
    table.add_column("time", justify="right")
    for r in result.group_run.runs:
        table.add_row(
            r.module_name,
            Text(r.status, style=STATUS_STYLE.get(r.status, "")),
            r.merge_strategy or "",
            *(_fmt(getattr(r, counter.field)) for counter in COUNTERS),
            _duration(r),
        )
    print_table(table)


def _failed(result: "GroupRunOutcome", shown: str) -> None:
    for r in result.group_run.runs:
        if r.error:
            err().print(Text(f"run {r.id} ({r.module_name}): {r.error}", style="red"))
    for message in result.refused:
        err().print(Text(f"not run: {message}", style="red"))
    gr = result.group_run
    err().print(Text(f"error: group run {gr.id} of '{gr.group_name}' ended {gr.status}", "red"))


def _by_module(runs: "list[RunView]") -> "dict[str, RunView]":
    return {r.module_name: r for r in runs}


def _verify(demo: "Quickstart", result: "GroupRunOutcome", changes: "Changes") -> bool:
    """Print what the incremental run should have done, and whether it did; all good?"""
    from pipekit.services import quickstart as qs

    runs = _by_module(result.group_run.runs)
    expected = qs.expected_reads(changes, demo.source.rows)
    ok = True

    def line(good: bool, message: str) -> None:
        nonlocal ok
        ok = ok and good
        check_line(OK if good else BAD, message)

    say("")
    missing = [m for m in expected if m not in runs]
    if missing:
        line(False, f"module(s) {', '.join(missing)} did not run")
        return False
    n = runs["customers"].rows_read
    line(
        n == expected["customers"],
        f"customers read {_fmt(n)} row(s): the {expected['customers']} updated customers "
        f"(upsert, updated_at > the warehouse's newest)",
    )
    n = runs["orders"].rows_read
    reread = len(changes.orders_in_lookback)
    line(
        n == expected["orders"],
        f"orders read {_fmt(n)} row(s): the {changes.orders_changed} changed "
        f"({len(changes.orders_updated)} updated, {len(changes.orders_inserted)} new) + "
        f"{reread} unchanged inside the {qs.ORDERS_LOOKBACK} lookback (replaced by key, "
        "never duplicated)",
    )
    n = runs["products"].rows_read
    check_line(
        WARN if n != expected["products"] else OK,
        f"products read {_fmt(n)} row(s): a full module re-reads its whole table every run",
    )
    left = qs.ids_present(demo, "orders", changes.orders_deleted)
    line(
        not left,
        f"key_sync deleted the {len(changes.orders_deleted)} orders deleted in the source"
        + (f" (still there: {', '.join(map(str, left))})" if left else ""),
    )
    for c in qs.compare_tables(demo):
        same = c.identical and c.source_rows == c.warehouse_rows
        detail = "every row identical" if same else "rows differ"
        if c.only_in_source or c.only_in_warehouse:
            detail += (
                f"; ids only in the source: {list(c.only_in_source)}, only in the warehouse: "
                f"{list(c.only_in_warehouse)}"
            )
        line(
            same,
            f"{c.dest_table}: {c.warehouse_rows:,} rows, source {c.table}: "
            f"{c.source_rows:,} ({detail})",
        )
    return ok


def _serve_exists() -> bool:
    from pipekit.cli import app

    names = {c.name for c in app.registered_commands}
    names |= {g.name for g in app.registered_groups}
    return "serve" in names


def _next_steps(demo: "Quickstart", shown: str, result: "GroupRunOutcome") -> None:
    from pipekit.services import quickstart as qs

    config = f"{shown}/{qs.CONFIG_FILE}"
    warehouse = f"{shown}/{qs.WAREHOUSE_DB}"
    orders_run: Any = _by_module(result.group_run.runs).get("orders")
    run_id = str(orders_run.id) if orders_run else "ID"
    say("")
    say("Next steps", "bold")
    export = f"export PIPEKIT_CONFIG={shlex.quote(str(demo.config_path))}"
    say(f"  Look around (or `{export}` and drop --config):")
    commands = [
        (_cmd("pipekit", "--config", config, *args), what)
        for args, what in (
            (("runs", "list"), "every run, newest first"),
            (("runs", "show", run_id, "--sql"), "one run: watermarks, source and merge SQL, log"),
            (("modules", "list"), "the three modules"),
            (("groups", "show", qs.GROUP), "the group, its schedule and group runs"),
            (("export",), "everything as YAML, ready for git and `pipekit apply`"),
        )
    ]
    width = max(len(c) for c, _ in commands)
    for command, what in commands:
        say(f"    {command:<{width}}  # {what}")
    say("  Run the group again (nothing changed, so little moves):")
    say(f"    {_cmd('pipekit', '--config', config, 'run-group', qs.GROUP)}")
    say("  Query the warehouse (with the duckdb CLI, or Python):")
    sql = "SELECT status, count(*), sum(amount) FROM shop.orders GROUP BY status ORDER BY 2 DESC"
    say(f"    {_cmd('duckdb', warehouse, sql)}")
    py = f'import duckdb; duckdb.connect("{warehouse}", read_only=True).sql("{sql}").show()'
    say(f"    {_cmd('python', '-c', py)}")
    config_values = demo.config()
    if _serve_exists():
        url = f"http://{config_values['api.host']}:{config_values['api.port']}"
        say("  Serve the web console, the REST API and the scheduler (it fires the nightly")
        say("  schedule); set a user first:")
        say(f"    {_cmd('pipekit', '--config', config, 'set-password', 'admin')}")
        serve = _cmd("pipekit", "--config", config, "serve")
        say(f"    {serve}   # console at {url}/, API at {url}/api, docs {url}/docs")
        tui = _cmd("pipekit", "--config", config, "tui")
        say(f"    {tui}   # the terminal UI (user admin), from another terminal")
    else:
        say(
            "  Server: `pipekit serve` (with its scheduler, which fires the nightly schedule) "
            "is coming in a later release."
        )
    say(f"  Start over: `pipekit quickstart {shlex.quote(shown)} --force`; clean up: "
        f"`rm -r {shlex.quote(shown)}`.")  # fmt: skip
