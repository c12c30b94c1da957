"""Modules: a source query synced into a destination table, with its history and preview.

Definitions are judged by the shared validator before anything is written
(``module_rules``): ``add`` refuses with every problem (name rule included),
``update`` only with the problems the change adds. A new module and its
watermarks are written in one state-DB transaction. Warnings (a declared
watermark the query does not use yet) come back on the saved view.

The services of a module's parts live in ``module_parts`` and are importable
from here: ``WatermarkService``, ``HookService``, ``CheckService``.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pipekit.errors import (
    AlreadyExistsError,
    InUseError,
    ModuleSpecError,
    NotFoundError,
    NotRunningError,
    PipekitError,
    Problem,
)
from pipekit.module_settings import ModuleIdentity, ModuleSettings
from pipekit.services.audit import audited
from pipekit.services.module_parts import (
    CheckService,
    CheckView,
    HookService,
    HookView,
    SavedCheckView,
    SavedHookView,
    SavedWatermarkView,
    ViewT,
    WatermarkService,
    WatermarkView,
    view,
)
from pipekit.services.module_rules import (
    CLEARABLE,
    DEFAULTS,
    NOT_NULL,
    SPEC_FIELDS,
    added_problems,
    find_module,
    problems_of,
    refuse,
)

if TYPE_CHECKING:
    from pipekit.services import Services
    from pipekit.services.connections import ColumnView
    from pipekit.services.module_edit import ColumnMapView
    from pipekit.services.module_list import ModulePage, ModuleRow
    from pipekit.store import Module

__all__ = [
    "CheckService",
    "CheckView",
    "ColumnMappingView",
    "HistoryView",
    "HookService",
    "HookView",
    "MappingView",
    "ModuleDetails",
    "ModuleService",
    "ModuleView",
    "PreviewView",
    "RecentRun",
    "SavedCheckView",
    "SavedHookView",
    "SavedModuleView",
    "SavedWatermarkView",
    "WatermarkService",
    "WatermarkView",
]


@dataclass(frozen=True, kw_only=True)
class ModuleView(ModuleSettings, ModuleIdentity):
    """A module as every face shows it: its settings (pipekit.module_settings) with
    its identity and lock state."""

    source_connection_id: int | None
    dest_connection_id: int | None
    running: bool
    locked_by_run_id: int | None
    locked_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class SavedModuleView(ModuleView):
    """A module just written, with the warnings about its definition."""

    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HistoryView:
    id: int
    module_id: int
    changed_at: datetime
    changed_by: str | None
    diff: dict[str, list[Any]]


@dataclass(frozen=True)
class PreviewView:
    """The SQL the next run would execute, planned without running: nothing is written
    (no run row, no lock) and the destination is only read. `status` is ``dry_run``
    when the plan was made, ``error`` (with `error`) when it could not be."""

    status: str
    source_query: str | None
    merge_sql: str | None
    check_sql: str | None
    merge_strategy: str | None
    watermarks: dict[str, Any]
    error: str | None


@dataclass(frozen=True)
class RecentRun:
    """A line of a module's recent runs, as `modules show` lists them."""

    id: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    triggered_by: str | None
    merge_strategy: str | None
    rows_read: int | None
    row_count: int | None
    error: str | None


@dataclass(frozen=True)
class ModuleDetails:
    """Everything `modules show` prints about one module."""

    module: ModuleView
    locked_pid: int | None
    locked_host: str | None
    watermarks: list[WatermarkView]
    hooks: list[HookView]
    checks: list[CheckView]
    groups: list[str]
    runs: list[RecentRun]
    history: list[HistoryView] | None = None


@dataclass(frozen=True)
class UnlockView:
    """A module lock freed by hand: which run held it and what became of that run."""

    module: str
    run_id: int | None
    #: the holding run's status now (``cancelled`` if it was queued, ``error`` if it ran)
    run_status: str | None
    message: str


@dataclass(frozen=True)
class ColumnMappingView:
    """A destination column of the source query and where it comes from: `source` the
    source column it reads (null for an expression of several), `expression` the
    projection without its alias, `trimmed` whether RTRIM/TRIM is applied."""

    dest: str
    source: str | None
    expression: str
    trimmed: bool


@dataclass(frozen=True)
class MappingView:
    """Where a module's rows come from and go through: the source query's columns and
    the staging table a run loads them into (null without a destination)."""

    staging_table: str | None
    columns: list[ColumnMappingView]


def _view(cls: type[ViewT], m: Module, **extra: Any) -> ViewT:
    return view(cls, m, **extra)


class ModuleService:
    """Modules by id or name: list, show, add, update, remove, history, preview."""

    def __init__(self, sv: Services) -> None:
        self._sv = sv
        self._store = sv.store

    def _module(self, key: str | int) -> Module:
        return find_module(self._store, key)

    # -- reading ---------------------------------------------------------------

    def list(self, enabled: bool | None = None) -> list[ModuleView]:
        return [_view(ModuleView, m) for m in self._store.modules.list(enabled=enabled)]

    def show(self, key: str | int) -> ModuleView:
        return _view(ModuleView, self._module(key))

    def browse(
        self,
        *,
        connection: str | None = None,
        group: str | None = None,
        status: str | None = None,
        text: str | None = None,
    ) -> builtins.list[ModuleRow]:
        """Modules with their groups and latest run, filtered (see ``module_list``)."""
        return self.browse_page(connection=connection, group=group, status=status, text=text).rows

    def browse_page(
        self,
        *,
        connection: str | None = None,
        group: str | None = None,
        status: str | None = None,
        text: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> ModulePage:
        """``browse``, one page of it, with the number of modules that matched."""
        from pipekit.services.module_list import browse

        return browse(
            self._sv,
            connection=connection,
            group=group,
            status=status,
            text=text,
            offset=offset,
            limit=limit,
        )

    def details(self, key: str | int, *, history: bool = False, runs: int = 5) -> ModuleDetails:
        m = self._module(key)
        s = self._store
        recent = [view(RecentRun, r) for r in s.runs.list(module=m.name, limit=runs)]
        return ModuleDetails(
            module=_view(ModuleView, m),
            locked_pid=m.locked_pid,
            locked_host=m.locked_host,
            watermarks=[view(WatermarkView, w) for w in s.watermarks.list(m.name)],
            hooks=[view(HookView, h) for h in s.hooks.list(m.name)],
            checks=[view(CheckView, c) for c in s.checks.list(m.name)],
            groups=list(s.groups.groups_of(m.name)),
            runs=recent,
            history=self.history(m.id) if history else None,
        )

    def last_runs(self) -> dict[str, RecentRun | None]:
        """Each module's latest run (None: never ran), for `modules list`: one query,
        however many modules there are."""
        from pipekit.store.run_queries import RunQueries

        latest = RunQueries(self._store).latest_by_module()
        out: dict[str, RecentRun | None] = {}
        for m in self._store.modules.list():
            last = latest.get(m.id)
            out[m.name] = None if last is None else view(RecentRun, last, id=last.run_id)
        return out

    def history(self, key: str | int, limit: int | None = None) -> builtins.list[HistoryView]:
        """The module's recorded changes, newest first."""
        if limit is not None and limit < 1:
            raise ModuleSpecError(f"limit {limit} is not a positive number", path="limit")
        m = self._module(key)
        return [view(HistoryView, h) for h in self._store.modules.history(m.name, limit=limit)]

    # -- writing ---------------------------------------------------------------

    @audited("module", "add")
    def add(
        self,
        name: str,
        *,
        watermarks: Mapping[str, Mapping[str, Any]] | None = None,
        **fields: Any,
    ) -> SavedModuleView:
        """Create a module (fields: any of ``MODULE_SETTINGS``) with its named watermarks
        (name -> {connection, resolver_sql, default}), all or nothing.

        ValidationError lists every problem with its path, the name's included;
        AlreadyExistsError when the name is taken.
        """
        from pipekit.store.repo import check_name

        unknown = set(fields) - set(SPEC_FIELDS)
        if unknown:
            raise TypeError(f"unknown module field(s): {', '.join(sorted(unknown))}")
        problems: list[Problem] = []
        try:
            check_name("module", name, ModuleSpecError)
        except ModuleSpecError as exc:
            problems.append(Problem("name", exc.message))
        else:
            if self._store.modules.exists(name):
                raise AlreadyExistsError(
                    f"a module named '{name}' already exists; pick another name, "
                    f"or change it with `pipekit modules edit {name}`",
                    path="name",
                )
        config = {**DEFAULTS, **{k: v for k, v in fields.items() if v is not None}}
        marks = {
            n: {
                "connection": w.get("connection"),
                "resolver_sql": w.get("resolver_sql"),
                "default": w.get("default", w.get("default_value")),
            }
            for n, w in (watermarks or {}).items()
        }
        spec = {**config, "watermarks": marks, "hooks": [], "checks": []}
        refused, warnings = problems_of(self._store, spec, name)
        refuse(f"module '{name}'", problems + refused)
        source, dest = config.pop("source", None), config.pop("dest", None)
        items = [
            {
                "name": n,
                "connection": w["connection"],
                "resolver_sql": w["resolver_sql"],
                "default_value": w["default"],
            }
            for n, w in marks.items()
        ]
        actor = self._sv.actor
        with self._store.transaction():
            self._store.modules.add(name, source=source, dest=dest, changed_by=actor, **config)
            if items:
                self._store.watermarks.replace_all(name, items, changed_by=actor)
        return _view(SavedModuleView, self._store.modules.get(name), warnings=warnings)

    @audited("module", "update")
    def update(self, key: str | int, **changes: Any) -> SavedModuleView:
        """Change the given fields (left out: unchanged; None: cleared) and ``name=`` to
        rename; refused only for the problems the change adds."""
        from pipekit.store.repo import check_name

        unknown = set(changes) - {"name", *SPEC_FIELDS}
        if unknown:
            raise TypeError(f"unknown module field(s): {', '.join(sorted(unknown))}")
        m = self._module(key)
        changes = {k: (None if v == "" and k in CLEARABLE else v) for k, v in changes.items()}
        problems = [
            Problem(
                k, f"may not be null; give a value (only {', '.join(CLEARABLE)} can be cleared)"
            )
            for k in NOT_NULL
            if k in changes and changes[k] is None
        ]
        target = changes.pop("name", m.name)
        if target is None:
            problems.append(Problem("name", "may not be null; give the new name"))
            target = m.name
        elif target != m.name:
            try:
                check_name("module", target, ModuleSpecError)
            except ModuleSpecError as exc:
                problems.append(Problem("name", exc.message))
            else:
                if any(other.name == target for other in self._store.modules.list()):
                    raise AlreadyExistsError(
                        f"a module named '{target}' already exists; pick another name",
                        path="name",
                    )

        def change(spec: dict[str, Any]) -> dict[str, Any]:
            # a refused null keeps the old value here, so it is reported once
            spec.update({k: v for k, v in changes.items() if v is not None or k not in NOT_NULL})
            return spec

        added, warnings, _ = added_problems(self._store, m, change, target)
        refuse(f"module '{m.name}'", problems + added)
        if target != m.name:
            changes["new_name"] = target
        after = self._store.modules.update(m.name, changed_by=self._sv.actor, **changes)
        return _view(SavedModuleView, after, warnings=warnings)

    def update_with_watermarks(
        self,
        key: str | int,
        watermarks: Sequence[Mapping[str, Any]],
        **changes: Any,
    ) -> SavedModuleView:
        """``update`` and the module's named watermarks made exactly `watermarks`, judged
        and written together (see ``module_edit``)."""
        from pipekit.services.module_edit import update_with_watermarks

        return update_with_watermarks(self._sv, key, watermarks, changes)

    def column_map(self, key: str | int) -> ColumnMapView:
        """Destination column <- source expression, from the module's query (no connection)."""
        from pipekit.services.module_edit import column_map

        return column_map(self._sv, key)

    def rename(self, key: str | int, new_name: str) -> SavedModuleView:
        return self.update(key, name=new_name)

    def set_enabled(self, key: str | int, enabled: bool) -> SavedModuleView:
        """Switch a module on or off: the same write as ``update(key, enabled=...)``."""
        return self.update(key, enabled=enabled)

    def enable(self, key: str | int) -> SavedModuleView:
        return self.set_enabled(key, True)

    def disable(self, key: str | int) -> SavedModuleView:
        return self.set_enabled(key, False)

    @audited("module", "remove")
    def remove(self, key: str | int) -> None:
        """Delete a module with its watermarks, hooks, checks, memberships and history
        (its runs stay); InUseError while it runs."""
        m = self._module(key)
        if m.running:
            raise InUseError(
                f"module '{m.name}' is running (run {m.locked_by_run_id}); wait for it or "
                f"cancel it first with `pipekit runs cancel {m.locked_by_run_id}`"
            )
        self._store.modules.remove(m.name)

    @audited("module", "unlock")
    def unlock(self, key: str | int) -> UnlockView:
        """Free the module's lock by hand (``pipekit modules unlock``), for a lock left by
        a run that cannot be recovered on its own. The run holding it ends: a queued one
        ``cancelled``, a running one ``error`` "interrupted" (its process, if alive, finds
        its lease gone and stops; its database sessions are ended). Not retried.
        NotRunningError when the module is not locked."""
        m = self._module(key)
        holder = self._sv.engine.unlock(m.name, by=self._sv.actor)
        if holder is None:
            raise NotRunningError(
                f"module '{m.name}' is not locked; nothing to unlock "
                f"(`pipekit runs list --module {m.name}` shows its runs)"
            )
        status = None
        if holder.run_id is not None:
            with contextlib.suppress(NotFoundError):
                status = self._store.runs.get(holder.run_id).status
        held = f"run {holder.run_id}" if holder.run_id is not None else "no run"
        return UnlockView(
            module=m.name,
            run_id=holder.run_id,
            run_status=status,
            message=f"module '{m.name}' unlocked (it was held by {held})",
        )

    # -- the data path -------------------------------------------------------------

    def preview(self, key: str | int) -> PreviewView:
        """The SQL the next run would execute (watermarks resolved, merge planned), with
        no run recorded and no lock taken; the connections are opened to read only."""
        from pipekit.redact import redact

        m = self._module(key)
        p = self._sv.engine.preview(m.name)

        def masked(text: str | None) -> str | None:
            # what a run would record is masked as the run record is (pipekit.redact)
            return redact(text) if text else text

        return PreviewView(
            status="error" if p.error else "dry_run",
            source_query=masked(p.source_query),
            merge_sql=masked(p.merge_sql),
            check_sql=masked(p.check_sql),
            merge_strategy=p.merge_strategy,
            watermarks={k: masked(v) if isinstance(v, str) else v for k, v in p.watermarks.items()},
            error=masked(p.error),
        )

    def mapping(self, key: str | int) -> MappingView:
        """The column mapping of the module's source query (``SELECT "DCORD#" AS dcord``),
        parsed in the source's dialect, and its staging table; nothing connects. A
        ``SELECT *`` part adds no column. ColumnMappingError when the query cannot be
        mapped."""
        from pipekit.engine.columns import parse_columns
        from pipekit.engine.validate import PLACEHOLDER_RE
        from pipekit.services.module_rules import source_dialect

        m = self._module(key)
        columns: list[ColumnMappingView] = []
        if m.source_query:
            dialect, _ = source_dialect(self._store, m.source)
            # a {placeholder} stands for a literal the engine fills in; NULL parses
            # wherever one may stand, and the mapping does not depend on it
            sql = PLACEHOLDER_RE.sub("NULL", m.source_query)
            columns = [
                ColumnMappingView(c.dest, c.base_column, c.expression, c.trimmed)
                for c in parse_columns(sql, dialect or "").columns
            ]
        return MappingView(self._staging_table(m), columns)

    def _staging_table(self, m: Module) -> str | None:
        from pipekit.drivers import dialect_for, kind_for_url
        from pipekit.drivers.tables import TableRef

        if not m.dest or not m.dest_table:
            return None
        try:
            dialect = dialect_for(kind_for_url(self._store.connections.get(m.dest).url))
        except PipekitError:
            return None
        table = dialect.staging_table(
            m.name, self._sv.config.staging_schema, TableRef.parse(m.dest_table)
        )
        return str(table)

    def dest_columns(self, key: str | int) -> builtins.list[ColumnView]:
        """Columns of the module's destination table; NotFoundError before it exists."""
        m = self._module(key)
        if not m.dest or not m.dest_table:
            raise NotFoundError(f"module '{m.name}' has no destination table")
        return self._sv.connections.columns(m.dest, m.dest_table)
