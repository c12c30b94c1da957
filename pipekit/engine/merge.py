"""The merge: the statements that move staged rows into the destination (DESIGN 6.4).

``plan_merge`` decides, from the module's strategy and the destination's state,
which statements a run executes; the run executes them in one destination
transaction (the DDL before it where DDL is not transactional, as on MariaDB).
Planning runs no SQL and needs no connection: it takes the destination's
``Dialect`` (``driver.dialect``) and plain values (the destination's columns, its
swap facts), so a dry run records exactly what a real run would do and the golden
SQL tests (``tests/drivers/golden``) call it with a dialect alone.

=============  ==========================================================
strategy       statements
=============  ==========================================================
full           clear the table (TRUNCATE / DELETE), insert every staged row;
               or, where the destination allows (``plan_swap``), load a new table
               without indexes, build its key, and rename it into the old one's place
incremental    delete destination rows whose key was staged, insert staged rows; on
               PostgreSQL, when the table's primary key is the merge key, one
               INSERT … ON CONFLICT DO UPDATE that leaves the same rows
append         insert staged rows
upsert         insert staged rows; an existing key updates its row instead
key_sync       (incremental, upsert) then delete rows whose key the source lost
insert-only    ``supports_deletes: false``: insert staged rows whose key is new
=============  ==========================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from pipekit.drivers.dialect import Dialect
from pipekit.drivers.tables import Column, SwapInfo, TableRef
from pipekit.errors import MergeError
from pipekit.module_settings import AUDIT_LOADED_AT, AUDIT_RUN_ID

if TYPE_CHECKING:
    from pipekit.drivers.base import Driver

#: the audit columns' names unless the module names them (``audit_*_column``)
LOADED_AT = AUDIT_LOADED_AT
RUN_ID = AUDIT_RUN_ID


@dataclass(frozen=True)
class AuditColumn:
    """One audit column: its name, its value (a SQL literal of the destination, the same
    on every row of the run) and its Arrow type (how it is created)."""

    name: str
    value: str
    type: pa.DataType
    #: the module setting that names it, for errors
    setting: str


@dataclass
class MergePlan:
    """What a run does to the destination, in order."""

    strategy: str
    #: DDL: create the schema and table, add new columns
    ddl: list[str] = field(default_factory=list)
    #: (what, SQL) pairs, executed in one transaction after the DDL
    statements: list[tuple[str, str]] = field(default_factory=list)
    schema_changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: the staged column names as the INSERT lists them
    columns: list[str] = field(default_factory=list)
    key_sync: bool = False
    #: a swap: the rows load into a new table (``prepare`` creates it, ``finish``
    #: builds its key once loaded) that ``statements`` rename into place
    swap: SwapInfo | None = None
    prepare: list[str] = field(default_factory=list)
    finish: list[str] = field(default_factory=list)
    #: ``finish`` builds the new table's primary key
    builds_key: bool = False

    def sql(self) -> str:
        steps = [*self.ddl, *self.prepare, *self.finish, *(s for _, s in self.statements)]
        return ";\n".join(steps) + ";"


def declares_key(dest: Dialect | Driver, strategy: str) -> bool:
    """Whether a destination table created for `strategy` gets a primary key on the
    merge key: not for append, which keeps every version of a row so its key
    repeats, and not where the dialect declares none (DuckDB). (A driver is
    accepted too, for the run's callers until they pass ``driver.dialect``.)"""
    return strategy != "append" and dest.declares_primary_key


def split_keys(merge_key: str | None) -> list[str]:
    """``"a, b"`` -> ``["a", "b"]``."""
    return [k.strip() for k in (merge_key or "").split(",") if k.strip()]


def plan_merge(
    dest: Dialect,
    *,
    table: TableRef,
    staged: TableRef,
    key_table: TableRef | None,
    source_schema: pa.Schema,
    existing: Sequence[Column] | None,
    strategy: str,
    keys: Sequence[str],
    full_refresh: bool,
    supports_deletes: bool,
    audit: Sequence[AuditColumn] | None,
) -> MergePlan:
    """The DDL and statements that merge `staged` into `table`.

    `existing` is the destination's columns (None: the table does not exist yet);
    `audit` is the audit columns when they are on.
    """
    columns = list(source_schema.names)
    keys = [_match(dest, k, columns, "merge_key", "the source query's columns") for k in keys]
    if strategy in ("incremental", "upsert") and not keys:
        raise MergeError(f"merge_strategy {strategy} needs a merge_key", path="merge_key")
    used = "full" if full_refresh or strategy == "full" else strategy
    plan = MergePlan(used, columns=columns)
    extra = _audit_values(dest, audit, columns)
    audit_fields = [pa.field(a.name, a.type) for a in audit or ()]

    if existing is None:
        if table.schema:
            create = dest.create_schema_sql(table.schema)
            if create:
                plan.ddl.append(create)
        fields = [*source_schema, *audit_fields]
        pk = keys if declares_key(dest, strategy) else []
        plan.ddl.append(dest.create_table_sql(table, pa.schema(fields), pk))
        plan.schema_changes.append(f"created table {table}")
        plan.notes.extend(_landing_warnings(dest, source_schema))
    else:
        names = [c.name for c in existing]
        for f in [*source_schema, *audit_fields]:
            if not any(dest.same_name(f.name, n) for n in names):
                plan.ddl.append(dest.add_column_sql(table, f.name, f))
                plan.notes.extend(_landing_warnings(dest, [f]))
                added = f"added column {f.name} {dest.column_ddl(f)} to {table}"
                if used != "full":  # a full load rewrites every row; the others keep old ones
                    added += (
                        f"; the rows loaded before this run hold NULL in {f.name}: "
                        "run the module with --full-refresh to fill them"
                    )
                plan.schema_changes.append(added)  # logged at the commit, kept in the run
        if keys:
            for k in keys:
                _match(dest, k, names, "merge_key", f"the columns of {table}")
        if used == "upsert" and dest.upsert_needs_key:
            pk = [c.name for c in existing if c.primary_key]
            if sorted(k.lower() for k in pk) != sorted(k.lower() for k in keys):
                raise MergeError(
                    f"upsert into {table} needs its primary key to be the merge key "
                    f"({', '.join(keys)}), but the table's primary key is "
                    f"({', '.join(pk) or 'none'}); add that primary key or use "
                    "merge_strategy incremental",
                    path="merge_key",
                )

    # seeds/001: a destination that cannot delete is loaded insert-only, whatever the
    # strategy that would replace rows (an upsert's UPDATE replaces them too)
    if not supports_deletes and used in ("full", "incremental", "upsert"):
        if not keys:
            raise MergeError(
                f"the destination does not support deletes, so merge_strategy {used} can "
                "only insert rows whose key is new, and this module has no merge_key; "
                "set merge_key, or use merge_strategy append",
                path="merge_key",
            )
        plan.strategy = "insert-only"
        plan.notes.append(
            f"destination does not support deletes: {used} falls back to inserting new keys"
        )
        plan.statements.append(
            ("insert new", dest.insert_new_sql(table, staged, columns, keys, extra))
        )
        return plan

    if used == "full":
        plan.statements.append(("clear", dest.clear_table_sql(table)))
        plan.statements.append(("insert", dest.insert_sql(table, staged, columns, extra)))
    elif used == "incremental":
        one_pass = None
        if existing is not None and _keyed_on(dest, existing, keys, [*columns, *extra]):
            one_pass = dest.replace_by_key_sql(table, staged, columns, keys, extra)
        if one_pass is not None:
            plan.statements.append(("replace and insert", one_pass))
        else:
            plan.statements.append(("replace", dest.delete_matching_sql(table, staged, keys)))
            plan.statements.append(("insert", dest.insert_sql(table, staged, columns, extra)))
    elif used == "append":
        plan.statements.append(("insert", dest.insert_sql(table, staged, columns, extra)))
    elif used == "upsert":
        plan.statements.append(("upsert", dest.upsert_sql(table, staged, columns, keys, extra)))
    else:
        raise MergeError(f"unknown merge_strategy {strategy!r}", path="merge_strategy")
    if key_table is not None and used in ("incremental", "upsert"):
        if supports_deletes:
            plan.key_sync = True
            plan.statements.append(("key_sync", dest.delete_missing_sql(table, key_table, keys)))
        else:
            plan.notes.append("destination does not support deletes: key_sync skipped")
    return plan


def plan_swap(
    dest: Dialect,
    *,
    table: TableRef,
    shadow: TableRef,
    source_schema: pa.Schema,
    existing: Sequence[Column] | None,
    strategy: str,
    keys: Sequence[str],
    full_refresh: bool,
    audit: Sequence[AuditColumn] | None,
    info: SwapInfo,
    tag: str,
) -> MergePlan:
    """A full refresh (or a first load) that loads `shadow` and renames it into place.

    The rows are written once, into a table without indexes; the primary key is
    built afterwards (a duplicate key fails that build, before anything changed),
    and one short transaction drops the old table and renames the new one, so
    readers wait only for the rename. `dest` is a dialect with the swap statements
    (``swap_full_refresh``); `info` is what the client's ``swap_info`` found of the
    table; `tag` is a name unique to the run, for the new table's key and its move.
    """
    columns = list(source_schema.names)
    keys = [_match(dest, k, columns, "merge_key", "the source query's columns") for k in keys]
    if strategy in ("incremental", "upsert") and not keys:
        raise MergeError(f"merge_strategy {strategy} needs a merge_key", path="merge_key")
    # a first load of any strategy is a swap too: there is no old table to merge with
    used = "full" if full_refresh or strategy == "full" else strategy
    plan = MergePlan(used, columns=columns, swap=info)
    extra = _audit_values(dest, audit, columns)
    audit_fields = [pa.field(a.name, a.type) for a in audit or ()]
    plan.prepare.append(dest.drop_table_sql(shadow, if_exists=True))
    if existing is None:
        fields = [*source_schema, *audit_fields]
        plan.prepare.append(dest.create_table_sql(shadow, pa.schema(fields), []))
        plan.notes.extend(_landing_warnings(dest, source_schema))
        pk = keys if declares_key(dest, strategy) else []
        plan.schema_changes.append(f"created table {table}")
    else:
        plan.prepare.extend(dest.like_table_sql(shadow, table, info))
        names = [c.name for c in existing]
        for f in [*source_schema, *audit_fields]:
            if not any(dest.same_name(f.name, n) for n in names):
                plan.prepare.append(dest.add_column_sql(shadow, f.name, f))
                plan.notes.extend(_landing_warnings(dest, [f]))
                plan.schema_changes.append(f"added column {f.name} {dest.column_ddl(f)} to {table}")
        for k in keys:
            _match(dest, k, names, "merge_key", f"the columns of {table}")
        pk = info.primary_key
    # audit values are the same on every row: column defaults fill them during the load
    for name, value in extra.items():
        plan.prepare.append(dest.column_default_sql(shadow, name, value))
        plan.finish.append(dest.column_default_sql(shadow, name, None))
    # unique to the run: the staging schema is shared by every module
    building = f"{tag}_pkey"
    pk_name = info.primary_key_name or building
    if pk:
        plan.finish.append(dest.primary_key_sql(shadow, building, pk))
        plan.builds_key = True
    if table.schema:
        create = dest.create_schema_sql(table.schema)
        if create:
            plan.statements.append(("schema", create))
    lock = dest.lock_sql(table) if existing is not None else None
    if lock is not None:
        plan.statements.append(("lock", lock))
    swap = dest.swap_sql(
        shadow, table, exists=existing is not None, pk=(building, pk_name) if pk else None, tag=tag
    )
    plan.statements.extend(("swap", sql) for sql in swap)
    target = dest.table_sql(table)
    plan.statements.extend(("grant", g.format(table=target)) for g in info.grants)
    if info.comment is not None:
        plan.statements.append(("comment", dest.comment_sql(table, info.comment)))
    return plan


def _landing_warnings(dest: Dialect, fields: Iterable[pa.Field[Any]]) -> list[str]:
    """A run-log warning for each column created as text although its source type is
    not text (it has no exact type in `dest`; docs/drivers.md "Types")."""
    found = (dest.landing_warning(f) for f in fields)
    return [f"warning: {w}" for w in found if w is not None]


def _keyed_on(
    dest: Dialect, existing: Sequence[Column], keys: Sequence[str], written: Sequence[str]
) -> bool:
    """Whether `existing`'s primary key is exactly `keys` and every column is written:
    then replacing a row by its key leaves what deleting and inserting it would (a
    column the merge does not write would keep its old value instead of NULL)."""
    pk = [c.name for c in existing if c.primary_key]
    same_key = len(pk) == len(keys) and all(any(dest.same_name(p, k) for k in keys) for p in pk)
    every = all(any(dest.same_name(c.name, w) for w in written) for c in existing)
    return same_key and every


def _audit_values(
    dest: Dialect, audit: Sequence[AuditColumn] | None, columns: Sequence[str]
) -> dict[str, str]:
    """The audit columns' SQL values by name; a name the source also has (or two audit
    columns of one name) is refused, naming the setting to change."""
    values: dict[str, str] = {}
    for a in audit or ():
        clash = next((c for c in columns if dest.same_name(c, a.name)), None)
        if clash is not None:
            raise MergeError(
                f"the audit column {a.name!r} ({a.setting}) is also a column of the source "
                f"({clash}); give {a.setting} another name, or rename the source column",
                path=a.setting,
            )
        twice = next((n for n in values if dest.same_name(n, a.name)), None)
        if twice is not None:
            raise MergeError(
                f"two audit columns are named {a.name!r}; give {a.setting} another name",
                path=a.setting,
            )
        values[a.name] = a.value
    return values


def _match(dest: Dialect, name: str, names: Sequence[str], what: str, where: str) -> str:
    for n in names:
        if dest.same_name(n, name):
            return n
    raise MergeError(f"{what} '{name}' is not among {where} ({', '.join(names)})", path=what)
