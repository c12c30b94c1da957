"""Users: the people the API and the web console let in, their roles and password hashes.

Every user holds one role of ``pipekit.roles`` (``viewer`` < ``operator`` < ``editor``
< ``admin``). ``authorize`` is the one check every face makes before acting for a
user. There is always at least one admin: removing or demoting the last is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from pipekit.errors import PermissionDeniedError, UserSpecError
from pipekit.roles import ROLES, Role, allows
from pipekit.services.audit import audited
from pipekit.services.lookup import find

if TYPE_CHECKING:
    from pipekit.services import Services


#: the settings key of the web sessions' signing key
SESSION_SECRET_KEY = "web.session_secret"


@dataclass(frozen=True)
class UserView:
    id: int
    name: str
    role: str
    created_at: datetime


class UserService:
    def __init__(self, sv: Services) -> None:
        self._sv = sv
        self._repo = sv.store.users

    def list(self) -> list[UserView]:
        return [UserView(u.id, u.name, u.role, u.created_at) for u in self._repo.list()]

    def show(self, key: str | int) -> UserView:
        return find(self.list(), key, "user", "add one with `pipekit users add USER`")

    @audited("user", "add")
    def add(self, name: str, password: str, role: str = Role.VIEWER.value) -> UserView:
        """A new user with `role` (AlreadyExistsError if the name is taken)."""
        self._sv.store.check()
        u = self._repo.add(name, password, role)
        return UserView(u.id, u.name, u.role, u.created_at)

    @audited("user", "set_password", skip=("name",))
    def set_password(self, name: str, password: str) -> UserView:
        """Change `name`'s password, or create the user (UserSpecError for an empty
        password). A user created here is ``admin`` if there is no admin yet (the first
        user of an installation), else ``viewer``: ``users set-role`` gives more."""
        self._sv.store.check()
        with self._sv.store.transaction():
            first = self._repo.count_role(Role.ADMIN.value) == 0
            role = Role.ADMIN.value if first else Role.VIEWER.value
            u = self._repo.set_password(name, password, role=role)
        return UserView(u.id, u.name, u.role, u.created_at)

    @audited("user", "set_role", skip=("name",))
    def set_role(self, name: str, role: str) -> UserView:
        """Give `name` the role `role`; refused for the last admin."""
        with self._sv.store.transaction():
            current = self._get(name)
            if current.role == Role.ADMIN.value and role != Role.ADMIN.value:
                self._refuse_last_admin(name, "demote")
            u = self._repo.set_role(name, role)
        return UserView(u.id, u.name, u.role, u.created_at)

    @audited("user", "remove", skip=("name",))
    def remove(self, name: str) -> UserView:
        """Delete `name`; refused for the last admin. Returns what it was."""
        with self._sv.store.transaction():
            current = self._get(name)
            if current.role == Role.ADMIN.value:
                self._refuse_last_admin(name, "remove")
            self._repo.remove(name)
        return current

    def verify(self, name: str, password: str) -> bool:
        """True if `name` exists and `password` is its password."""
        return self._repo.verify(name, password)

    def authorize(self, name: str, needed: str) -> str:
        """The role `name` holds, if it allows what needs `needed`; else
        PermissionDeniedError naming both roles."""
        if needed not in ROLES:
            raise ValueError(f"unknown role {needed!r}")
        user = self._repo.get(name)
        held = user.role if user else None
        if not allows(held, needed):
            raise PermissionDeniedError(
                f"this needs the role '{needed}'; user '{name}' has '{held or 'none'}' "
                f"(an admin can change it: `pipekit users set-role {name} {needed}`)",
                path="role",
            )
        assert held is not None
        return held

    def session_secret(self) -> str:
        """The key web sessions are signed with: made once, kept in the state DB's
        settings (so sessions survive a restart and every server process accepts them)."""
        import secrets

        settings = self._sv.store.settings
        key = settings.get(SESSION_SECRET_KEY)
        if not key:
            settings.set(SESSION_SECRET_KEY, secrets.token_urlsafe(32))
            key = settings.get(SESSION_SECRET_KEY)
        assert key
        return key

    def _get(self, name: str) -> UserView:
        u = self._repo.get(name)
        if u is None:
            known = ", ".join(v.name for v in self.list()) or "none"
            from pipekit.errors import NotFoundError

            raise NotFoundError(f"no user named '{name}' (known: {known})", path="name")
        return UserView(u.id, u.name, u.role, u.created_at)

    def _refuse_last_admin(self, name: str, what: str) -> None:
        if self._repo.count_role(Role.ADMIN.value) <= 1:
            raise UserSpecError(
                f"cannot {what} '{name}': it is the last admin, and without one nobody "
                f"could manage connections or users; make another user admin first "
                f"(`pipekit users set-role OTHER admin`)",
                path="role",
            )
