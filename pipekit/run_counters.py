"""The row counters a run records, each with the one word every face shows for it.

`pipekit run`'s summary, `runs show`, the live log's "committed into …:" line, the REST API's
field descriptions, the web console's run page, the TUI and the quickstart all take
their words from here, so "deleted" never means "replaced" in one place and "removed
by key_sync" in another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Counter:
    field: str  # the run record's field (and the API's)
    word: str  # what a face calls it
    meaning: str  # one sentence for help texts and docs


COUNTERS: tuple[Counter, ...] = (
    Counter("rows_read", "read", "rows read from the source"),
    Counter(
        "rows_inserted",
        "inserted",
        "rows written to the destination: new rows and the new versions of replaced rows",
    ),
    Counter(
        "rows_replaced",
        "replaced",
        "destination rows whose key came again from the source and were replaced by the "
        "new version (incremental, upsert with a key); not counted by an upsert that "
        "updates in place",
    ),
    Counter(
        "rows_deleted",
        "deleted",
        "destination rows deleted by key_sync because their key is no longer in the source",
    ),
    Counter("rows_cleared", "cleared", "the destination's old rows that a full load removed"),
    Counter("row_count", "total", "rows in the destination after the run"),
)
BY_FIELD: dict[str, Counter] = {c.field: c for c in COUNTERS}


def counter_text(run: Any, *, skip_zero: bool = False) -> str:
    """``read 30, inserted 30, replaced 0, deleted 0, cleared 0, total 30`` for a run
    record or view (any object with the counters' fields); unknown counters left out,
    and zeros too with `skip_zero`."""
    parts = []
    for c in COUNTERS:
        value = getattr(run, c.field, None)
        if value is None or (skip_zero and value == 0):
            continue
        parts.append(f"{c.word} {value:,}")
    return ", ".join(parts)
