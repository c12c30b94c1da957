"""Finding an object by name or id, with "did you mean" when it is not there.

Paths and commands take a *key*: a numeric id or a name. Names are never all
digits (``pipekit.store.repo.check_name`` refuses them), so a key of digits is
an id and anything else is a name; the two can never be confused.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from pipekit.errors import NotFoundError

T = TypeVar("T")

#: ids in paths stay below this, so no database sees an integer it cannot hold
MAX_ID = 2**53


def as_id(key: str | int) -> int | None:
    """The id a key stands for, or None when it is a name."""
    if isinstance(key, int):
        return key
    text = str(key)
    # ASCII digits only: "²".isdigit() is true and int("²") fails
    return int(text) if text.isdecimal() and text.isascii() and len(text) <= 15 else None


def suggestion(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'orders'?"`` for the closest known name, else ``""``."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def known_list(known: Sequence[str], limit: int = 20) -> str:
    if not known:
        return "none are defined yet"
    more = f", ... ({len(known) - limit} more)" if len(known) > limit else ""
    return "known: " + ", ".join(known[:limit]) + more


def not_found(what: str, key: str | int, known: Sequence[str], fix: str) -> NotFoundError:
    """``no module named 'ordrs'; did you mean 'orders'? (known: ...); <fix>``."""
    if as_id(key) is not None:
        return NotFoundError(f"no {what} with id {key} ({known_list(known)}); {fix}")
    return NotFoundError(
        f"no {what} named '{key}'{suggestion(str(key), known)} ({known_list(known)}); {fix}"
    )


def find(
    items: Sequence[T],
    key: str | int,
    what: str,
    fix: str,
    *,
    name: Callable[[T], str] = lambda item: item.name,  # type: ignore[attr-defined]
    ident: Callable[[T], int] = lambda item: item.id,  # type: ignore[attr-defined]
) -> T:
    """The item whose id (a key of digits) or name (anything else) is `key`."""
    number = as_id(key)
    for item in items:
        if (ident(item) == number) if number is not None else (name(item) == key):
            return item
    raise not_found(what, key, [name(i) for i in items], fix)


def first_missing(names: Iterable[str], known: Sequence[str]) -> list[str]:
    """The names (in order, once each) that are not in `known`."""
    have = set(known)
    return [n for n in dict.fromkeys(names) if n not in have]


def describe_missing(what: str, unknown: Sequence[str], known: Sequence[str], fix: str) -> str:
    """One message naming every unknown name, each with its closest known one."""
    if len(unknown) == 1:
        return str(not_found(what, unknown[0], known, fix))
    parts = []
    for n in unknown:
        close = difflib.get_close_matches(n, list(known), n=1, cutoff=0.6)
        parts.append(f"'{n}' (did you mean '{close[0]}'?)" if close else f"'{n}'")
    return f"no {what}s named {', '.join(parts)} ({known_list(known)}); {fix}"
