"""The module list with filters: each module with its groups and its latest run.

``GET /api/modules?connection=&group=&status=&q=`` and the web console's module
list answer the same filtering. `status` is a module's state: ``enabled``,
``disabled``, ``running``, ``never`` (never ran), or its latest run's status.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pipekit.errors import InvalidError
from pipekit.status import FINISHED
from pipekit.store.run_queries import LatestRun, RunQueries

if TYPE_CHECKING:
    from pipekit.services import Services
    from pipekit.services.modules import ModuleView

#: what the `status` filter takes
MODULE_STATES: tuple[str, ...] = ("enabled", "disabled", "running", "never", *FINISHED)


@dataclass(frozen=True)
class LastRunView:
    id: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    row_count: int | None
    error: str | None


@dataclass(frozen=True)
class ModuleRow:
    module: ModuleView
    groups: list[str]
    last_run: LastRunView | None


def check_state(status: str | None) -> str | None:
    if status is None or status in MODULE_STATES:
        return status
    raise InvalidError(
        f"'{status}' is not a module state; use one of {', '.join(MODULE_STATES)}", path="status"
    )


@dataclass(frozen=True)
class ModulePage:
    """One page of the filtered module list and how many modules matched in all."""

    total: int
    rows: list[ModuleRow]


def _matches(m: Any, last: LatestRun | None, status: str) -> bool:
    if status == "enabled":
        return bool(m.enabled)
    if status == "disabled":
        return not m.enabled
    if status == "running":
        return bool(m.running)
    if status == "never":
        return last is None
    return last is not None and last.status == status


def browse(
    sv: Services,
    *,
    connection: str | None = None,
    group: str | None = None,
    status: str | None = None,
    text: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> ModulePage:
    """Modules by name, kept when they match every filter given: `connection` (source
    or destination, by name), `group` (a member of it, by name), `status` (see
    ``MODULE_STATES``), `text` (in the name or destination table, any case); the page
    from `offset` (`limit` rows; all without one)."""
    from pipekit.services.modules import ModuleView

    status = check_state(status)
    if offset < 0 or (limit is not None and limit < 1):
        raise InvalidError(f"offset {offset} / limit {limit} out of range", path="limit")
    queries = RunQueries(sv.store)
    groups_by_id = queries.memberships()
    latest = queries.latest_by_module()
    needle = (text or "").strip().lower()
    kept = []
    for m in sv.store.modules.list():
        if connection and connection not in (m.source, m.dest):
            continue
        groups = groups_by_id.get(m.id, [])
        if group and group not in groups:
            continue
        if needle and needle not in f"{m.name} {m.dest_table or ''}".lower():
            continue
        last = latest.get(m.id)
        if status and not _matches(m, last, status):
            continue
        kept.append((m, groups, last))
    names = [f.name for f in fields(ModuleView)]  # once, not per module
    end = None if limit is None else offset + limit
    rows = [
        ModuleRow(
            module=ModuleView(**{n: getattr(m, n) for n in names}),
            groups=groups,
            last_run=LastRunView(
                last.run_id,
                last.status,
                last.started_at,
                last.finished_at,
                last.row_count,
                last.error,
            )
            if last
            else None,
        )
        for m, groups, last in kept[offset:end]
    ]
    return ModulePage(len(kept), rows)
