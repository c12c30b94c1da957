"""A module's settings and its named watermarks changed together, and the column
mapping a module's query gives (dest column <- source expression).

The web console's edit form changes fields and watermark rows in one go; the change
is judged as a whole (a query that starts using ``{since}`` in the same save that adds
the ``since`` row is fine), and written in one state-DB transaction, or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipekit.errors import ColumnMappingError, Problem
from pipekit.services.module_rules import (
    CLEARABLE,
    NOT_NULL,
    SPEC_FIELDS,
    added_problems,
    find_module,
    part_name_problem,
    refuse,
    source_dialect,
)

if TYPE_CHECKING:
    from pipekit.services import Services
    from pipekit.services.modules import SavedModuleView

#: the fields of one watermark row
WATERMARK_FIELDS = ("name", "connection", "resolver_sql", "default_value")


@dataclass(frozen=True)
class MappedColumnView:
    """One destination column and the source expression it is read from."""

    dest: str
    expression: str
    #: what an incremental WHERE compares (the column without RTRIM, or the expression)
    where: str
    trimmed: bool


@dataclass(frozen=True)
class ColumnMapView:
    columns: list[MappedColumnView]
    #: the query has ``SELECT *``: those columns keep their source names
    has_star: bool
    #: why the query could not be mapped (null when it could)
    error: str | None


def column_map(sv: Services, key: str | int) -> ColumnMapView:
    """The column mapping of module `key`'s source query (nothing connects)."""
    from pipekit.engine.columns import parse_columns

    m = find_module(sv.store, key)
    dialect, warning = source_dialect(sv.store, m.source)
    if not m.source_query:
        return ColumnMapView([], False, "the module has no source query")
    try:
        cmap = parse_columns(m.source_query, dialect or "")
    except ColumnMappingError as exc:
        return ColumnMapView([], False, exc.message)
    cols = [MappedColumnView(c.dest, c.expression, c.where, c.trimmed) for c in cmap.columns]
    return ColumnMapView(cols, cmap.has_star, warning)


def update_with_watermarks(
    sv: Services,
    key: str | int,
    watermarks: Sequence[Mapping[str, Any]],
    changes: Mapping[str, Any],
) -> SavedModuleView:
    """Change module `key`'s fields (as ``ModuleService.update``) and make its named
    watermarks exactly `watermarks` (each with ``WATERMARK_FIELDS``), judged and written
    together. ValidationError names every problem (``watermarks.<i>.name`` for a row)."""
    store = sv.store
    m = find_module(store, key)
    unknown = set(changes) - {"name", *SPEC_FIELDS}
    if unknown:
        raise TypeError(f"unknown module field(s): {', '.join(sorted(unknown))}")
    fields = {k: (None if v == "" and k in CLEARABLE else v) for k, v in changes.items()}
    problems = [
        Problem(k, "may not be empty; give a value")
        for k in NOT_NULL
        if k in fields and fields[k] is None
    ]
    marks: dict[str, dict[str, Any]] = {}
    items = []
    for i, w in enumerate(watermarks):
        name = (w.get("name") or "").strip()
        problem = part_name_problem("watermark", name)
        if problem is not None:
            problems.append(Problem(f"watermarks.{i}.name", problem.message))
            continue
        if name in marks:
            problems.append(Problem(f"watermarks.{i}.name", f"watermark '{name}' is listed twice"))
            continue
        connection = w.get("connection") or None
        resolver = w.get("resolver_sql") or None
        default = w.get("default_value") or None
        marks[name] = {"connection": connection, "resolver_sql": resolver, "default": default}
        items.append(
            {
                "name": name,
                "connection": connection,
                "resolver_sql": resolver,
                "default_value": default,
            }
        )
    target = fields.get("name") or m.name

    def change(spec: dict[str, Any]) -> dict[str, Any]:
        kept = {k: v for k, v in fields.items() if v is not None or k not in NOT_NULL}
        spec.update({k: v for k, v in kept.items() if k != "name"})
        spec["watermarks"] = marks
        return spec

    added, _, _ = added_problems(store, m, change, target)
    refuse(f"module '{m.name}'", problems + added)
    with store.transaction():
        store.watermarks.replace_all(m.name, items, changed_by=sv.actor)
        # judged again inside the transaction, against the new watermarks
        return sv.modules.update(m.name, **fields)
