"""Groups: named, ordered lists of modules that run together (DESIGN 6.5).

Members keep their order in ``group_member.run_order`` (0, 1, 2, ...).
``enabled_modules`` is what ``run_group`` runs: enabled members, in order.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection as SAConnection
from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError

from pipekit.errors import (
    GroupSpecError,
    NotFoundError,
)
from pipekit.store import schema
from pipekit.store.modules import Module, require_module, select_modules
from pipekit.store.repo import UNSET, AlreadyExistsError, _Unset, check_name

if TYPE_CHECKING:
    from pipekit.store.store import Store

_t = schema.grp
_m = schema.group_member
_mod = schema.module


@dataclass(frozen=True)
class Group:
    id: int
    name: str
    description: str | None
    members: tuple[str, ...]  # module names in run order


@dataclass(frozen=True)
class Member:
    """One membership: `module` runs at `run_order` in `group`; `id` is the membership's."""

    id: int
    group: str
    module: str
    run_order: int


def require_group(conn: SAConnection, name: str) -> Row[Any]:
    row = conn.execute(select(_t).where(_t.c.name == name)).first()
    if row is None:
        known = conn.execute(select(_t.c.name).order_by(_t.c.name).limit(20)).scalars().all()
        hint = f"known: {', '.join(known)}" if known else "none are defined yet"
        raise NotFoundError(f"no group named '{name}' ({hint}); add one with `pipekit groups add`")
    return row


def _duplicate(name: str) -> AlreadyExistsError:
    return AlreadyExistsError(
        f"a group named '{name}' already exists; pick another name, "
        f"or remove it first with `pipekit groups rm {name}`"
    )


def _members(conn: SAConnection, group_id: int) -> tuple[str, ...]:
    query = (
        select(_mod.c.name)
        .join(_m, _m.c.module_id == _mod.c.id)
        .where(_m.c.group_id == group_id)
        .order_by(_m.c.run_order, _m.c.id)
    )
    return tuple(conn.execute(query).scalars())


def _group(conn: SAConnection, row: Row[Any]) -> Group:
    return Group(
        id=row.id, name=row.name, description=row.description, members=_members(conn, row.id)
    )


class GroupRepo:
    """CRUD for groups, by name, and their ordered members."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(
        self, name: str, *, description: str | None = None, members: Sequence[str] = ()
    ) -> Group:
        """Create a group, optionally with members; NotFoundError names a missing module."""
        check_name("group", name, GroupSpecError)
        try:
            with self._store.write() as conn:
                if conn.execute(select(_t.c.id).where(_t.c.name == name)).first():
                    raise _duplicate(name)
                conn.execute(_t.insert().values(name=name, description=description or None))
                row = require_group(conn, name)
                self._set(conn, row.id, members)
                return _group(conn, row)
        except IntegrityError:
            raise _duplicate(name) from None

    def get(self, name: str) -> Group:
        with self._store.read() as conn:
            return _group(conn, require_group(conn, name))

    def list(self) -> list[Group]:
        """All groups by name, with their members."""
        with self._store.read() as conn:
            rows = conn.execute(select(_t).order_by(_t.c.name)).all()
            return [_group(conn, r) for r in rows]

    def update(
        self,
        name: str,
        *,
        new_name: str | _Unset = UNSET,
        description: str | _Unset | None = UNSET,
    ) -> Group:
        changes: dict[str, Any] = {}
        if new_name is not UNSET:
            changes["name"] = check_name("group", new_name, GroupSpecError)
        if description is not UNSET:
            changes["description"] = description or None
        target = changes.get("name", name)
        try:
            with self._store.write() as conn:
                row = require_group(conn, name)
                if (
                    target != name
                    and conn.execute(select(_t.c.id).where(_t.c.name == target)).first()
                ):
                    raise _duplicate(target)
                if changes:
                    conn.execute(_t.update().where(_t.c.id == row.id).values(**changes))
                return _group(conn, require_group(conn, target))
        except IntegrityError:
            raise _duplicate(target) from None

    def remove(self, name: str) -> None:
        """Delete a group with its members and schedules; its group runs keep the name."""
        with self._store.write() as conn:
            row = require_group(conn, name)
            conn.execute(_t.delete().where(_t.c.id == row.id))

    def set_members(self, name: str, modules: Sequence[str]) -> Group:
        """Make `modules` (in this order) the group's members; unchanged rows stay."""
        with self._store.write() as conn:
            row = require_group(conn, name)
            self._set(conn, row.id, modules)
            return _group(conn, row)

    def add_member(self, name: str, module: str, *, position: int | None = None) -> Group:
        """Add `module` at `position` (0 = first; default last). Already there: moved."""
        with self._store.write() as conn:
            row = require_group(conn, name)
            current = [m for m in _members(conn, row.id) if m != module]
            current.insert(len(current) if position is None else position, module)
            self._set(conn, row.id, current)
            return _group(conn, row)

    def remove_member(self, name: str, module: str) -> Group:
        """Take `module` out of the group; NotFoundError if it is not a member."""
        with self._store.write() as conn:
            row = require_group(conn, name)
            current = list(_members(conn, row.id))
            if module not in current:
                raise NotFoundError(
                    f"module '{module}' is not a member of group '{name}' "
                    f"(members: {', '.join(current) or 'none'})"
                )
            current.remove(module)
            self._set(conn, row.id, current)
            return _group(conn, row)

    def members(self, name: str | None = None) -> builtins.list[Member]:
        """The memberships of group `name` (every group's when None), in run order."""
        query = (
            select(_m.c.id, _t.c.name.label("grp"), _mod.c.name.label("module"), _m.c.run_order)
            .join(_mod, _mod.c.id == _m.c.module_id)
            .join(_t, _t.c.id == _m.c.group_id)
            .order_by(_t.c.name, _m.c.run_order, _m.c.id)
        )
        with self._store.read() as conn:
            if name is not None:
                query = query.where(_m.c.group_id == require_group(conn, name).id)
            return [Member(r.id, r.grp, r.module, r.run_order) for r in conn.execute(query)]

    def member(self, member_id: int) -> Member:
        """The membership with id `member_id`; NotFoundError if there is none."""
        query = (
            select(_m.c.id, _t.c.name.label("grp"), _mod.c.name.label("module"), _m.c.run_order)
            .join(_mod, _mod.c.id == _m.c.module_id)
            .join(_t, _t.c.id == _m.c.group_id)
            .where(_m.c.id == member_id)
        )
        with self._store.read() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFoundError(
                f"no group member with id {member_id}; the ids are the members[].id "
                "of a group (GET /api/groups/{id})",
                path="id",
            )
        return Member(row.id, row.grp, row.module, row.run_order)

    def enabled_modules(self, name: str) -> builtins.list[Module]:
        """The group's enabled modules in run order: what a group run runs."""
        with self._store.read() as conn:
            row = require_group(conn, name)
            query = (
                select_modules()
                .join(_m, _m.c.module_id == _mod.c.id)
                .where(_m.c.group_id == row.id, _mod.c.enabled == True)  # noqa: E712
                .order_by(_m.c.run_order, _m.c.id)
            )
            return [Module.from_row(r) for r in conn.execute(query).all()]

    def groups_of(self, module: str) -> builtins.list[str]:
        """Names of the groups `module` belongs to."""
        with self._store.read() as conn:
            mid = require_module(conn, module).id
            query = (
                select(_t.c.name)
                .join(_m, _m.c.group_id == _t.c.id)
                .where(_m.c.module_id == mid)
                .order_by(_t.c.name)
            )
            return list(conn.execute(query).scalars())

    @staticmethod
    def _set(conn: SAConnection, group_id: int, modules: Sequence[str]) -> None:
        seen = [m for i, m in enumerate(modules) if m in modules[:i]]
        if seen:
            raise GroupSpecError(
                f"module(s) listed more than once in the group: {', '.join(seen)}", path="members"
            )
        ids = [require_module(conn, m).id for m in modules]
        existing = {
            r.module_id: (r.id, r.run_order)
            for r in conn.execute(select(_m).where(_m.c.group_id == group_id))
        }
        gone = set(existing) - set(ids)
        if gone:
            conn.execute(_m.delete().where(_m.c.group_id == group_id, _m.c.module_id.in_(gone)))
        for order, mid in enumerate(ids):
            if mid not in existing:
                conn.execute(_m.insert().values(group_id=group_id, module_id=mid, run_order=order))
            elif existing[mid][1] != order:
                conn.execute(_m.update().where(_m.c.id == existing[mid][0]).values(run_order=order))
