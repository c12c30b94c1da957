"""One Dagster schedule per Pipekit schedule, on its group's job, with its cron expression
read in the Pipekit server's time zone.

Dagster's schedules and Pipekit's own scheduler must never both fire the same group,
or the group runs twice per slot (the second run of each module is refused as busy
or repeats the load). Which one fires is chosen with ``schedules=``:

- ``"stopped"`` (the default): the schedules are built but stopped; turn one on in
  Dagster only once no Pipekit server fires it (``scheduler.enabled: false`` in every
  server's config, or the schedule disabled in Pipekit). A warning names the enabled
  Pipekit schedules when the definitions load.
- ``"running"``: Dagster fires them (those enabled in Pipekit). Refused while a Pipekit
  scheduler evidently fires any of them (it fired one at one of its last two slots).
- ``"off"``: no Dagster schedules; Pipekit's scheduler stays in charge.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Literal

from dagster import (
    DagsterInvalidDefinitionError,
    DefaultScheduleStatus,
    JobDefinition,
    ScheduleDefinition,
)

from pipekit.errors import ScheduleSpecError
from pipekit.integrations.dagster.assets import group_job_name
from pipekit.integrations.dagster.catalog import PipekitSchedule

ScheduleMode = Literal["stopped", "running", "off"]
SCHEDULE_MODES: tuple[str, ...] = ("stopped", "running", "off")


class PipekitDagsterWarning(UserWarning):
    """Something in Pipekit's definitions Dagster gets no definition for, or must mind."""


class SchedulerConflictWarning(PipekitDagsterWarning):
    """Pipekit's scheduler and Dagster's schedules could both fire a group."""


def schedule_name(schedule: PipekitSchedule) -> str:
    return f"{group_job_name(schedule.group)}_schedule_{schedule.id}"


def _listed(schedules: list[PipekitSchedule]) -> str:
    return ", ".join(f"{s.id} (group {s.group}, '{s.cron_expr}')" for s in schedules)


def build_schedules(
    schedules: tuple[PipekitSchedule, ...],
    jobs: Mapping[str, JobDefinition],
    mode: str,
    timezone: str,
) -> list[ScheduleDefinition]:
    """The Dagster schedules of Pipekit's `schedules`, by `mode` (see the module)."""
    if mode not in SCHEDULE_MODES:
        raise ScheduleSpecError(
            f"schedules={mode!r} is not a choice; use one of {', '.join(SCHEDULE_MODES)}",
            path="schedules",
        )
    if mode == "off":
        return []
    enabled = [s for s in schedules if s.enabled]
    if mode == "running":
        live = [s for s in enabled if s.fired_lately]
        if live:
            raise ScheduleSpecError(
                "Pipekit's own scheduler is firing schedules "
                f"{_listed(live)}, so Dagster must not fire them too; set "
                "`scheduler.enabled: false` on every Pipekit server (or disable the "
                "schedules in Pipekit: `pipekit schedules disable ID`), or build the "
                'definitions with schedules="stopped"',
                path="schedules",
            )
        if enabled:
            warnings.warn(
                f"Dagster fires Pipekit schedules {_listed(enabled)}: every Pipekit server "
                "must run with `scheduler.enabled: false`, or the groups run twice",
                SchedulerConflictWarning,
                stacklevel=3,
            )
    elif enabled:
        warnings.warn(
            f"Pipekit schedules {_listed(enabled)} are enabled, and a Pipekit server whose "
            "scheduler is on fires them: their Dagster schedules are built stopped; turn "
            "one on only after setting `scheduler.enabled: false` on every Pipekit server "
            "or disabling it in Pipekit",
            SchedulerConflictWarning,
            stacklevel=3,
        )
    built: list[ScheduleDefinition] = []
    for s in schedules:
        job = jobs.get(s.group)
        if job is None:
            continue
        status = (
            DefaultScheduleStatus.RUNNING
            if mode == "running" and s.enabled
            else DefaultScheduleStatus.STOPPED
        )
        try:
            built.append(
                ScheduleDefinition(
                    name=schedule_name(s),
                    cron_schedule=s.cron_expr,
                    job=job,
                    execution_timezone=timezone,
                    default_status=status,
                    description=f"Pipekit schedule {s.id}: group {s.group} at '{s.cron_expr}'"
                    f" ({timezone})",
                    tags={"pipekit/schedule_id": str(s.id)},
                )
            )
        except DagsterInvalidDefinitionError as exc:
            warnings.warn(
                f"Pipekit schedule {s.id} (group {s.group}): Dagster cannot read its cron "
                f"expression '{s.cron_expr}' ({exc}); it has no Dagster schedule. Write "
                "it with five fields (`pipekit schedules edit ID --cron ...`)",
                PipekitDagsterWarning,
                stacklevel=3,
            )
    return built
