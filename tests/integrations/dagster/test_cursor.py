"""The sensor's cursor over the run log: each finished run once, runs that end out of id
order, ids not committed yet (gaps) waited for a while, runs Dagster started skipped."""

from __future__ import annotations

import dataclasses
import datetime as dt

from pipekit.integrations.dagster import RunCursor
from pipekit.integrations.dagster.cursor import GAP_TICKS
from pipekit.services.runs import RunView

_BLANK = {f.name: None for f in dataclasses.fields(RunView)}


def run(run_id: int, status: str = "success", by: str = "cli") -> RunView:
    values = {
        **_BLANK,
        "id": run_id,
        "module_name": "m",
        "status": status,
        "triggered_by": by,
        "started_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "cancel_requested": False,
    }
    return RunView(**values)


def ids(runs: list[RunView]) -> list[int]:
    return [r.id for r in runs]


def test_finished_runs_dagster_did_not_start_are_reported_once() -> None:
    cursor, report = RunCursor(0).advance(
        [run(1), run(2, "error"), run(3, by="dagster:abc"), run(4, "running"), run(5)]
    )
    assert ids(report) == [1, 2, 5]
    assert (cursor.last, cursor.running, cursor.gaps) == (5, [4], {})
    cursor, report = cursor.advance([run(4, "running")])
    assert (ids(report), cursor.last) == ([], 5)


def test_a_running_run_is_reported_when_it_has_ended() -> None:
    cursor, report = RunCursor(0).advance([run(1, "running"), run(2)])
    assert (ids(report), cursor.running, cursor.again()) == ([2], [1], [1])
    cursor, report = cursor.advance([run(1, "running")])
    assert (ids(report), cursor.running) == ([], [1])
    cursor, report = cursor.advance([run(1)])
    assert (ids(report), cursor.running, cursor.last) == ([1], [], 2)


def test_a_missing_id_is_waited_for_then_given_up() -> None:
    cursor, report = RunCursor(3).advance([run(6)])
    assert ids(report) == [6]
    assert cursor.gaps == {4: GAP_TICKS - 1, 5: GAP_TICKS - 1}
    cursor, report = cursor.advance([run(5)])  # its insert committed late
    assert ids(report) == [5]
    assert cursor.gaps == {4: GAP_TICKS - 2}
    for _ in range(GAP_TICKS):
        cursor, report = cursor.advance([])
    assert cursor.gaps == {} and cursor.last == 6


def test_the_cursor_round_trips_as_text() -> None:
    cursor = RunCursor(9, [7], {8: 3})
    assert RunCursor.parse(cursor.dump()) == cursor
    assert RunCursor.parse(None) == RunCursor()
