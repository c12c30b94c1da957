"""Pieces every repository shares: errors for names, the UNSET marker, name rules."""

from __future__ import annotations

import enum
import re
from typing import Any

from sqlalchemy import CursorResult

from pipekit.errors import AlreadyExistsError, InUseError, PipekitError

__all__ = ["UNSET", "AlreadyExistsError", "InUseError", "check_name", "inserted_id"]

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class _Unset(enum.Enum):
    UNSET = "UNSET"


UNSET = _Unset.UNSET
"""Default of update() arguments: leave the field as it is (None means set NULL)."""


def check_name(kind: str, name: str, error: type[PipekitError], *, digits_ok: bool = False) -> str:
    """Names appear in commands, URLs and staging table names: keep them plain, and never
    all digits (those are ids)."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise error(
            f"invalid {kind} name {name!r}: use letters, digits, '_', '-' and '.', "
            "starting with a letter or digit, at most 100 characters",
            path="name",
        )
    if name.isdecimal() and not digits_ok:
        # A path such as /api/modules/1 takes an id or a name: all digits would be both.
        raise error(
            f"invalid {kind} name {name!r}: a name of digits only would read as an id; "
            "add a letter (e.g. 'm{name}')",
            path="name",
        )
    return name


def inserted_id(result: CursorResult[Any]) -> int:
    """The new row's integer id after a single-row INSERT."""
    # SQLAlchemy types the key as Optional: it is None only for statements that are no
    # single-row INSERT, which the repositories never pass here.
    key = result.inserted_primary_key
    assert key is not None, "inserted_id() needs the result of a single-row INSERT"
    return int(key[0])
