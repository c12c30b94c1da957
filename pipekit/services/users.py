"""Users: the people the API (and later the web pages) let in, with their password hashes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from pipekit.services.lookup import find

if TYPE_CHECKING:
    from pipekit.services import Services


#: the settings key of the web sessions' signing key
SESSION_SECRET_KEY = "web.session_secret"


@dataclass(frozen=True)
class UserView:
    id: int
    name: str
    created_at: datetime


class UserService:
    def __init__(self, sv: Services) -> None:
        self._sv = sv
        self._repo = sv.store.users

    def list(self) -> list[UserView]:
        return [UserView(u.id, u.name, u.created_at) for u in self._repo.list()]

    def show(self, key: str | int) -> UserView:
        return find(self.list(), key, "user", "add one with `pipekit set-password USER`")

    def set_password(self, name: str, password: str) -> UserView:
        """Create `name` or change its password (UserSpecError for an empty one)."""
        self._sv.store.check()
        u = self._repo.set_password(name, password)
        return UserView(u.id, u.name, u.created_at)

    def verify(self, name: str, password: str) -> bool:
        """True if `name` exists and `password` is its password."""
        return self._repo.verify(name, password)

    def remove(self, name: str) -> None:
        self._repo.remove(name)

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
