"""A finished Pipekit run as Dagster sees it: its checks' results, the metadata of its
materialization, whether it changed the destination, and the failure message when it
did not succeed.

Pure functions of the run-log view, so the asset, the group job and the sensor
report a run the same way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipekit.run_counters import COUNTERS
from pipekit.services.runs import RunView
from pipekit.status import RunStatus

_CHECK_LINE = "-- check "


@dataclass(frozen=True)
class CheckOutcome:
    """One Pipekit check that ran inside the run's merge."""

    check: str
    passed: bool


@dataclass(frozen=True)
class RunOutcome:
    checks: list[CheckOutcome]
    #: Pipekit's message when the run did not succeed (None on success)
    failure: str | None
    metadata: dict[str, Any]
    #: the destination changed: a success, or an error after the merge committed (a hook
    #: failed), which Dagster sees as a materialization and a failed step
    landed: bool


def landed(run: RunView) -> bool:
    """Whether the run changed the destination (its merge committed)."""
    return run.status == RunStatus.SUCCESS or (
        run.status == RunStatus.ERROR and bool(run.committed)
    )


def checks_run(run: RunView, checks: Sequence[str]) -> list[CheckOutcome]:
    """The checks among `checks` that the run evaluated, in order; the one its error
    names failed (the run stops at the first failure and rolls the merge back)."""
    ran: list[str] = []
    known = set(checks)
    for line in (run.check_sql or "").splitlines():
        name = line.removeprefix(_CHECK_LINE).strip() if line.startswith(_CHECK_LINE) else None
        if name in known and name not in ran:
            ran.append(name)
    if run.status == RunStatus.DRY_RUN:
        return []  # planned, not evaluated
    error = run.error or ""
    return [CheckOutcome(c, f"check '{c}' failed" not in error) for c in ran]


def run_metadata(run: RunView) -> dict[str, Any]:
    """What a materialization carries: row counts, the Pipekit run id, the watermarks."""
    metadata: dict[str, Any] = {
        "pipekit/run_id": run.id,
        "pipekit/status": run.status,
        "pipekit/triggered_by": run.triggered_by or "",
    }
    if run.row_count is not None:
        metadata["dagster/row_count"] = run.row_count
    for counter in COUNTERS:  # the run record's counters, by their fields' names
        value = getattr(run, counter.field)
        if value is not None and counter.field != "row_count":
            metadata[f"pipekit/{counter.field}"] = value
    if run.merge_strategy:
        metadata["pipekit/strategy"] = run.merge_strategy
    if run.committed is not None:
        metadata["pipekit/committed"] = run.committed
    if run.watermarks_json:
        try:
            metadata["pipekit/watermarks"] = json.loads(run.watermarks_json)
        except ValueError:
            metadata["pipekit/watermarks"] = run.watermarks_json
    return metadata


def failure_message(run: RunView) -> str | None:
    """Pipekit's message for a run that did not succeed; None when it did."""
    if run.status == RunStatus.SUCCESS:
        return None
    if run.status == RunStatus.DRY_RUN:
        return None
    what = run.error or f"the run ended {run.status}"
    return f"Pipekit run {run.id} of module {run.module_name} ended {run.status}: {what}"


def outcome(run: RunView, checks: Sequence[str]) -> RunOutcome:
    return RunOutcome(checks_run(run, checks), failure_message(run), run_metadata(run), landed(run))
