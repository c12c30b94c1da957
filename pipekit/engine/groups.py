"""Groups (DESIGN 6.5): a group's enabled modules run in order, as one group run."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipekit.errors import ModuleBusyError

if TYPE_CHECKING:
    from pipekit.engine.run import Engine, EventHandler
    from pipekit.store.runs import GroupRun, Run


@dataclass(frozen=True)
class GroupResult:
    """A finished group run and its members' runs, in run order."""

    group_run: GroupRun
    runs: list[Run]
    #: members that could not start (already running), as messages
    refused: list[str]


def run_group(
    engine: Engine,
    name: str,
    *,
    dry_run: bool = False,
    full_refresh: bool = False,
    triggered_by: str = "cli",
    cancel: threading.Event | None = None,
    on_event: EventHandler | None = None,
    group_run_id: int | None = None,
) -> GroupResult:
    """Run a group's enabled modules in run order (DESIGN 6.5).

    A failed member does not stop the ones after it; a cancel does. The group
    ends ``cancelled`` when cancelled, ``error`` if any member failed or could not
    start, ``dry_run`` if every member was a dry run, else ``success``.
    """
    store = engine.store
    cancel = cancel or threading.Event()
    members = store.groups.enabled_modules(name)
    if group_run_id is None:  # else the caller opened it (runs.start_group) to answer at once
        group_run_id = store.runs.start_group(name, triggered_by=triggered_by)
    runs: list[Run] = []
    refused: list[str] = []
    cancelled = False
    try:
        for module in members:
            if cancel.is_set():
                cancelled = True
                break
            try:
                run = engine.run_module(
                    module.name,
                    dry_run=dry_run,
                    full_refresh=full_refresh,
                    triggered_by=triggered_by,
                    group_run_id=group_run_id,
                    cancel=cancel,
                    on_event=on_event,
                )
            except ModuleBusyError as exc:
                refused.append(f"{module.name}: {exc}")
                continue
            runs.append(run)
            if run.status == "cancelled":
                cancelled = True
                break
    finally:
        failed = [r for r in runs if r.status == "error"]
        if cancelled:
            status = "cancelled"
        elif failed or refused:
            status = "error"
        elif runs and all(r.status == "dry_run" for r in runs):
            status = "dry_run"
        else:
            status = "success"
        problems = [f"{r.module_name}: {r.error}" for r in failed] + refused
        group_run = store.runs.finish_group(
            group_run_id, status, error="; ".join(problems) if problems else None
        )
    return GroupResult(group_run, runs, refused)
