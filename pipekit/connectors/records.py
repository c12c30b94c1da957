"""JSON records as Arrow: nested objects flattened with ``__``, lists kept as JSON text,
names slugged (``names.py``), types inferred per batch or declared.

Inference is per batch: a column whose values disagree within one batch (``1`` and
``"a"``) becomes text, and a text column whose every value is an ISO 8601 time
with a zone becomes ``timestamp[us, UTC]`` (so ``...+02:00`` lands as UTC). Across
batches the module source (``engine/connector_source.py``) adds new columns and
widens conflicting ones to text.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa

from pipekit.connectors.names import slug
from pipekit.errors import ConnectorSpecError

__all__ = ["TYPES", "ColumnNames", "flatten", "parse_type", "records_to_batch"]

#: the type names a declared schema may use
TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "string": pa.string(),
    "integer": pa.int64(),
    "int": pa.int64(),
    "bigint": pa.int64(),
    "number": pa.float64(),
    "float": pa.float64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
    "json": pa.string(),
}

_ISO_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})$"
)


def parse_type(name: str, path: str) -> pa.DataType:
    """The Arrow type of a declared type name; ConnectorSpecError listing the valid ones."""
    found = TYPES.get(str(name).lower())
    if found is None:
        raise ConnectorSpecError(
            f"unknown column type {name!r}; use one of {', '.join(sorted(TYPES))}", path=path
        )
    return found


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}, "tags": [1]}`` -> ``{"a__b": 1, "tags": "[1]"}``."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}__{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            if value:
                out.update(flatten(value, name))
            else:
                out[name] = None
        elif isinstance(value, list):
            out[name] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        else:
            out[name] = value
    return out


class ColumnNames:
    """Raw flattened keys -> unique slugs, stable for the whole read (first come first named)."""

    def __init__(self) -> None:
        self._by_key: dict[str, str] = {}
        self._taken: set[str] = set()

    def name(self, key: str) -> str:
        found = self._by_key.get(key)
        if found is not None:
            return found
        base = slug(key)
        candidate, n = base, 2
        while candidate in self._taken:
            suffix = f"_{n}"
            candidate, n = f"{base[: 63 - len(suffix)]}{suffix}", n + 1
        self._by_key[key] = candidate
        self._taken.add(candidate)
        return candidate


def _column(values: Sequence[Any], declared: pa.DataType | None) -> pa.Array[Any]:
    if declared is not None:
        return _as_type(values, declared)
    kinds = {type(v) for v in values if v is not None}
    out: pa.Array[Any]
    if not kinds:
        out = pa.nulls(len(values))
    elif kinds <= {int} or kinds <= {bool}:
        out = pa.array(values)
    elif kinds <= {int, float}:
        out = pa.array([None if v is None else float(v) for v in values], pa.float64())
    elif kinds == {str} and all(v is None or _ISO_TIME.match(v) for v in values):
        out = _as_type(values, pa.timestamp("us", tz="UTC"))
    else:
        out = pa.array([_text(v) for v in values], pa.string())
    return out


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _as_type(values: Sequence[Any], t: pa.DataType) -> pa.Array[Any]:
    out: pa.Array[Any]
    if pa.types.is_timestamp(t):
        out = pa.array([_time(v) for v in values], t)
    elif pa.types.is_date(t):
        out = pa.array([None if v is None else dt.date.fromisoformat(str(v)) for v in values], t)
    elif pa.types.is_string(t):
        out = pa.array([_text(v) for v in values], t)
    else:
        out = pa.array(values, t)
    return out


def _time(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def records_to_batch(
    records: Iterable[Mapping[str, Any]],
    names: ColumnNames,
    declared: Mapping[str, pa.DataType] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> pa.RecordBatch:
    """One batch of `records`: flattened, slugged, typed (`declared`: slug -> type).

    A declared schema fixes the columns: keys it does not name are left out.
    `extra` adds constant columns (an audit column naming the record's source).
    """
    flat = [flatten(r) for r in records]
    columns: dict[str, list[Any]] = {}
    if declared:
        for name in declared:
            columns[name] = []
    for i, row in enumerate(flat):
        for key, value in row.items():
            name = names.name(key)
            if declared and name not in declared:
                continue
            column = columns.setdefault(name, [None] * i)
            column.append(value)
        for column in columns.values():
            if len(column) < i + 1:
                column.append(None)
    arrays = [_column(v, (declared or {}).get(k)) for k, v in columns.items()]
    fields = list(columns)
    for name, value in (extra or {}).items():
        fields.append(name)
        arrays.append(pa.array([value] * len(flat)))
    return pa.RecordBatch.from_arrays(arrays, names=fields)
