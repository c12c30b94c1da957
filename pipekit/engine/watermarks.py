"""Watermark values: read at full precision, shifted by a look-back, rendered as typed literals.

A watermark is kept as an Arrow scalar from the moment it is read (``MAX(col)``
on the destination, or a resolver query), so a timestamp keeps its
microseconds, nanoseconds and zone and a decimal all its digits. It reaches the
source query as a typed literal rendered by the source driver (sqlglot escapes
text), never as pasted text, so a watermark holding ``'; DROP TABLE x; --`` is
just a string to compare with.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipekit.drivers import types as T
from pipekit.drivers.base import Driver
from pipekit.errors import (
    WatermarkError,
)

#: what psql and friends print for NULL; a watermark reading like this means "none yet"
NULL_MARKERS = frozenset({"", "∅", "null", "NULL", "(null)"})
OPERATORS = (">", ">=")
_UNITS = {
    "microsecond": dt.timedelta(microseconds=1),
    "millisecond": dt.timedelta(milliseconds=1),
    "second": dt.timedelta(seconds=1),
    "minute": dt.timedelta(minutes=1),
    "hour": dt.timedelta(hours=1),
    "day": dt.timedelta(days=1),
    "week": dt.timedelta(weeks=1),
}
_ABBREVIATIONS = {"us": "microsecond", "ms": "millisecond", "s": "second", "sec": "second",
                  "min": "minute", "m": "minute", "h": "hour", "hr": "hour", "d": "day",
                  "w": "week"}  # fmt: skip
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+?)s?\s*$", re.I)


def parse_window(
    value: str | int | float | None, *, path: str | None = None
) -> dt.timedelta | decimal.Decimal | None:
    """``"2 days"``, ``"5 minutes"``, ``"90s"`` -> timedelta; a number -> Decimal (ids).

    `path` names the setting in the error (``lookback``, ``safety_lag``)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise WatermarkError(f"look-back/lag {value!r} is not a duration or a number", path=path)
    if isinstance(value, int | float):
        return _finite(decimal.Decimal(str(value)), value, path)
    text = str(value).strip()
    try:
        return _finite(decimal.Decimal(text), value, path)
    except decimal.InvalidOperation:
        pass
    m = _INTERVAL.match(text)
    unit = m and _ABBREVIATIONS.get(m.group(2).lower(), m.group(2).lower())
    if not m or unit not in _UNITS:
        raise WatermarkError(
            f"cannot read {value!r} as a duration: write e.g. '2 days', '5 minutes', '1 hour', "
            "or a plain number for numeric watermarks",
            path=path,
        )
    return _UNITS[unit] * float(m.group(1))


def _finite(number: decimal.Decimal, value: object, path: str | None) -> decimal.Decimal:
    # Decimal reads 'nan' and 'inf' too; NaN cannot be compared (< raises), infinity
    # would make every window empty or everything.
    if not number.is_finite():
        raise WatermarkError(
            f"look-back/lag {value!r} is not a finite number; write e.g. 100 or '2 days'",
            path=path,
        )
    return number


def is_empty(value: pa.Scalar[Any] | str | None) -> bool:
    """No watermark yet: NULL, an empty table, or a NULL marker a tool printed."""
    if value is None:
        return True
    if isinstance(value, pa.Scalar):
        if not value.is_valid:
            return True
        if pa.types.is_string(value.type):
            return value.as_py().strip() in NULL_MARKERS
        return False
    return value.strip() in NULL_MARKERS


@dataclass(frozen=True)
class Bound:
    """One side of the watermark window: ``expression op value``."""

    op: str
    value: pa.Scalar[Any]

    def render(self, expression: str, driver: Driver) -> str:
        return f"{expression} {self.op} {render_literal(self.value, driver, self.op)}"

    def text(self) -> str:
        """Full-precision text of the value, for the run log."""
        return scalar_text(self.value)


def lower_bound(
    value: pa.Scalar[Any], op: str = ">", lookback: str | int | float | None = None
) -> Bound:
    """The lower bound for the next read: `op` the watermark, or ``>=`` it minus `lookback`."""
    if op not in OPERATORS:
        raise WatermarkError(f"watermark_op must be '>' or '>=', got {op!r}", path="watermark_op")
    window = parse_window(lookback, path="lookback")
    if window is None:
        return Bound(op, value)
    return Bound(">=", _subtract(value, window))


def upper_bound(now: dt.datetime, lag: str | None, arrow_type: pa.DataType) -> Bound | None:
    """``expression < now - lag`` for time watermarks with a safety lag, else None."""
    window = parse_window(lag, path="safety_lag")
    if window is None:
        return None
    if not isinstance(window, dt.timedelta):
        raise WatermarkError(
            f"safety_lag must be a duration such as '5 minutes', got {lag!r}", path="safety_lag"
        )
    if not (pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type)):
        raise WatermarkError(
            f"safety_lag needs a date or timestamp watermark, this one is {arrow_type}",
            path="safety_lag",
        )
    cutoff = now.astimezone(dt.UTC) - window
    if pa.types.is_date(arrow_type):
        return Bound("<", pa.scalar(cutoff.date(), arrow_type))
    if not arrow_type.tz:
        cutoff = cutoff.replace(tzinfo=None)  # naive columns hold UTC wall time by convention
    return Bound("<", pa.scalar(cutoff, pa.timestamp("us", tz=arrow_type.tz)).cast(arrow_type))


def _subtract(value: pa.Scalar[Any], window: dt.timedelta | decimal.Decimal) -> pa.Scalar[Any]:
    t = value.type
    if isinstance(window, dt.timedelta):
        if pa.types.is_timestamp(t):
            return pc.subtract(value, pa.scalar(window, pa.duration(t.unit)))
        if pa.types.is_date(t):
            return pa.scalar(value.as_py() - dt.timedelta(days=window.days), t)
        raise WatermarkError(
            f"a look-back of {window} needs a date or timestamp watermark, not {t}",
            path="lookback",
        )
    if pa.types.is_integer(t):
        if window != window.to_integral_value():
            raise WatermarkError(
                f"look-back {window} is not a whole number for an integer watermark",
                path="lookback",
            )
        return pa.scalar(value.as_py() - int(window), t)
    if pa.types.is_decimal(t):
        return pa.scalar(value.as_py() - window, t)
    if pa.types.is_floating(t):
        return pa.scalar(value.as_py() - float(window), t)
    raise WatermarkError(f"a numeric look-back needs a numeric watermark, not {t}", path="lookback")


def scalar_text(value: pa.Scalar[Any]) -> str:
    """The value as text at full precision (Arrow's cast keeps nanoseconds and the zone)."""
    if T.is_uuid(value.type):
        return str(value.as_py())
    if isinstance(value.type, pa.BaseExtensionType):
        value = value.cast(value.type.storage_type)
    return value.cast(pa.string()).as_py()


def render_literal(value: pa.Scalar[Any], driver: Driver, op: str | None = None) -> str:
    """A typed literal of `value` in the driver's dialect (`op`: the comparison it is for)."""
    t = value.type
    if not value.is_valid:
        return "NULL"
    if pa.types.is_timestamp(t):
        text = scalar_text(value)  # zoned values end in Z, as SQLite stores them
        if not t.tz and driver.kind == "sqlite" and op in (">=", "<") and "." in text:
            # SQLite compares timestamps as text, and one instant may be stored as
            # '10:00:00' or '10:00:00.000000'. The shortest spelling sorts at or before
            # every spelling (right for >= and <), the padded one at or after (for >).
            text = text.rstrip("0").rstrip(".")
        if t.tz and driver.kind == "mysql":
            text = text.removesuffix("Z")  # DATETIME holds UTC wall time, no zone
        elif t.tz and driver.kind != "sqlite":
            text = text.removesuffix("Z") + "+00:00"
        return driver.literal(text, t)
    if pa.types.is_integer(t) or pa.types.is_decimal(t) or pa.types.is_floating(t):
        return driver.literal(value.as_py())
    if pa.types.is_date(t) or pa.types.is_time(t):
        return driver.literal(scalar_text(value), t)
    return driver.literal(scalar_text(value))


def read_max(driver: Driver, table: str, column: str) -> pa.Scalar[Any]:
    """``MAX(column)`` of `table`, typed as the column is (SQLite's MAX has no type)."""
    col_type = next((c.arrow_type for c in driver.list_columns(table) if c.name == column), None)
    if col_type is None:
        raise WatermarkError(f"watermark column '{column}' is not a column of {table}")
    sql = f"SELECT MAX({driver.quote(column)}) AS m FROM {driver.table_sql(table)}"
    value: pa.Scalar[Any] = driver.read(sql).read_all().column(0)[0]
    if not value.is_valid:
        return pa.scalar(None, col_type)
    if value.type != col_type:
        value = T.cast_array(pa.array([value.as_py()], value.type), col_type)[0]
    return value
