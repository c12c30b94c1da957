"""The SQL a run sends to the source: named watermarks filled in, the watermark window added.

Two kinds of watermark shape the source query (DESIGN 6.1 step 2, 6.3):

- **named watermarks** (``{since}`` in the query): a resolver query on any
  connection gives the value; it replaces the placeholder as a literal rendered
  by the source driver, never as pasted text;
- **the watermark column** (a destination name): ``MAX`` of it on the
  destination becomes a ``WHERE`` on the column's *source expression*, with a
  look-back window, an optional safety lag as upper bound, and ``OR expr IS
  NULL`` for keyed strategies so rows without a watermark are not lost.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import sqlglot

from pipekit.drivers.base import Column, Driver, TableRef
from pipekit.engine.columns import ColumnMap
from pipekit.engine.watermarks import (
    Bound,
    is_empty,
    lower_bound,
    read_max,
    render_literal,
    scalar_text,
    upper_bound,
)
from pipekit.errors import WatermarkError

# '{name}' (quoted by habit) or {name}: both become one complete literal.
_PLACEHOLDER = re.compile(r"'\{([A-Za-z_][A-Za-z0-9_]*)\}'|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholders(query: str) -> list[str]:
    """The watermark names a query refers to, in order of first use."""
    seen: dict[str, None] = {}
    for m in _PLACEHOLDER.finditer(query):
        seen[m.group(1) or m.group(2)] = None
    return list(seen)


def fill_placeholders(query: str, literals: Mapping[str, str]) -> str:
    """`query` with every ``{name}`` replaced by ``literals[name]`` (SQL literals)."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name not in literals:
            raise WatermarkError(
                f"the source query uses {{{name}}} but the module has no watermark named "
                f"'{name}'; add one with `pipekit watermarks add MODULE {name} ...`",
                path=f"watermarks.{name}",
            )
        return literals[name]

    return _PLACEHOLDER.sub(sub, query)


@dataclass(frozen=True)
class NamedValue:
    """A resolved named watermark: its SQL literal and, for the run log, its text."""

    name: str
    literal: str
    text: str | None
    origin: str  # "resolver" or "default"


def default_literal(default: str, source: Driver) -> str:
    """A configured default as a literal: whole numbers stay numbers, the rest is text."""
    text = default.strip()
    if re.fullmatch(r"-?\d+", text):
        return source.literal(int(text))
    return source.literal(default)


def first_cell(resolver: Driver, sql: str) -> pa.Scalar[Any] | None:
    """The first cell of the first row `sql` returns on `resolver`; None without rows."""
    reader = resolver.read(sql)
    try:
        for batch in reader:
            if batch.num_rows and batch.num_columns:
                cell: pa.Scalar[Any] = batch.column(0)[0]
                return cell
    finally:
        reader.close()
    return None


def named_value(
    name: str, value: pa.Scalar[Any] | None, default: str | None, source: Driver
) -> NamedValue:
    """The literal for ``{name}``: the resolver's `value`, or when empty the `default`.

    Pure: `source` only renders the literal."""
    if not is_empty(value):
        assert value is not None
        return NamedValue(name, render_literal(value, source), scalar_text(value), "resolver")
    if default is None or default == "":
        raise WatermarkError(
            f"watermark '{name}' resolved to nothing (NULL or no rows) and has no default; "
            "give it a default (the value to use before the first run)",
            path=f"watermarks.{name}.default_value",
        )
    return NamedValue(name, default_literal(default, source), default, "default")


def resolve_named(
    name: str,
    resolver_sql: str | None,
    default: str | None,
    resolver: Driver | None,
    source: Driver,
) -> NamedValue:
    """Run the resolver (first cell of the first row); empty -> the default."""
    value = first_cell(resolver, resolver_sql) if resolver is not None and resolver_sql else None
    return named_value(name, value, default, source)


@dataclass
class Window:
    """The watermark column's filter for this run, and what the run log says about it."""

    column: str
    expression: str
    max_value: str | None
    lower: Bound | None
    upper: Bound | None
    include_nulls: bool
    condition: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "expression": self.expression,
            "destination_max": self.max_value,
            "lower": f"{self.lower.op} {self.lower.text()}" if self.lower else None,
            "upper": f"{self.upper.op} {self.upper.text()}" if self.upper else None,
            "condition": self.condition,
        }


def column_window(
    cmap: ColumnMap,
    column: str,
    *,
    op: str,
    lookback: str | None,
    safety_lag: str | None,
    keyed: bool,
    source: Driver,
    dest: Driver,
    dest_table: TableRef,
    dest_exists: bool,
    source_type: pa.DataType | None,
    now: dt.datetime,
) -> Window:
    """The WHERE for `column`: ``MAX`` on the destination, shifted by the look-back."""
    current: pa.Scalar[Any] | None = None
    if dest_exists:
        name = dest_name(dest, dest.list_columns(dest_table), column)
        current = read_max(dest, str(dest_table), name)
    return window_from(
        cmap,
        column,
        current,
        op=op,
        lookback=lookback,
        safety_lag=safety_lag,
        keyed=keyed,
        source=source,
        source_type=source_type,
        now=now,
    )


def window_from(
    cmap: ColumnMap,
    column: str,
    current: pa.Scalar[Any] | None,
    *,
    op: str,
    lookback: str | None,
    safety_lag: str | None,
    keyed: bool,
    source: Driver,
    source_type: pa.DataType | None,
    now: dt.datetime,
) -> Window:
    """The WHERE for `column` from `current`, the destination's ``MAX`` of it (None: the
    table is missing), shifted by the look-back. Pure: `source` only renders literals."""
    identity = cmap.get(column)
    if current is not None and _zone_dropped(current.type, source_type):
        # The destination keeps a zoned source column as UTC wall time (MariaDB DATETIME).
        # Compared naive, the source would read it in its session's zone and skip rows.
        current = current.cast(pa.timestamp(current.type.unit, tz="UTC"))
    window = Window(column, identity.where, None, None, None, include_nulls=keyed)
    # Only SQL NULL means "nothing yet": a text MAX that reads 'null' is a real value.
    if current is not None and current.is_valid:
        window.max_value = scalar_text(current)
        window.lower = lower_bound(current, op, lookback)
    wm_type = current.type if current is not None else source_type
    if safety_lag and wm_type is not None:
        window.upper = upper_bound(now, safety_lag, wm_type)
    elif safety_lag:
        raise WatermarkError(
            f"cannot tell the type of watermark column '{column}' for its safety lag",
            path="safety_lag",
        )
    parts = [b.render(identity.where, source) for b in (window.lower, window.upper) if b]
    if parts:
        cond = " AND ".join(parts)
        if keyed:
            # NULL never compares: without this, such rows would be read once and then
            # never again. Keyed strategies replace by key, so re-reading them is safe.
            cond = f"({cond}) OR {identity.where} IS NULL"
        window.condition = cond
    return window


def _zone_dropped(dest_type: pa.DataType, source_type: pa.DataType | None) -> bool:
    return (
        source_type is not None
        and pa.types.is_timestamp(source_type)
        and source_type.tz is not None
        and pa.types.is_timestamp(dest_type)
        and dest_type.tz is None
    )


def dest_name(dest: Driver, columns: Sequence[Column], column: str) -> str:
    """The destination's spelling of `column` (MariaDB/SQLite/DuckDB ignore case)."""
    for c in columns:
        if dest.same_name(c.name, column):
            return c.name
    return column


def with_condition(query: str, cmap: ColumnMap, condition: str | None) -> str:
    """`query` with `condition` ANDed into its WHERE; unchanged (as written) without one."""
    if condition is None:
        return query
    return cmap.with_where(sqlglot.condition(condition, dialect=cmap.dialect))
