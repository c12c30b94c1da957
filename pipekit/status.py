"""Run and group-run statuses: the one declared set every face shows and accepts.

``queued`` once accepted and waiting for a free worker (kept in the state
database, so it survives a restart and any server sharing the store may start
it); ``running`` while a run goes on; it ends ``success``, ``dry_run`` (the SQL was
planned and recorded, no data moved), ``error`` (including "interrupted": the
process running it died) or ``cancelled``. A group run ends ``dry_run`` when
all its runs were dry runs, ``error`` when any failed, else ``success``.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    DRY_RUN = "dry_run"
    ERROR = "error"
    CANCELLED = "cancelled"


#: every status, in the order the faces list them
RUN_STATUSES: tuple[str, ...] = tuple(s.value for s in RunStatus)
#: the statuses of a run that has not ended yet (waiting, or going)
ACTIVE: tuple[str, ...] = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)
#: the statuses a run ends in
FINISHED: tuple[str, ...] = tuple(s.value for s in RunStatus if s.value not in ACTIVE)


#: what a command exits with for a run that ended so: a scheduler (cron, Airflow, a
#: shell script) reads these. 3 is an ``error`` run whose merge had committed — the
#: data landed, a hook after it failed — so a caller can tell "rerun" from "look at
#: the hook".
EXIT_SUCCESS, EXIT_ERROR, EXIT_HOOK_FAILED, EXIT_CANCELLED = 0, 1, 3, 130
#: the exit codes from least to most severe, for a group's "worst member"
_SEVERITY = (EXIT_SUCCESS, EXIT_HOOK_FAILED, EXIT_ERROR, EXIT_CANCELLED)


def exit_code(status: str, committed: bool | None = None) -> int:
    """The exit code of a run that ended with `status` (`committed`: its merge did)."""
    if status in (RunStatus.SUCCESS, RunStatus.DRY_RUN):
        return EXIT_SUCCESS
    if status == RunStatus.CANCELLED:
        return EXIT_CANCELLED
    if status == RunStatus.ERROR and committed:
        return EXIT_HOOK_FAILED
    return EXIT_ERROR


def worst_exit_code(codes: Iterable[int]) -> int:
    """The most severe of `codes` (cancelled > error > hook failed > success); 0 if none."""
    return max(codes, key=_SEVERITY.index, default=EXIT_SUCCESS)
