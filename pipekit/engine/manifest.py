"""Config as code: connections, modules, groups and schedules as one YAML file.

    >>> report = apply_manifest(store, Path("pipekit/deploy.yaml"), prune=True)
    >>> text = export_manifest(store)          # the same format back

``apply`` validates the whole file first (YAML, keys, types, URLs, password
references, module definitions through ``pipekit.engine.validate``, group
members, cron) and raises one ``ManifestError`` carrying every problem with its
path in the file; only a file without problems is written. Writing creates or
updates by name and changes nothing that is already as the file says, so
applying a file twice records nothing the second time. Nothing connects to a
database. The format and its rules: docs/yaml.md.

Reading and validating live in ``manifest_check``, writing YAML back in
``manifest_export``; this module plans and applies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipekit.engine.manifest_check import (
    MODULE_FIELDS,
    Manifest,
    Validator,
    load_yaml,
    read_source,
)
from pipekit.engine.manifest_export import export_manifest
from pipekit.errors import ManifestError, Problem

if TYPE_CHECKING:
    from pipekit.files import FilePolicy
    from pipekit.store import Store

__all__ = [
    "ApplyReport",
    "Change",
    "Manifest",
    "ManifestError",
    "apply_manifest",
    "export_manifest",
    "load_manifest",
]


def load_manifest(
    store: Store,
    text_or_path: str | Path,
    *,
    prune: bool = False,
    base_dir: Path | None = None,
    as_text: bool = False,
    source: str | None = None,
    files: FilePolicy | None = None,
) -> Manifest:
    """Parse and validate a file against `store` (read only); ManifestError with every problem.

    `text_or_path`: a Path, a string ending in .yaml/.yml (a path), or YAML text
    (any string with `as_text`). Relative SQLite/DuckDB file URLs are made
    absolute against the file's folder (`base_dir`, else the working directory
    for text). `source` names the text in messages.
    """
    text, name, base = read_source(text_or_path, base_dir, as_text=as_text)
    source = source or name
    data, problems = load_yaml(text)
    if problems and data is None:
        raise ManifestError(problems, source)
    validator = Validator(store, base, prune, files)
    manifest = validator.run(data)
    problems += validator.problems
    if prune and manifest.empty and not problems:
        problems.append(
            Problem(
                "",
                "the file defines nothing; --prune would remove every connection, module, "
                "group and schedule, which is refused (remove them one by one instead)",
            )
        )
    if problems:
        raise ManifestError(problems, source)
    return manifest


# -- planning and applying --------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One object the apply touched (or would touch)."""

    kind: str  # connection | module | group | schedule
    name: str
    action: str  # created | updated | unchanged | removed
    fields: tuple[str, ...] = ()  # for updates: what changed

    def __str__(self) -> str:
        what = f" ({', '.join(self.fields)})" if self.fields else ""
        return f"{self.kind} {self.name}: {self.action}{what}"


@dataclass
class ApplyReport:
    """What `apply_manifest` did, or with ``dry_run`` would do, per kind and object."""

    changes: list[Change] = field(default_factory=list)
    dry_run: bool = False

    def names(self, kind: str, action: str) -> list[str]:
        return [c.name for c in self.changes if c.kind == kind and c.action == action]

    @property
    def changed(self) -> bool:
        return any(c.action != "unchanged" for c in self.changes)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(("created", "updated", "removed", "unchanged"), 0)
        for c in self.changes:
            out[c.action] += 1
        return out


@dataclass
class _Plan:
    report: ApplyReport
    steps: list[Callable[[], Any]] = field(default_factory=list)

    def note(self, kind: str, name: str, action: str, fields: tuple[str, ...] = ()) -> None:
        self.report.changes.append(Change(kind, name, action, fields))


def schedule_label(group: str, cron: str) -> str:
    return f"{group} '{cron}'"


def _plan(store: Store, m: Manifest, prune: bool, by: str) -> _Plan:
    plan = _Plan(ApplyReport())
    _plan_connections(store, m, plan)
    _plan_modules(store, m, plan, by)
    _plan_groups(store, m, plan)
    _plan_schedules(store, m, plan, prune)
    if prune:
        # Dependents first: groups (with their schedules), modules, then connections.
        for g in store.groups.list():
            if g.name not in m.groups:
                plan.note("group", g.name, "removed")
                plan.steps.append(partial(store.groups.remove, g.name))
        for mod in store.modules.list():
            if mod.name not in m.modules:
                plan.note("module", mod.name, "removed")
                plan.steps.append(partial(store.modules.remove, mod.name))
        for c in store.connections.list():
            if c.name not in m.connections:
                plan.note("connection", c.name, "removed")
                plan.steps.append(partial(store.connections.remove, c.name))
    return plan


def _plan_connections(store: Store, m: Manifest, plan: _Plan) -> None:
    existing = {c.name: c for c in store.connections.list()}
    for name in sorted(m.connections):
        want = m.connections[name]
        old = existing.get(name)
        if old is None:
            plan.note("connection", name, "created")
            plan.steps.append(partial(store.connections.add, name, **want))
            continue
        diff = {k: v for k, v in want.items() if getattr(old, k) != v}
        plan.note("connection", name, "updated" if diff else "unchanged", tuple(diff))
        if diff:
            plan.steps.append(partial(store.connections.update, name, **diff))


def _plan_modules(store: Store, m: Manifest, plan: _Plan, by: str) -> None:
    existing = {x.name: x for x in store.modules.list()}
    for name in sorted(m.modules):
        want = m.modules[name]
        fields = {k: want[k] for k in MODULE_FIELDS}
        old = existing.get(name)
        if old is None:
            plan.note("module", name, "created")
            source, dest = fields.pop("source"), fields.pop("dest")
            plan.steps.append(
                partial(store.modules.add, name, source=source, dest=dest, changed_by=by, **fields)
            )
            changed = ["watermarks", "hooks", "checks"]
        else:
            diff = {k: v for k, v in fields.items() if getattr(old, k) != v}
            if diff:
                plan.steps.append(partial(store.modules.update, name, changed_by=by, **diff))
            changed = list(diff) + _changed_parts(store, name, want)
            plan.note("module", name, "updated" if changed else "unchanged", tuple(changed))
        for part in ("watermarks", "hooks", "checks"):
            if part in changed:
                plan.steps.append(partial(_replace, store, name, part, want[part], by))


def _changed_parts(store: Store, name: str, want: dict[str, Any]) -> list[str]:
    """Which of watermarks / hooks / checks differ from the store (order matters, ids not)."""
    out = []
    watermarks = {
        w.name: {
            "connection": w.connection,
            "resolver_sql": w.resolver_sql,
            "default_value": w.default_value,
        }
        for w in store.watermarks.list(name)
    }
    if watermarks != want["watermarks"]:
        out.append("watermarks")
    if [(h.sql, h.run_on) for h in store.hooks.list(name)] != want["hooks"]:
        out.append("hooks")
    if [(c.name, c.sql) for c in store.checks.list(name)] != want["checks"]:
        out.append("checks")
    return out


def _replace(store: Store, module: str, part: str, items: Any, by: str) -> None:
    if part == "watermarks":
        store.watermarks.replace_all(
            module, [{"name": n, **w} for n, w in items.items()], changed_by=by
        )
    elif part == "hooks":
        store.hooks.replace_all(module, [{"sql": s, "run_on": r} for s, r in items], changed_by=by)
    else:
        store.checks.replace_all(module, [{"name": n, "sql": s} for n, s in items], changed_by=by)


def _plan_groups(store: Store, m: Manifest, plan: _Plan) -> None:
    existing = {g.name: g for g in store.groups.list()}
    for name in sorted(m.groups):
        want = m.groups[name]
        old = existing.get(name)
        if old is None:
            plan.note("group", name, "created")
            plan.steps.append(
                partial(
                    store.groups.add,
                    name,
                    description=want["description"],
                    members=list(want["members"]),
                )
            )
            continue
        fields = []
        if old.description != want["description"]:
            fields.append("description")
            plan.steps.append(partial(store.groups.update, name, description=want["description"]))
        if tuple(old.members) != want["members"]:
            fields.append("modules")
            plan.steps.append(partial(store.groups.set_members, name, list(want["members"])))
        plan.note("group", name, "updated" if fields else "unchanged", tuple(fields))


def _plan_schedules(store: Store, m: Manifest, plan: _Plan, prune: bool) -> None:
    existing = store.schedules.list()
    claimed: set[int] = set()
    for want in m.schedules:
        label = schedule_label(want["group"], want["cron"])
        match = next(
            (
                s
                for s in existing
                if s.id not in claimed
                and s.group == want["group"]
                and s.cron_expr.strip() == want["cron"]
            ),
            None,
        )
        if match is None:
            plan.note("schedule", label, "created")
            plan.steps.append(
                partial(store.schedules.add, want["group"], want["cron"], enabled=want["enabled"])
            )
            continue
        claimed.add(match.id)
        if match.enabled != want["enabled"]:
            plan.note("schedule", label, "updated", ("enabled",))
            plan.steps.append(partial(store.schedules.set_enabled, match.id, want["enabled"]))
        else:
            plan.note("schedule", label, "unchanged")
    if prune:
        for s in existing:
            if s.id not in claimed:
                plan.note("schedule", schedule_label(s.group, s.cron_expr), "removed")
                if s.group in m.groups:  # else removing its group removes it
                    plan.steps.append(partial(store.schedules.remove, s.id))


def apply_manifest(
    store: Store,
    text_or_path: str | Path,
    *,
    prune: bool = False,
    changed_by: str = "apply",
    dry_run: bool = False,
    base_dir: Path | None = None,
    as_text: bool = False,
    source: str | None = None,
    files: FilePolicy | None = None,
) -> ApplyReport:
    """Make the store hold what the file says; with `prune`, also remove what it does not.

    Validates everything first (ManifestError, nothing written), then creates
    and updates connections, modules (with their watermarks, hooks and
    checks), groups and schedules, in that order, and with `prune` removes
    groups, modules and connections absent from the file. `dry_run` returns
    the report without writing.

    Reading, planning and writing are one state-DB transaction: the plan is made
    from the state it is applied to, and a write the database refuses half-way
    rolls back every write before it, so the store holds all of the file or none.
    """
    read = partial(
        load_manifest,
        store,
        text_or_path,
        prune=prune,
        base_dir=base_dir,
        as_text=as_text,
        source=source,
        files=files,
    )
    if dry_run:
        plan = _plan(store, read(), prune, changed_by)
        plan.report.dry_run = True
        return plan.report
    with store.transaction():
        plan = _plan(store, read(), prune, changed_by)
        for step in plan.steps:
            step()
    return plan.report
