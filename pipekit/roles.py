"""User roles: the one declared, ordered set every face checks against.

A role includes every weaker one (``admin`` ⊇ ``editor`` ⊇ ``operator`` ⊇ ``viewer``),
so a route or page declares only the weakest role that may use it:

- ``viewer``: reads everything, module SQL included, never a secret value;
- ``operator``: runs, dry-runs and cancels modules and groups, tests connections;
- ``editor``: modules, watermarks, checks, groups, schedules, ``apply``;
- ``admin``: what reaches the database hosts or the server itself: connections,
  drivers (a driver jar is code the server runs), hooks (SQL run on the destination
  after a merge), users and settings.

The order is linear because every stronger role's work needs what the weaker ones may
see and do (an editor runs the module it just changed; an admin edits modules too).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    EDITOR = "editor"
    ADMIN = "admin"


#: every role, weakest first
ROLES: tuple[str, ...] = tuple(r.value for r in Role)


def rank(role: str) -> int:
    """Position of `role` in ``ROLES`` (ValueError for an unknown role)."""
    return ROLES.index(role)


def allows(held: str | None, needed: str) -> bool:
    """Whether a user holding `held` may do what needs `needed`."""
    return held in ROLES and rank(held) >= rank(needed)
