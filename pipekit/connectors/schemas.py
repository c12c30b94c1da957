"""Arrow schemas as JSON, and what changed between two of them.

The JSON form (``[{"name": ..., "type": ..., "nullable": ...}]``) is what
``_meta.schema_json`` holds and what the state file keeps between runs; the
type is Arrow's own spelling (``int64``, ``timestamp[us, tz=UTC]``,
``decimal128(12, 2)``), so two schemas differ exactly when their columns,
types or nullability differ. Field and schema metadata are left out: a
pandas index note or a description changing is not a schema change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

__all__ = ["SchemaChange", "diff_schemas", "schema_to_json", "schema_to_text"]

Columns = list[dict[str, Any]]


def schema_to_json(schema: pa.Schema) -> Columns:
    """The columns of `schema` as JSON data: name, Arrow type, nullable."""
    return [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema]


def schema_to_text(schema: pa.Schema) -> str:
    """`schema_to_json` as compact JSON text (``_meta.schema_json``)."""
    return json.dumps(schema_to_json(schema), separators=(",", ":"))


@dataclass
class SchemaChange:
    """The difference between a table's last schema and its new one."""

    table: str
    added: list[str] = field(default_factory=list)  # "note (string)"
    removed: list[str] = field(default_factory=list)
    retyped: list[str] = field(default_factory=list)  # "amount: int64 -> string"
    nullability: list[str] = field(default_factory=list)  # "id: nullable -> not null"

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.retyped or self.nullability)

    def __str__(self) -> str:
        parts = []
        if self.added:
            parts.append("added " + ", ".join(self.added))
        if self.removed:
            parts.append("removed " + ", ".join(self.removed))
        if self.retyped:
            parts.append("type changed " + ", ".join(self.retyped))
        if self.nullability:
            parts.append("nullability changed " + ", ".join(self.nullability))
        return f"{self.table}: " + "; ".join(parts)


def _nullable(flag: bool) -> str:
    return "nullable" if flag else "not null"


def diff_schemas(table: str, old: Columns | None, new: Columns) -> SchemaChange | None:
    """What changed from `old` to `new` (both JSON forms), or None: first run or no change."""
    if old is None:
        return None
    before = {c["name"]: c for c in old}
    after = {c["name"]: c for c in new}
    change = SchemaChange(table)
    change.added = [f"{n} ({c['type']})" for n, c in after.items() if n not in before]
    change.removed = [f"{n} ({c['type']})" for n, c in before.items() if n not in after]
    for name in (n for n in after if n in before):
        was, now = before[name], after[name]
        if was["type"] != now["type"]:
            change.retyped.append(f"{name}: {was['type']} -> {now['type']}")
        if bool(was["nullable"]) != bool(now["nullable"]):
            change.nullability.append(
                f"{name}: {_nullable(was['nullable'])} -> {_nullable(now['nullable'])}"
            )
    return change or None
