"""Column names from outside: the one slug function every source's names go through.

JSON keys of an API, CSV headers and the columns ``propose`` drafts a module from
all become destination column names the same way: folded to ASCII, lower case,
``[a-z0-9_]`` only, not starting with a digit, at most ``MAX_LENGTH`` characters
(PostgreSQL's limit, the smallest of the destinations), and unique within a table.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from anyascii import anyascii

__all__ = ["MAX_LENGTH", "slug", "unique_slugs"]

#: PostgreSQL truncates identifiers past 63 bytes; the other destinations allow more
MAX_LENGTH = 63

_NOT_WORD = re.compile(r"[^a-z0-9]+")


def slug(name: str) -> str:
    """`name` as a plain identifier: ``"Prénom"`` -> ``prenom``, ``DCORD#`` -> ``dcord``,
    ``"2nd qty"`` -> ``c_2nd_qty``, ``""`` -> ``col``. Nested keys keep their ``__``.

    Long names are cut to ``MAX_LENGTH`` with a short hash of the whole name, so two
    long names that share their first 63 characters stay apart.
    """
    parts = [_part(p) for p in str(name).split("__")]
    text = "__".join(p for p in parts if p) or "col"
    if text[0].isdigit():
        text = f"c_{text}"
    if len(text) > MAX_LENGTH:
        digest = hashlib.sha1(str(name).encode()).hexdigest()[:8]
        text = f"{text[: MAX_LENGTH - 9].rstrip('_')}_{digest}"
    return text


def _part(name: str) -> str:
    folded = anyascii(name)
    # Not split on camelCase: "updatedAt" stays "updatedat", so names read as the API wrote them
    return _NOT_WORD.sub("_", folded.lower()).strip("_")


def unique_slugs(names: Iterable[str]) -> list[str]:
    """``slug`` of each name, with ``_2``, ``_3``… added where two would collide."""
    seen: set[str] = set()
    out = []
    for name in names:
        base = slug(name)
        candidate, n = base, 2
        while candidate in seen:
            suffix = f"_{n}"
            candidate, n = f"{base[: MAX_LENGTH - len(suffix)]}{suffix}", n + 1
        seen.add(candidate)
        out.append(candidate)
    return out
