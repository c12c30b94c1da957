"""A module's watermarks, hooks and checks: list, show, add, change, remove.

Every write is judged with the module it belongs to (``module_rules``): refused
for the problems it adds, with every problem's path, and with the warnings it
adds returned on the saved view (``warnings``). Removing or renaming a watermark
the query still uses is refused with path ``watermarks.<name>``. Modules are
found by id or name, watermarks and checks by name, hooks by id.
"""

from __future__ import annotations

import builtins
import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pipekit.errors import AlreadyExistsError, ModuleSpecError, NotFoundError
from pipekit.services.audit import audited
from pipekit.services.module_rules import (
    check_change,
    check_run_on,
    find_module,
    find_part,
    part_name_problem,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from pipekit.services import Services
    from pipekit.store import Module


@dataclass(frozen=True)
class WatermarkView:
    id: int
    module: str
    name: str
    connection: str | None
    resolver_sql: str | None
    default_value: str | None
    last_value: str | None


@dataclass(frozen=True)
class SavedWatermarkView(WatermarkView):
    """A watermark just written, with the warnings about the module the write left."""

    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HookView:
    id: int
    module: str
    run_order: int
    sql: str
    run_on: str


@dataclass(frozen=True)
class SavedHookView(HookView):
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CheckView:
    id: int
    module: str
    name: str
    sql: str
    run_order: int


@dataclass(frozen=True)
class SavedCheckView(CheckView):
    warnings: list[str] = field(default_factory=list)


ViewT = TypeVar("ViewT", bound="DataclassInstance")  # a view dataclass


def view(cls: type[ViewT], item: Any, **extra: Any) -> ViewT:
    """`cls` (a view) filled from the store's dataclass `item`."""
    names = [f.name for f in dataclasses.fields(cls) if f.name not in extra]
    return cls(**{n: getattr(item, n) for n in names}, **extra)


def _sql(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ModuleSpecError(f"the {what} SQL is empty; give the SQL text", path="sql")
    return value


def _named(kind: str, name: Any) -> str:
    problem = part_name_problem(kind, name)
    if problem is not None:
        raise ModuleSpecError(problem.message, path="name")
    valid: str = name  # part_name_problem() passes strings only
    return valid


class _Parts:
    def __init__(self, sv: Services) -> None:
        self._sv = sv
        self._store = sv.store

    def _module(self, key: str | int) -> Module:
        return find_module(self._store, key)


# -- watermarks --------------------------------------------------------------------


def _watermark_settings(connection: Any, resolver_sql: Any, default: Any) -> dict[str, Any]:
    return {"connection": connection, "resolver_sql": resolver_sql, "default": default}


class WatermarkService(_Parts):
    """Named watermarks: ``{name}`` placeholders in a module's source query."""

    def list(self, module: str | int) -> list[WatermarkView]:
        m = self._module(module)
        return [view(WatermarkView, w) for w in self._store.watermarks.list(m.name)]

    def show(self, module: str | int, name: str) -> WatermarkView:
        m = self._module(module)
        items = self._store.watermarks.list(m.name)
        return view(WatermarkView, find_part(items, m.name, name, "watermark"))

    @audited("watermark", "add")
    def add(
        self,
        module: str | int,
        name: str,
        *,
        connection: str | None = None,
        resolver_sql: str | None = None,
        default_value: str | None = None,
    ) -> SavedWatermarkView:
        """Add a watermark; one the query does not use yet is allowed, with a warning."""
        m = self._module(module)
        _named("watermark", name)
        if any(w.name == name for w in self._store.watermarks.list(m.name)):
            raise AlreadyExistsError(
                f"module '{m.name}' already has a watermark '{name}'; change it with "
                f"`pipekit watermarks edit {m.name} {name}`",
                path="name",
            )
        default_value = default_value or None

        def change(spec: dict[str, Any]) -> dict[str, Any]:
            spec["watermarks"][name] = _watermark_settings(connection, resolver_sql, default_value)
            return spec

        warnings = check_change(self._store, m, change, f"watermark '{name}' of module '{m.name}'")
        w = self._store.watermarks.add(
            m.name,
            name,
            connection=connection,
            resolver_sql=resolver_sql,
            default_value=default_value,
            changed_by=self._sv.actor,
        )
        return view(SavedWatermarkView, w, warnings=warnings)

    @audited("watermark", "update", name_of=("module", "name"))
    def update(self, module: str | int, name: str, /, **changes: Any) -> SavedWatermarkView:
        """Change `name` (rename), `connection`, `resolver_sql` or `default_value`; fields
        left out stay, None clears (a name cannot be cleared)."""
        unknown = set(changes) - {"name", "connection", "resolver_sql", "default_value"}
        if unknown:
            raise TypeError(f"unknown watermark field(s): {', '.join(sorted(unknown))}")
        m = self._module(module)
        items = self._store.watermarks.list(m.name)
        find_part(items, m.name, name, "watermark")
        target = changes.pop("name", name)
        if target is None:
            raise ModuleSpecError("name may not be null; give the new name", path="name")
        if target != name:
            _named("watermark", target)
            if any(w.name == target for w in items):
                raise AlreadyExistsError(
                    f"module '{m.name}' already has a watermark '{target}'", path="name"
                )
        if changes.get("default_value") == "":
            changes["default_value"] = None

        def change(spec: dict[str, Any]) -> dict[str, Any]:
            item = spec["watermarks"].pop(name)
            for key, value in changes.items():
                item["default" if key == "default_value" else key] = value
            spec["watermarks"][target] = item
            return spec

        warnings = check_change(
            self._store,
            m,
            change,
            f"watermark '{name}' of module '{m.name}'",
            removed=name if target != name else None,
        )
        if target != name:
            changes["new_name"] = target
        w = self._store.watermarks.update(m.name, name, changed_by=self._sv.actor, **changes)
        return view(SavedWatermarkView, w, warnings=warnings)

    @audited("watermark", "remove", name_of=("module", "name"))
    def remove(self, module: str | int, name: str) -> None:
        """Remove a watermark; refused (path ``watermarks.<name>``) while the query uses it."""
        m = self._module(module)
        find_part(self._store.watermarks.list(m.name), m.name, name, "watermark")

        def change(spec: dict[str, Any]) -> dict[str, Any]:
            del spec["watermarks"][name]
            return spec

        check_change(
            self._store,
            m,
            change,
            f"removing watermark '{name}' from module '{m.name}'",
            removed=name,
        )
        self._store.watermarks.remove(m.name, name, changed_by=self._sv.actor)


# -- hooks ---------------------------------------------------------------------------


class HookService(_Parts):
    """Hooks: SQL run on the destination after a module's merge, addressed by id."""

    def list(self, module: str | int) -> list[HookView]:
        m = self._module(module)
        return [view(HookView, h) for h in self._store.hooks.list(m.name)]

    def show(self, hook_id: int) -> HookView:
        return view(HookView, self._hook(hook_id))

    def _hook(self, hook_id: int | str) -> Any:
        from pipekit.services.lookup import as_id

        number = as_id(hook_id)
        try:
            if number is None:
                raise NotFoundError("")
            return self._store.hooks.get(number)
        except NotFoundError:
            raise NotFoundError(
                f"no hook with id {hook_id}; `pipekit hooks list MODULE` shows a module's "
                "hooks and their ids"
            ) from None

    @staticmethod
    def _index(position: int | None, count: int, module: str) -> int | None:
        """The 0-based index for a 1-based `position` among `count` places."""
        if position is None:
            return None
        if not 1 <= position <= count:
            raise ModuleSpecError(
                f"position {position} is out of range; module '{module}' would have "
                f"{count} hook(s), so use 1 to {count}",
                path="position",
            )
        return position - 1

    def _place(self, others: builtins.list[Any], index: int) -> None:
        """Renumber `others` (the module's hooks in order, without the one being placed)
        0, 1, 2, ... leaving run order `index` free; only changed ones are written."""
        for i, hook in enumerate(others):
            order = i if i < index else i + 1
            if hook.run_order != order:
                self._store.hooks.update(hook.id, run_order=order, changed_by=self._sv.actor)

    @audited("hook", "add")
    def add(
        self,
        module: str | int,
        sql: str,
        *,
        run_on: str = "success",
        position: int | None = None,
        run_order: int | None = None,
    ) -> SavedHookView:
        """Add a hook: last, at 1-based `position` (the others move down), or with a
        raw `run_order`."""
        m = self._module(module)
        _sql(sql, "hook")
        check_run_on(run_on)
        hooks = self._store.hooks.list(m.name)
        index = self._index(position, len(hooks) + 1, m.name)

        def change(spec: dict[str, Any]) -> dict[str, Any]:
            at = len(spec["hooks"]) if index is None else index
            spec["hooks"].insert(at, {"sql": sql, "run_on": run_on})
            return spec

        warnings = check_change(self._store, m, change, f"the new hook of module '{m.name}'")
        with self._store.transaction():
            if index is not None:
                self._place(hooks, index)
                run_order = index
            hook = self._store.hooks.add(
                m.name, sql, run_on=run_on, run_order=run_order, changed_by=self._sv.actor
            )
        return view(SavedHookView, hook, warnings=warnings)

    @audited("hook", "update")
    def update(
        self,
        hook_id: int,
        *,
        sql: str | None = None,
        run_on: str | None = None,
        position: int | None = None,
    ) -> SavedHookView:
        """Change a hook's SQL, outcome or 1-based position (None: unchanged)."""
        old = self._hook(hook_id)
        if sql is not None:
            _sql(sql, "hook")
        if run_on is not None:
            check_run_on(run_on)
        m = self._module(old.module)
        hooks = self._store.hooks.list(m.name)
        current = [h.id for h in hooks].index(old.id)
        index = self._index(position, len(hooks), m.name)
        target = current if index is None else index

        def change(spec: dict[str, Any]) -> dict[str, Any]:
            item = spec["hooks"].pop(current)
            if sql is not None:
                item["sql"] = sql
            if run_on is not None:
                item["run_on"] = run_on
            spec["hooks"].insert(target, item)
            return spec

        warnings = check_change(self._store, m, change, f"hook {old.id} of module '{m.name}'")
        changes: dict[str, Any] = {}
        if sql is not None:
            changes["sql"] = sql
        if run_on is not None:
            changes["run_on"] = run_on
        with self._store.transaction():
            if target != current:
                self._place([h for h in hooks if h.id != old.id], target)
                changes["run_order"] = target
            hook = self._store.hooks.update(old.id, changed_by=self._sv.actor, **changes)
        return view(SavedHookView, hook, warnings=warnings)

    @audited("hook", "remove")
    def remove(self, hook_id: int) -> HookView:
        """Remove a hook; returns what it was."""
        hook = self._hook(hook_id)
        self._store.hooks.remove(hook.id, changed_by=self._sv.actor)
        return view(HookView, hook)


# -- checks ---------------------------------------------------------------------------


class CheckService(_Parts):
    """Checks: SQL on the destination that must return no rows before a merge commits."""

    def list(self, module: str | int) -> list[CheckView]:
        m = self._module(module)
        return [view(CheckView, c) for c in self._store.checks.list(m.name)]

    def show(self, module: str | int, name: str) -> CheckView:
        m = self._module(module)
        return view(CheckView, find_part(self._store.checks.list(m.name), m.name, name, "check"))

    @audited("check", "add")
    def add(
        self, module: str | int, name: str, sql: str, *, run_order: int | None = None
    ) -> SavedCheckView:
        m = self._module(module)
        _named("check", name)
        _sql(sql, "check")
        if any(c.name == name for c in self._store.checks.list(m.name)):
            raise AlreadyExistsError(
                f"module '{m.name}' already has a check '{name}'; change it with "
                f"`pipekit checks edit {m.name} {name}`",
                path="name",
            )

        def change(spec: dict[str, Any]) -> dict[str, Any]:
            spec["checks"].append({"name": name, "sql": sql})
            return spec

        warnings = check_change(self._store, m, change, f"check '{name}' of module '{m.name}'")
        extra = {} if run_order is None else {"run_order": run_order}
        check = self._store.checks.add(m.name, name, sql=sql, changed_by=self._sv.actor, **extra)
        return view(SavedCheckView, check, warnings=warnings)

    @audited("check", "update", name_of=("module", "name"))
    def update(self, module: str | int, name: str, /, **changes: Any) -> SavedCheckView:
        """Change `name` (rename), `sql` or `run_order`; neither name nor sql may be null."""
        unknown = set(changes) - {"name", "sql", "run_order"}
        if unknown:
            raise TypeError(f"unknown check field(s): {', '.join(sorted(unknown))}")
        for key in ("name", "sql"):
            if key in changes and changes[key] is None:
                raise ModuleSpecError(f"{key} may not be null; give a value", path=key)
        m = self._module(module)
        items = self._store.checks.list(m.name)
        find_part(items, m.name, name, "check")
        target = changes.pop("name", name)
        if target != name:
            _named("check", target)
            if any(c.name == target for c in items):
                raise AlreadyExistsError(
                    f"module '{m.name}' already has a check '{target}'", path="name"
                )
        if "sql" in changes:
            _sql(changes["sql"], "check")
        if changes.get("run_order", 0) is None:
            del changes["run_order"]  # null: keep its place

        def change(spec: dict[str, Any]) -> dict[str, Any]:
            for item in spec["checks"]:
                if item["name"] == name:
                    item["name"] = target
                    item["sql"] = changes.get("sql", item["sql"])
            return spec

        warnings = check_change(self._store, m, change, f"check '{name}' of module '{m.name}'")
        if target != name:
            changes["new_name"] = target
        check = self._store.checks.update(m.name, name, changed_by=self._sv.actor, **changes)
        return view(SavedCheckView, check, warnings=warnings)

    @audited("check", "remove", name_of=("module", "name"))
    def remove(self, module: str | int, name: str) -> None:
        m = self._module(module)
        find_part(self._store.checks.list(m.name), m.name, name, "check")
        self._store.checks.remove(m.name, name, changed_by=self._sv.actor)
