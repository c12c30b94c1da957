"""Groups: named, ordered lists of modules that run together, and their members.

Every face finds a group by id or name (with "did you mean"), names every
unknown module of a member list at once, and changes a group's name,
description and members in one state-DB transaction. Positions count from 0
unless the caller says otherwise (the CLI counts from 1), and the error for one
out of range says which positions are allowed in the caller's counting.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pipekit.errors import GroupSpecError, NotFoundError, Problem, ValidationError
from pipekit.services.audit import audited
from pipekit.services.lookup import describe_missing, find, first_missing, not_found

if TYPE_CHECKING:
    from pipekit.services import Services
    from pipekit.services.schedules import ScheduleView

GROUP_FIX = "add one with `pipekit groups add` (POST /api/groups)"
MODULE_FIX = "add it with `pipekit modules add` (POST /api/modules)"


class _Unset:
    """Default of ``update()`` arguments: leave the field as it is."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class MemberView:
    #: the membership's id: ``DELETE /api/groups/members/{id}`` removes it
    id: int
    module: str
    run_order: int


@dataclass(frozen=True)
class GroupView:
    id: int
    name: str
    description: str | None
    members: list[MemberView]

    @property
    def modules(self) -> list[str]:
        """The member modules' names, in run order."""
        return [m.module for m in self.members]


@dataclass(frozen=True)
class MemberDetail:
    """A member module as ``groups show`` lists it."""

    position: int  # from 1
    module: str
    enabled: bool
    merge_strategy: str
    source: str | None
    dest: str | None
    dest_table: str | None


@dataclass(frozen=True)
class GroupRunBrief:
    id: int
    started_at: datetime
    finished_at: datetime | None
    status: str
    triggered_by: str | None
    error: str | None


@dataclass(frozen=True)
class GroupDetail:
    """A group with what ``groups list`` / ``groups show`` print beside it."""

    group: GroupView
    members: list[MemberDetail]
    schedules: list[ScheduleView]
    runs: list[GroupRunBrief]  # newest first


@dataclass(frozen=True)
class RemovedGroup:
    name: str
    schedules: int  # removed with it


def _brief(run: Any) -> GroupRunBrief:
    return GroupRunBrief(
        run.id, run.started_at, run.finished_at, run.status, run.triggered_by, run.error
    )


class GroupService:
    def __init__(self, sv: Services) -> None:
        self._sv = sv
        self._store = sv.store

    # -- reading ---------------------------------------------------------------

    def list(self) -> list[GroupView]:
        """Every group by name, with its members in run order."""
        groups = self._store.groups.list()
        members = self._store.groups.members()
        by_group: dict[str, list[MemberView]] = {}
        for m in members:
            by_group.setdefault(m.group, []).append(MemberView(m.id, m.module, m.run_order))
        return [GroupView(g.id, g.name, g.description, by_group.get(g.name, [])) for g in groups]

    def show(self, key: str | int) -> GroupView:
        """The group with id or name `key`; NotFoundError with the closest name."""
        group = self._find(key)
        members = self._store.groups.members(group.name)
        return GroupView(
            group.id,
            group.name,
            group.description,
            [MemberView(m.id, m.module, m.run_order) for m in members],
        )

    def detail(self, key: str | int, *, runs: int = 5) -> GroupDetail:
        """The group, its member modules' settings, its schedules and its last `runs` runs."""
        group = self.show(key)
        modules = {m.name: m for m in self._store.modules.list()}
        members = []
        for i, name in enumerate(group.modules, 1):
            m = modules[name]
            members.append(
                MemberDetail(i, name, m.enabled, m.merge_strategy, m.source, m.dest, m.dest_table)
            )
        schedules = self._sv.schedules.list(group=group.name)
        recent = [_brief(r) for r in self._store.runs.list_group(group.name, limit=runs)]
        return GroupDetail(group, members, schedules, recent)

    def overview(self) -> builtins.list[GroupDetail]:
        """Every group with its schedules and its last run (no member details)."""
        groups = self.list()
        schedules = self._sv.schedules.list()
        out = []
        for g in groups:
            last = self._store.runs.list_group(g.name, limit=1)
            mine = [s for s in schedules if s.group_id == g.id]
            out.append(GroupDetail(g, [], mine, [_brief(r) for r in last]))
        return out

    # -- writing ---------------------------------------------------------------

    @audited("group", "add")
    def add(
        self, name: str, description: str | None = None, members: Sequence[str | int] = ()
    ) -> GroupView:
        """Create a group with `members` (module ids or names) in run order."""
        from pipekit.store.repo import check_name

        check_name("group", name, GroupSpecError)
        modules = self._module_names(members)
        group = self._store.groups.add(name, description=description, members=modules)
        return self.show(group.id)

    @audited("group", "update")
    def update(
        self,
        key: str | int,
        *,
        name: str = UNSET,
        description: str | None = UNSET,
        members: Sequence[str | int] = UNSET,
    ) -> GroupView:
        """Rename, describe ("" or None clears) and/or set the members, all or nothing."""
        from pipekit.store import UNSET as STORE_UNSET
        from pipekit.store.repo import check_name

        nulls = [k for k, v in (("name", name), ("members", members)) if v is None]
        if nulls:
            raise ValidationError(
                [
                    Problem(k, "may not be null; leave it out to keep it ([] for no members)")
                    for k in nulls
                ],
                "the group",
            )
        if name is not UNSET:
            check_name("group", name, GroupSpecError)
        with self._store.transaction():
            group = self._find(key)
            modules = None if members is UNSET else self._module_names(members)
            if name is not UNSET or description is not UNSET:
                group = self._store.groups.update(
                    group.name,
                    new_name=STORE_UNSET if name is UNSET else name,
                    description=STORE_UNSET if description is UNSET else description,
                )
            if modules is not None:
                self._store.groups.set_members(group.name, modules)
            return self.show(group.id)

    def set_members(self, key: str | int, members: Sequence[str | int]) -> GroupView:
        """Make `members` (in this order) the group's modules."""
        return self.update(key, members=members)

    @audited("group", "add_member", skip=("position",))
    def add_member(
        self, key: str | int, module: str | int, position: int | None = None, *, first: int = 0
    ) -> GroupView:
        """Add `module` last or at `position` (counted from `first`); a member moves there."""
        with self._store.transaction():
            group = self.show(key)
            name = self._module_names([module], path="module")[0]
            others = [m for m in group.modules if m != name]
            if position is not None:
                last = len(others) + first
                if not first <= position <= last:
                    raise GroupSpecError(
                        f"position {position} is out of range; group '{group.name}' would have "
                        f"{len(others) + 1} member(s), so use {first} to {last} "
                        f"({first} runs first)",
                        path="position",
                    )
                position -= first
            self._store.groups.add_member(group.name, name, position=position)
            return self.show(group.id)

    @audited("group", "remove_member")
    def remove_member(self, key: str | int, module: str | int) -> GroupView:
        """Take `module` out of the group (the module itself is kept)."""
        with self._store.transaction():
            group = self.show(key)
            name = self._module_names([module], path="module")[0]
            if name not in group.modules:
                raise NotFoundError(
                    f"module '{name}' is not a member of group '{group.name}' "
                    f"(members: {', '.join(group.modules) or 'none'})",
                    path="module",
                )
            self._store.groups.remove_member(group.name, name)
            return self.show(group.id)

    @audited("group", "remove_member")
    def remove_membership(self, member_id: int) -> GroupView:
        """Remove the membership with id `member_id` (``members[].id``); the group after."""
        with self._store.transaction():
            member = self._store.groups.member(member_id)
            self._store.groups.remove_member(member.group, member.module)
            return self.show(member.group)

    @audited("group", "remove")
    def remove(self, key: str | int) -> RemovedGroup:
        """Delete a group with its schedules; its modules and group runs stay."""
        with self._store.transaction():
            group = self._find(key)
            schedules = len(self._store.schedules.list(group=group.name))
            self._store.groups.remove(group.name)
        return RemovedGroup(group.name, schedules)

    def module_name(self, key: str | int) -> str:
        """The name of the module with id or name `key` (NotFoundError with did-you-mean)."""
        return self._module_names([key], path="module")[0]

    # -- helpers ---------------------------------------------------------------

    def _find(self, key: str | int) -> Any:
        return find(self._store.groups.list(), key, "group", GROUP_FIX)

    def _module_names(
        self, keys: Sequence[str | int], *, path: str = "members"
    ) -> builtins.list[str]:
        """The names of modules given by id or name; NotFoundError naming every unknown one."""
        from pipekit.services.lookup import as_id

        if not keys:
            return []
        modules = self._store.modules.list()
        by_id = {m.id: m.name for m in modules}
        names = [m.name for m in modules]
        out: list[str] = []
        for key in keys:
            number = as_id(key)
            out.append(by_id.get(number, str(key)) if number is not None else str(key))
        unknown = first_missing(out, names)
        if unknown:
            if len(unknown) == 1:
                exc = not_found("module", unknown[0], names, MODULE_FIX)
                raise NotFoundError(exc.message, path=path)
            raise NotFoundError(describe_missing("module", unknown, names, MODULE_FIX), path=path)
        return out
