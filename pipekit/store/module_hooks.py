"""A module's hooks: SQL run after the merge, in ``run_order``, by outcome.

Hooks have no names, so they are addressed by id, and history records the
whole ordered list: ``{"hooks": [[old...], [new...]]}``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection as SAConnection
from sqlalchemy import Row, func, select

from pipekit.errors import ModuleSpecError, NotFoundError
from pipekit.store import schema
from pipekit.store.module_parts import changed, check_sql, refuse_unknown
from pipekit.store.modules import require_module
from pipekit.store.repo import UNSET, inserted_id

if TYPE_CHECKING:
    from pipekit.store.store import Store

_hk, _mod = schema.hook, schema.module
_T = TypeVar("_T")


@dataclass(frozen=True)
class Hook:
    id: int
    module: str
    run_order: int
    sql: str
    run_on: str


class HookRepo:
    """Hooks: SQL run after the merge, in ``run_order``, by outcome (``run_on``)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @staticmethod
    def _rows(conn: SAConnection, module_id: int) -> list[Row[Any]]:
        q = select(_hk).where(_hk.c.module_id == module_id).order_by(_hk.c.run_order, _hk.c.id)
        return list(conn.execute(q).all())

    @staticmethod
    def _snapshot(rows: list[Row[Any]]) -> list[dict[str, Any]]:
        return [{"run_order": r.run_order, "sql": r.sql, "run_on": r.run_on} for r in rows]

    @staticmethod
    def _values(given: Mapping[str, Any]) -> dict[str, Any]:
        refuse_unknown("hook", given, ("sql", "run_on", "run_order"))
        out: dict[str, Any] = {}
        if "sql" in given:
            out["sql"] = check_sql(given["sql"], "hook")
        if "run_on" in given:
            if given["run_on"] not in schema.HOOK_RUN_ON:
                raise ModuleSpecError(
                    f"hook run_on {given['run_on']!r} is not one of {', '.join(schema.HOOK_RUN_ON)}"
                )
            out["run_on"] = given["run_on"]
        if "run_order" in given:
            out["run_order"] = int(given["run_order"])
        return out

    def _change(
        self,
        module_id: int | None,
        hook_id: int | None,
        by: str,
        op: Callable[[SAConnection, int], _T],
    ) -> _T:
        """Run `op(conn, module_id)` and record the hook list before/after."""
        with self._store.write() as conn:
            if module_id is None:
                row = conn.execute(select(_hk).where(_hk.c.id == hook_id)).first()
                if row is None:
                    raise NotFoundError(f"no hook with id {hook_id}; see `pipekit hooks list`")
                module_id = row.module_id
            before = self._snapshot(self._rows(conn, module_id))
            result = op(conn, module_id)
            after = self._snapshot(self._rows(conn, module_id))
            changed(conn, module_id, {"hooks": [before, after]} if before != after else {}, by)
            return result

    def _item(self, conn: SAConnection, hook_id: int) -> Hook:
        row = conn.execute(
            select(_hk, _mod.c.name.label("module"))
            .join(_mod, _mod.c.id == _hk.c.module_id)
            .where(_hk.c.id == hook_id)
        ).one()
        return Hook(row.id, row.module, row.run_order, row.sql, row.run_on)

    def list(self, module: str) -> list[Hook]:
        with self._store.read() as conn:
            rows = self._rows(conn, require_module(conn, module).id)
        return [Hook(r.id, module, r.run_order, r.sql, r.run_on) for r in rows]

    def get(self, hook_id: int) -> Hook:
        with self._store.read() as conn:
            if conn.execute(select(_hk.c.id).where(_hk.c.id == hook_id)).first() is None:
                raise NotFoundError(f"no hook with id {hook_id}; see `pipekit hooks list`")
            return self._item(conn, hook_id)

    def add(
        self,
        module: str,
        sql: str,
        *,
        run_on: str = "success",
        run_order: int | None = None,
        changed_by: str = "cli",
    ) -> Hook:
        """Add a hook; `run_order` defaults to after the module's last hook."""
        values = self._values({"sql": sql, "run_on": run_on})

        def op(conn: SAConnection, mid: int) -> Hook:
            order = run_order
            if order is None:
                q = select(func.coalesce(func.max(_hk.c.run_order) + 1, 0))
                order = conn.execute(q.where(_hk.c.module_id == mid)).scalar_one()
            res = conn.execute(_hk.insert().values(module_id=mid, run_order=order, **values))
            return self._item(conn, inserted_id(res))

        with self._store.read() as conn:
            mid = require_module(conn, module).id
        return self._change(mid, None, changed_by, op)

    def update(self, hook_id: int, *, changed_by: str = "cli", **changes: Any) -> Hook:
        """Change `sql`, `run_on` or `run_order` of hook `hook_id`."""
        values = self._values({k: v for k, v in changes.items() if v is not UNSET})

        def op(conn: SAConnection, _mid: int) -> Hook:
            if values:
                conn.execute(_hk.update().where(_hk.c.id == hook_id).values(**values))
            return self._item(conn, hook_id)

        return self._change(None, hook_id, changed_by, op)

    def remove(self, hook_id: int, *, changed_by: str = "cli") -> None:
        self._change(
            None,
            hook_id,
            changed_by,
            lambda conn, _m: conn.execute(_hk.delete().where(_hk.c.id == hook_id)),
        )

    def replace_all(
        self, module: str, items: Iterable[Mapping[str, Any]], *, changed_by: str = "apply"
    ) -> bool:
        """Make the module's hooks exactly `items` (sql, run_on, run_order = position)."""
        wanted = [
            {"run_order": i, "run_on": "success", **self._values(item)}
            for i, item in enumerate(items)
        ]
        for spec in wanted:
            if "sql" not in spec:
                raise ModuleSpecError("a hook needs its SQL")
        with self._store.write() as conn:
            mid = require_module(conn, module).id
            before = self._snapshot(self._rows(conn, mid))
            after = sorted(
                (
                    {"run_order": s["run_order"], "sql": s["sql"], "run_on": s["run_on"]}
                    for s in wanted
                ),
                key=lambda s: s["run_order"],
            )
            if before == after:
                return False
            conn.execute(_hk.delete().where(_hk.c.module_id == mid))
            for spec in after:
                conn.execute(_hk.insert().values(module_id=mid, **spec))
            changed(conn, mid, {"hooks": [before, after]}, changed_by)
        return True
