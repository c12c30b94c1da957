"""Run and group-run statuses: the one declared set every face shows and accepts.

``queued`` once accepted and waiting for a free worker (kept in the state
database, so it survives a restart and any server sharing the store may start
it); ``running`` while a run goes on; it ends ``success``, ``dry_run`` (the SQL was
planned and recorded, no data moved), ``error`` (including "interrupted": the
process running it died) or ``cancelled``. A group run ends ``dry_run`` when
all its runs were dry runs, ``error`` when any failed, else ``success``.
"""

from __future__ import annotations

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
