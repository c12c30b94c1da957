"""RunService against a real SQLite state DB, a SQLite source and a DuckDB warehouse:
in-process runs and group runs, lookups with "did you mean", the run log's filters and
their refusals, live log and follow, cancel."""

from __future__ import annotations

import datetime as dt
import os
import socket
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import duckdb
import pytest

from pipekit.config import load_config
from pipekit.errors import (
    InvalidError,
    ModuleBusyError,
    NotFoundError,
    NotRunningError,
    UnavailableError,
)
from pipekit.services import Services
from pipekit.services.runs import (
    GroupRunDetailView,
    LiveView,
    RunDetailView,
    RunView,
    check_status,
    parse_since,
)
from pipekit.services.views import to_json
from pipekit.status import RUN_STATUSES


@pytest.fixture
def sv(tmp_path: Path) -> Iterator[Services]:
    """Services over a fresh state DB with module `orders` (SQLite → DuckDB), module
    `broken` (its query fails) and group `nightly` (orders, broken)."""
    (tmp_path / "pipekit.yaml").write_text("database: state.db\n")
    src = tmp_path / "src.db"
    with closing(sqlite3.connect(src)) as db:
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL)")
        db.executemany("INSERT INTO orders VALUES (?, ?)", [(i, i * 2.5) for i in range(1, 8)])
        db.commit()
    with Services.open(load_config(tmp_path / "pipekit.yaml")) as services:
        store = services.store
        store.init()
        store.connections.add("src", f"sqlite:///{src}")
        store.connections.add("dw", f"duckdb:///{tmp_path / 'dw.duckdb'}?create=true")
        common = {"source": "src", "dest": "dw", "merge_strategy": "full"}
        store.modules.add(
            "orders", dest_table="main.orders", source_query="SELECT id, amount FROM orders",
            **common,
        )  # fmt: skip
        store.modules.add(
            "broken", dest_table="main.broken", source_query="SELECT x FROM no_such_table",
            **common,
        )  # fmt: skip
        store.groups.add("nightly", members=["orders", "broken"])
        yield services


def warehouse_rows(folder: Path) -> int:
    with duckdb.connect(str(folder / "dw.duckdb"), read_only=True) as db:
        return db.execute("SELECT count(*) FROM main.orders").fetchone()[0]


# -- running in this process -------------------------------------------------------------


def test_run_moves_the_rows_and_answers_the_finished_run(sv: Services, tmp_path: Path) -> None:
    events = []
    run = sv.runs.run("orders", on_event=events.append)
    assert isinstance(run, RunView) and not isinstance(run, RunDetailView)
    assert (run.module_name, run.status, run.rows_read, run.triggered_by) == (
        "orders",
        "success",
        7,
        "cli",
    )
    assert run.finished_at is not None and run.error is None
    assert warehouse_rows(tmp_path) == 7
    assert any(e.message and "committed" in e.message for e in events)
    # the answered run is the run log's record of it
    assert sv.runs.list(module="orders") == [run]


def test_run_by_id_and_as_another_actor(sv: Services) -> None:
    module_id = sv.store.modules.get("orders").id
    run = sv.as_actor("api:alice").runs.run(str(module_id), dry_run=True)
    assert (run.module_name, run.status, run.triggered_by) == ("orders", "dry_run", "api:alice")


def test_a_failed_run_is_answered_not_raised(sv: Services) -> None:
    run = sv.runs.run("broken")
    assert run.status == "error" and "no_such_table" in (run.error or "")


def test_a_preset_cancel_ends_the_run_cancelled(sv: Services, tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    run = sv.runs.run("orders", cancel=cancel)
    assert run.status == "cancelled"
    assert not (tmp_path / "dw.duckdb").exists() or "orders" not in str(
        duckdb.connect(str(tmp_path / "dw.duckdb"), read_only=True)
        .execute("SELECT table_name FROM information_schema.tables")
        .fetchall()
    )


@pytest.mark.parametrize(
    ("key", "fragments"),
    [
        ("ordrs", ["no module named 'ordrs'", "did you mean 'orders'?", "known: broken, orders"]),
        ("999", ["no module with id 999", "known: broken, orders"]),
    ],
)
def test_an_unknown_module_is_not_found_with_a_suggestion(
    sv: Services, key: str, fragments: list[str]
) -> None:
    for call in (sv.runs.run, sv.runs.resolve_module):
        with pytest.raises(NotFoundError) as caught:
            call(key)
        for fragment in fragments:
            assert fragment in str(caught.value)
    assert sv.runs.list() == []  # nothing was recorded


def test_a_held_lock_refuses_a_second_run(sv: Services) -> None:
    holder = sv.store.runs.begin(
        "orders", triggered_by="test", pid=os.getpid(), host=socket.gethostname()
    )
    with pytest.raises(ModuleBusyError) as caught:
        sv.runs.run("orders")
    assert caught.value.run_id == holder


def test_run_group_answers_the_group_run_with_its_runs(sv: Services) -> None:
    outcome = sv.runs.run_group("nightly")
    gr = outcome.group_run
    assert isinstance(gr, GroupRunDetailView)
    assert gr.status == "error" and "broken" in (gr.error or "")
    assert [(r.module_name, r.status) for r in gr.runs] == [
        ("orders", "success"),
        ("broken", "error"),
    ]
    assert outcome.refused == []
    assert sv.runs.show_group_run(gr.id) == gr
    assert [g.id for g in sv.runs.list_group_runs("nightly")] == [gr.id]
    assert sv.runs.list_group_runs("other") == []
    assert {r.id for r in sv.runs.list(group="nightly")} == {r.id for r in gr.runs}
    by_id = sv.runs.run_group(str(sv.store.groups.get("nightly").id), dry_run=True)
    assert by_id.group_run.group_name == "nightly"
    assert by_id.group_run.runs[0].status == "dry_run"  # orders; broken fails even so


def test_an_unknown_group_is_not_found_with_a_suggestion(sv: Services) -> None:
    with pytest.raises(NotFoundError, match="no group named 'nightlz'; did you mean 'nightly'"):
        sv.runs.run_group("nightlz")
    with pytest.raises(NotFoundError, match="no group with id 77"):
        sv.runs.resolve_group("77")


def test_starting_in_the_background_needs_a_run_pool(sv: Services) -> None:
    for start in (sv.runs.start, sv.runs.start_group):
        with pytest.raises(UnavailableError, match="no run pool"):
            start("orders")


# -- the run log ------------------------------------------------------------------------


def test_list_filters_and_pages(sv: Services) -> None:
    first = sv.runs.run("orders")
    failed = sv.runs.run("broken")
    second = sv.runs.run("orders", dry_run=True)
    assert [r.id for r in sv.runs.list()] == [second.id, failed.id, first.id]
    assert [r.id for r in sv.runs.list(module="orders")] == [second.id, first.id]
    assert [r.id for r in sv.runs.list(status="error")] == [failed.id]
    assert [r.id for r in sv.runs.list(limit=1, offset=1)] == [failed.id]
    assert sv.runs.list(module="gone") == []
    assert sv.runs.list(since="2999-01-01T00:00:00Z") == []
    since = first.started_at - dt.timedelta(seconds=1)
    assert len(sv.runs.list(since=since.isoformat())) == 3
    assert len(sv.runs.list(since=since.astimezone(dt.UTC).replace(tzinfo=None))) == 3


@pytest.mark.parametrize(
    ("kwargs", "path", "fragment"),
    [
        ({"status": "done"}, "status", "'done' is not a run status; use one of "
         + ", ".join(RUN_STATUSES)),
        ({"since": "yesterday"}, "since", "'yesterday' is not a date and time; use ISO 8601"),
        ({"limit": 0}, "limit", "limit 0 is too small"),
        ({"offset": -1}, "offset", "offset -1 is negative"),
    ],
)  # fmt: skip
def test_list_refuses_bad_filters_with_their_path(
    sv: Services, kwargs: dict, path: str, fragment: str
) -> None:
    with pytest.raises(InvalidError) as caught:
        sv.runs.list(**kwargs)
    assert caught.value.path == path
    assert fragment in caught.value.message


def test_status_and_since_checks() -> None:
    assert [check_status(s) for s in RUN_STATUSES] == list(RUN_STATUSES)
    assert check_status(None) is None
    assert parse_since("2026-01-31") == dt.datetime(2026, 1, 31, tzinfo=dt.UTC)
    assert parse_since("2026-01-31T08:00:00+02:00") == dt.datetime(2026, 1, 31, 6, tzinfo=dt.UTC)


def test_show_has_the_live_log_and_live_pages_it(sv: Services) -> None:
    run = sv.runs.run("orders")
    shown = sv.runs.show(run.id)
    assert isinstance(shown, RunDetailView)
    assert shown.live_log and "committed" in shown.live_log
    assert {k: v for k, v in to_json(shown).items() if k != "live_log"} == to_json(run)
    whole = sv.runs.live(run.id)
    assert whole == LiveView(run.id, shown.live_log, len(shown.live_log), "success", True)
    assert sv.runs.live(run.id, after=whole.offset).text == ""
    tail = sv.runs.live(run.id, after=10)
    assert tail.text == shown.live_log[10:] and tail.offset == len(shown.live_log)
    assert sv.runs.live(run.id, after=10**6).offset == 10**6
    with pytest.raises(NotFoundError, match="no run with id 4242"):
        sv.runs.show(4242)
    with pytest.raises(InvalidError):
        sv.runs.live(run.id, after=-1)


# -- follow and cancel --------------------------------------------------------------------


def test_follow_of_a_finished_run_gives_the_whole_log_then_the_run(sv: Services) -> None:
    run = sv.runs.run("orders")
    naps: list[float] = []
    items = list(sv.runs.follow(run.id, sleep=naps.append))
    assert items[-1] == run
    assert items[:-1] == sv.runs.show(run.id).live_log.rstrip("\n").split("\n")
    assert naps == []  # nothing to wait for


def test_follow_yields_lines_as_they_come_until_the_run_ends(sv: Services) -> None:
    repo = sv.store.runs
    run_id = repo.begin("orders", triggered_by="test", pid=os.getpid(), host=socket.gethostname())
    repo.append_live(run_id, "one")
    script = iter(
        [
            lambda: None,  # a look that finds nothing new
            lambda: repo.append_live(run_id, "two\nthree"),
            lambda: repo.finish(run_id, "success", rows_read=3),
        ]
    )
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        next(script)()

    followed = sv.runs.follow(run_id, poll_s=0.01, sleep=sleep)
    items = list(followed)
    assert items[:-1] == ["one", "two", "three"]
    assert isinstance(items[-1], RunView) and items[-1].status == "success"
    assert items[-1].rows_read == 3 and naps == [0.01, 0.01, 0.01]


def test_follow_of_no_such_run_fails_at_once(sv: Services) -> None:
    with pytest.raises(NotFoundError, match="no run with id 31337"):
        sv.runs.follow(31337)


def test_cancel_asks_a_running_run_and_refuses_a_finished_one(sv: Services) -> None:
    repo = sv.store.runs
    run_id = repo.begin("orders", triggered_by="test", pid=os.getpid(), host=socket.gethostname())
    answer = sv.runs.cancel(run_id)
    assert (answer.run_id, answer.cancel_requested) == (run_id, True)
    assert repo.cancel_requested(run_id)
    repo.finish(run_id, "cancelled", error="cancelled")
    with pytest.raises(NotRunningError, match=rf"run {run_id} is not running \(it is cancelled\)"):
        sv.runs.cancel(run_id)
    with pytest.raises(NotFoundError):
        sv.runs.cancel(999)


def test_after_follows_the_run_log_by_id(sv: Services) -> None:
    """What the Dagster sensor reads: runs above a cursor by id, plus ones to look at again."""
    first = sv.runs.run("orders")
    second = sv.runs.run("broken")
    third = sv.runs.run("orders")
    assert [r.id for r in sv.runs.after(0)] == [first.id, second.id, third.id]
    assert [r.id for r in sv.runs.after(first.id, limit=1)] == [second.id]
    assert [r.id for r in sv.runs.after(third.id, also=[first.id, 999])] == [first.id]
    with pytest.raises(InvalidError, match="negative") as err:
        sv.runs.after(-1)
    assert err.value.path == "after"
    with pytest.raises(InvalidError, match="too small"):
        sv.runs.after(0, limit=0)
