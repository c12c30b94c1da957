"""A module's watermarks and checks (hooks: ``pipekit.store.module_hooks``).

Each change is recorded in ``module_history`` with the module's own changes:
``{"watermarks.<name>": [old, new]}``, ``{"checks.<name>": [old, new]}`` (a
dict of the item's settings, None when absent) and ``{"hooks": [old, new]}``
(the whole ordered list, since hooks have no names). ``replace_all`` is what
``pipekit apply`` uses: it makes the module's list equal to the given one and
records a single entry, or nothing at all when the list is already so.
A watermark's ``last_value`` is run state: kept by ``replace_all``, set with
``set_last_value``, never recorded in history.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import Connection as SAConnection
from sqlalchemy import Row, Table, func, select

from pipekit.errors import ModuleSpecError, NotFoundError
from pipekit.store import schema
from pipekit.store.modules import connection_id, record_history, require_module
from pipekit.store.repo import UNSET, AlreadyExistsError
from pipekit.store.types import utcnow

if TYPE_CHECKING:
    from pipekit.store.store import Store

_w, _ck, _mod = schema.watermark, schema.module_check, schema.module
_PLACEHOLDER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


@dataclass(frozen=True)
class Watermark:
    id: int
    module: str
    name: str
    connection: str | None
    resolver_sql: str | None
    default_value: str | None
    last_value: str | None


@dataclass(frozen=True)
class Check:
    id: int
    module: str
    name: str
    sql: str
    run_order: int


def changed(conn: SAConnection, module_id: int, diff: dict[str, Any], by: str) -> None:
    if diff:
        record_history(conn, module_id, diff, by)
        conn.execute(_mod.update().where(_mod.c.id == module_id).values(updated_at=utcnow()))


def check_sql(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ModuleSpecError(f"{what} SQL is empty")
    return value


def refuse_unknown(kind: str, given: Mapping[str, Any], known: tuple[str, ...]) -> None:
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise TypeError(f"unknown {kind} field(s): {', '.join(unknown)}; known: {', '.join(known)}")


_Part = TypeVar("_Part")


class _NamedParts(ABC, Generic[_Part]):
    """Shared CRUD for children named uniquely within their module."""

    kind: str
    table: Table
    fields: tuple[str, ...]  # the settings recorded in history, besides the name

    def __init__(self, store: Store) -> None:
        self._store = store

    # subclasses: turn given settings into column values, and a row into the dataclass
    @abstractmethod
    def _values(self, conn: SAConnection, given: Mapping[str, Any]) -> dict[str, Any]:
        """Column values for the given settings."""

    @abstractmethod
    def _item(self, module: str, row: Row[Any]) -> _Part:
        """The dataclass for a row."""

    def _config(self, row: Row[Any]) -> dict[str, Any]:
        return {f: row._mapping[f] for f in self.fields}

    def _select(self) -> Any:
        return select(self.table)

    def _rows(self, conn: SAConnection, module_id: int) -> list[Row[Any]]:
        t = self.table
        query = self._select().where(t.c.module_id == module_id)
        return list(conn.execute(query.order_by(*self._order())).all())

    def _order(self) -> tuple[Any, ...]:
        return (self.table.c.name,)

    def _find(self, conn: SAConnection, module: str, name: str) -> tuple[int, Row[Any]]:
        mid = require_module(conn, module).id
        for row in self._rows(conn, mid):
            if row.name == name:
                return mid, row
        raise NotFoundError(
            f"module '{module}' has no {self.kind} named '{name}' "
            f"(known: {', '.join(r.name for r in self._rows(conn, mid)) or 'none'})"
        )

    def _check_name(self, name: Any) -> str:
        if not isinstance(name, str) or not _PLACEHOLDER_RE.match(name):
            raise ModuleSpecError(
                f"invalid {self.kind} name {name!r}: use letters, digits and '_', "
                "not starting with a digit"
            )
        return name

    def list(self, module: str) -> list[_Part]:
        with self._store.read() as conn:
            mid = require_module(conn, module).id
            return [self._item(module, r) for r in self._rows(conn, mid)]

    def get(self, module: str, name: str) -> _Part:
        with self._store.read() as conn:
            return self._item(module, self._find(conn, module, name)[1])

    def add(self, module: str, name: str, *, changed_by: str = "cli", **settings: Any) -> _Part:
        refuse_unknown(self.kind, settings, self.fields)
        self._check_name(name)
        with self._store.write() as conn:
            mid = require_module(conn, module).id
            if any(r.name == name for r in self._rows(conn, mid)):
                raise AlreadyExistsError(f"module '{module}' already has a {self.kind} '{name}'")
            values = self._values(conn, {"run_order": self._next_order(conn, mid), **settings})
            conn.execute(self.table.insert().values(module_id=mid, name=name, **values))
            _, row = self._find(conn, module, name)
            changed(conn, mid, {f"{self.kind}s.{name}": [None, self._config(row)]}, changed_by)
            return self._item(module, row)

    def update(self, module: str, name: str, *, changed_by: str = "cli", **changes: Any) -> _Part:
        """Change the given settings (UNSET/omitted = unchanged); ``new_name=`` renames."""
        new_name = changes.pop("new_name", UNSET)
        refuse_unknown(self.kind, changes, self.fields)
        with self._store.write() as conn:
            mid, old = self._find(conn, module, name)
            values = self._values(conn, {k: v for k, v in changes.items() if v is not UNSET})
            target = name if new_name is UNSET else self._check_name(new_name)
            if target != name:
                if any(r.name == target for r in self._rows(conn, mid)):
                    raise AlreadyExistsError(
                        f"module '{module}' already has a {self.kind} '{target}'"
                    )
                values["name"] = target
            conn.execute(self.table.update().where(self.table.c.id == old.id).values(**values))
            _, new = self._find(conn, module, target)
            before, after = self._config(old), self._config(new)
            if target != name:
                diff = {f"{self.kind}s.{name}": [before, None]}
                diff[f"{self.kind}s.{target}"] = [None, after]
            else:
                diff = {f"{self.kind}s.{name}": [before, after]} if before != after else {}
            changed(conn, mid, diff, changed_by)
            return self._item(module, new)

    def remove(self, module: str, name: str, *, changed_by: str = "cli") -> None:
        with self._store.write() as conn:
            mid, row = self._find(conn, module, name)
            conn.execute(self.table.delete().where(self.table.c.id == row.id))
            changed(conn, mid, {f"{self.kind}s.{name}": [self._config(row), None]}, changed_by)

    def replace_all(
        self, module: str, items: Iterable[Mapping[str, Any]], *, changed_by: str = "apply"
    ) -> bool:
        """Make the module's list exactly `items` (each with ``name``); True if it changed."""
        wanted: dict[str, dict[str, Any]] = {}
        for i, item in enumerate(items):
            spec = dict(item)
            name = self._check_name(spec.pop("name", None))
            refuse_unknown(self.kind, spec, self.fields)
            if name in wanted:
                raise ModuleSpecError(f"{self.kind} '{name}' is listed twice")
            wanted[name] = {**dict.fromkeys(self.fields), "run_order": i, **spec}
        diff: dict[str, Any] = {}
        with self._store.write() as conn:
            mid = require_module(conn, module).id
            existing = {r.name: r for r in self._rows(conn, mid)}
            for name, row in existing.items():
                if name not in wanted:
                    conn.execute(self.table.delete().where(self.table.c.id == row.id))
                    diff[f"{self.kind}s.{name}"] = [self._config(row), None]
            for name, spec in wanted.items():
                values = self._values(conn, spec)
                current = existing.get(name)
                if current is None:
                    conn.execute(self.table.insert().values(module_id=mid, name=name, **values))
                elif any(current._mapping[k] != v for k, v in values.items()):
                    conn.execute(
                        self.table.update().where(self.table.c.id == current.id).values(**values)
                    )
                else:
                    continue
                new = self._find(conn, module, name)[1]
                diff[f"{self.kind}s.{name}"] = [
                    None if current is None else self._config(current),
                    self._config(new),
                ]
            changed(conn, mid, diff, changed_by)
        return bool(diff)

    def _next_order(self, conn: SAConnection, module_id: int) -> int:
        return 0


class WatermarkRepo(_NamedParts[Watermark]):
    """Named watermarks (``{name}`` placeholders in the source query)."""

    kind = "watermark"
    table = _w
    fields = ("connection", "resolver_sql", "default_value")

    def _select(self) -> Any:
        c = schema.connection.alias("wc")
        return select(_w, c.c.name.label("connection")).outerjoin(c, c.c.id == _w.c.connection_id)

    def _values(self, conn: SAConnection, given: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "connection" in given:
            out["connection_id"] = connection_id(conn, given["connection"] or None, "watermark")
        for key in ("resolver_sql", "default_value"):
            if key in given:
                out[key] = given[key] if given[key] != "" else None
        return out

    def _item(self, module: str, row: Row[Any]) -> Watermark:
        m = row._mapping
        return Watermark(
            id=m["id"],
            module=module,
            name=m["name"],
            connection=m["connection"],
            resolver_sql=m["resolver_sql"],
            default_value=m["default_value"],
            last_value=m["last_value"],
        )

    def set_last_value(self, module: str, name: str, value: str | None) -> None:
        """Store the value a run resolved (run state: not recorded in history)."""
        with self._store.write() as conn:
            _, row = self._find(conn, module, name)
            conn.execute(_w.update().where(_w.c.id == row.id).values(last_value=value))


class CheckRepo(_NamedParts[Check]):
    """Checks: SQL that must return no rows before a merge commits."""

    kind = "check"
    table = _ck
    fields = ("sql", "run_order")

    def _order(self) -> tuple[Any, ...]:
        return (_ck.c.run_order, _ck.c.id)

    def _values(self, conn: SAConnection, given: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "sql" in given:
            out["sql"] = check_sql(given["sql"], "check")
        if "run_order" in given:
            out["run_order"] = int(given["run_order"])
        return out

    def add(self, module: str, name: str, *, changed_by: str = "cli", **settings: Any) -> Check:
        if "sql" not in settings:
            raise ModuleSpecError("a check needs its SQL")
        return super().add(module, name, changed_by=changed_by, **settings)

    def _next_order(self, conn: SAConnection, module_id: int) -> int:
        q = select(func.coalesce(func.max(_ck.c.run_order) + 1, 0)).where(
            _ck.c.module_id == module_id
        )
        return int(conn.execute(q).scalar_one())

    def _item(self, module: str, row: Row[Any]) -> Check:
        return Check(id=row.id, module=module, name=row.name, sql=row.sql, run_order=row.run_order)
