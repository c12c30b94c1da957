"""Planning a run without a database: from plain values to what the run will execute.

The run (``engine/execute.py``) reads what planning needs — the module's
settings, its named watermarks' resolver values, whether the destination table
exists, the ``MAX`` of its watermark column, the source column's type, when the
last full refresh started, the clock — and hands it over as ``PlanInputs``.
``plan_run`` turns that into a ``RunPlan``: the source SQL with its ``{named}``
placeholders filled in and the watermark WHERE added, the watermark values it
uses, whether a full refresh is due, key_sync and its key query, the audit
columns, and the run-log lines that explain them. Once the source schema is
known, ``plan_load`` decides between a swap and a merge and plans the
statements (``engine/merge.py``; every call to it is in this module).

Nothing here runs SQL or reads a clock: the driver objects passed in only
render (quote, literals, table names, types), so a driver instantiated without a
connection will do (tests/engine/test_plan.py). The small predicates
(``full_refresh_due``, ``window_column``, ``needs_source_type``) are also what
the run asks before it reads anything, so it reads only what the plan will use.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from pipekit import module_settings
from pipekit.drivers.base import Column, Driver, SwapInfo, TableRef
from pipekit.engine.columns import parse_columns
from pipekit.engine.merge import (
    LOADED_AT,
    RUN_ID,
    AuditColumn,
    MergePlan,
    declares_key,
    plan_merge,
    plan_swap,
    split_keys,
)
from pipekit.engine.source_sql import (
    NamedValue,
    Window,
    fill_placeholders,
    named_value,
    placeholders,
    window_from,
    with_condition,
)
from pipekit.engine.watermarks import render_literal
from pipekit.errors import ModuleSpecError
from pipekit.module_settings import ModuleSettings

if TYPE_CHECKING:
    from pipekit.store.modules import Module

#: strategies that replace rows by key: key_sync applies, and NULL watermarks are re-read
KEYED_STRATEGIES = ("incremental", "upsert")
#: the fields a module needs before it can run, in the order the error names them
REQUIRED = tuple(module_settings.REQUIRED)


@dataclass(frozen=True, kw_only=True)
class PlanSettings(ModuleSettings):
    """The module's settings (declared in ``pipekit.module_settings``) as planning reads
    them: with its name, and the two texts a run cannot go without made non-optional
    (``from_module`` checks them)."""

    name: str
    source_query: str
    dest_table: str

    @classmethod
    def from_module(cls, m: Module) -> PlanSettings:
        """The settings of `m`; ``ModuleSpecError`` (path: the first missing field) when
        it lacks one a run needs."""
        missing = [name for name in REQUIRED if not getattr(m, name)]
        if not (m.source_query or m.source_table):
            missing.append("source_query")
        if missing:
            raise ModuleSpecError(
                f"module '{m.name}' is incomplete: it needs source, dest, dest_table and "
                "source_query (or source_table); see `pipekit modules edit`",
                path=missing[0],
            )
        values = {f.name: getattr(m, f.name) for f in fields(cls)}
        if m.source_table and not m.source_query:
            from pipekit.engine.connector_source import source_sql

            # what the connector's spool is queried with (engine/connector_source.py)
            values["source_query"] = source_sql(m.source_table)
        return cls(**values)

    @property
    def keys(self) -> list[str]:
        return split_keys(self.merge_key)


@dataclass(frozen=True)
class NamedInput:
    """A named watermark (``{name}`` in the query) as the run read it."""

    name: str
    #: the resolver's first cell; None: no resolver, no rows, or ``table_missing``
    value: pa.Scalar[Any] | None
    default: str | None = None
    #: the resolver reads the destination table, which a first run has not created yet
    table_missing: bool = False


@dataclass(frozen=True)
class DestState:
    """The destination table as the run found it."""

    exists: bool = False
    #: ``MAX`` of the watermark column on it (None: not read; a NULL scalar: no rows)
    watermark_max: pa.Scalar[Any] | None = None


@dataclass(frozen=True)
class PlanInputs:
    """Everything ``plan_run`` reads, as plain values."""

    settings: PlanSettings
    now: dt.datetime
    dest: DestState = DestState()
    named: tuple[NamedInput, ...] = ()
    #: the Arrow type of the watermark column in the source query (``needs_source_type``)
    source_type: pa.DataType | None = None
    #: a full refresh was asked for (``--full-refresh``)
    full_refresh: bool = False
    #: when the newest successful full run of the module started (aware)
    last_full_refresh: dt.datetime | None = None
    supports_deletes: bool = True
    run_id: int = 0
    #: the audit columns' load time (aware); default `now`
    loaded_at: dt.datetime | None = None


@dataclass(frozen=True)
class RunPlan:
    """What the run reads from the source, and what its log says about it."""

    settings: PlanSettings
    table: TableRef
    full: bool
    query: str
    key_query: str | None
    keys: list[str]
    window: Window | None
    #: the watermark values used, for the run record (``watermarks_json``)
    watermarks: dict[str, Any]
    #: each named watermark's value as text, kept as its last value after the run
    named_values: dict[str, str | None]
    audit: list[AuditColumn] | None
    notes: list[str] = field(default_factory=list)

    @property
    def recorded_query(self) -> str:
        """The source SQL as the run record shows it (with the key query under it)."""
        if self.key_query is None:
            return self.query
        return f"{self.query}\n-- key_sync keys:\n{self.key_query}"


# -- the steps ------------------------------------------------------------------------


def dest_table_ref(dest: Driver, dest_table: str | TableRef) -> TableRef:
    """The destination table; SQLite has one schema per file: ``main.t`` is ``t``, and
    other prefixes are refused."""
    table = TableRef.parse(dest_table)
    if dest.kind == "sqlite" and table.schema:
        if table.schema.lower() != "main":
            raise ModuleSpecError(
                f"dest_table '{table}': SQLite has no schemas; write the table name "
                f"alone ('{table.name}')",
                path="dest_table",
            )
        return TableRef(table.name)
    return table


def needs_last_full_refresh(settings: PlanSettings, requested: bool) -> bool:
    """Whether ``full_refresh_due`` reads ``last_full_refresh`` (a schedule decides)."""
    return bool(settings.full_refresh_cron) and settings.merge_strategy != "full" and not requested


def full_refresh_due(
    settings: PlanSettings,
    *,
    requested: bool,
    now: dt.datetime,
    last_full_refresh: dt.datetime | None,
    dest_exists: bool,
) -> tuple[bool, str | None]:
    """Whether this run reads every source row and replaces the table, and why (a log
    line): asked for, or ``full_refresh_cron`` had a slot since the last full run."""
    if requested:
        return True, "full refresh requested"
    cron = settings.full_refresh_cron
    if not cron or settings.merge_strategy == "full":
        return False, None
    from croniter import croniter

    try:
        # cron reads local server time, as schedules do
        last_slot = croniter(cron, now.astimezone()).get_prev(dt.datetime)
    except (ValueError, KeyError) as exc:
        raise ModuleSpecError(
            f"full_refresh_cron '{cron}' is not a cron expression ({exc}); write five "
            "fields such as '0 3 * * 0'",
            path="full_refresh_cron",
        ) from None
    if last_full_refresh is not None and last_full_refresh >= last_slot.astimezone(dt.UTC):
        return False, None
    if not dest_exists:
        return False, None  # a first run reads everything anyway
    return True, f"full refresh due (full_refresh_cron '{cron}', slot {last_slot})"


def watermark_column(settings: PlanSettings) -> str | None:
    """The destination column whose ``MAX`` bounds the next read, if any."""
    if settings.watermark_column:
        return settings.watermark_column
    keys = settings.keys
    # A query with named watermarks filters itself: the key as a second watermark
    # would skip changed rows whose key is old.
    named = placeholders(settings.source_query)
    if settings.merge_strategy == "incremental" and len(keys) == 1 and not named:
        return keys[0]
    return None


def window_column(settings: PlanSettings, full: bool) -> str | None:
    """The watermark column when this run reads only rows past it (not on a full load)."""
    column = watermark_column(settings)
    if column is None or full or settings.merge_strategy == "full":
        return None
    return column


def needs_source_type(settings: PlanSettings, dest: Driver, dest_exists: bool) -> bool:
    """Whether the window needs the source column's type: for a first run's safety lag,
    and where the destination stores zoned timestamps without their zone (MariaDB)."""
    drops_zones = dest.ddl_type(pa.timestamp("us", tz="UTC")) == dest.ddl_type(pa.timestamp("us"))
    return bool(settings.safety_lag and not dest_exists) or (drops_zones and dest_exists)


def named_values(
    settings: PlanSettings, named: Sequence[NamedInput], source: Driver
) -> list[NamedValue]:
    """Each named watermark's literal (none when the query has no placeholder)."""
    if not placeholders(settings.source_query):
        return []
    return [named_value(n.name, n.value, n.default, source) for n in named]


def filled_query(settings: PlanSettings, values: Sequence[NamedValue]) -> str:
    """The source query with every ``{name}`` replaced by its literal."""
    return fill_placeholders(settings.source_query, {v.name: v.literal for v in values})


def wants_key_sync(
    settings: PlanSettings, *, full: bool, supports_deletes: bool
) -> tuple[bool, str | None]:
    """Whether the run reads every source key to delete the lost ones, and why not."""
    if not settings.key_sync or full or settings.merge_strategy not in KEYED_STRATEGIES:
        return False, None
    if not supports_deletes:
        return False, "destination does not support deletes: key_sync skipped"
    return True, None


def key_sync_query(settings: PlanSettings, source: Driver) -> str:
    """The query listing every source key: ``key_sync_query``, or the source query's keys."""
    if settings.key_sync_query:
        return fill_placeholders(settings.key_sync_query, {})
    if placeholders(settings.source_query):
        raise ModuleSpecError(
            f"module '{settings.name}' uses key_sync with named watermarks in its query, so "
            "the query alone cannot list every source key; set key_sync_query",
            path="key_sync_query",
        )
    cols = ", ".join(source.quote(k) for k in settings.keys)
    inner = settings.source_query.strip().rstrip(";")
    return f"SELECT {cols} FROM ({inner}\n) pipekit_keys"  # \n: ends a -- comment


def record_source(s: ModuleSettings) -> str:
    """Where the module's rows come from, as its record-source audit column says it: the
    source connection, or ``connection/table`` for a connector table."""
    source = s.source or ""
    return f"{source}/{s.source_table}" if s.source_table else source


def audit_values(
    dest: Driver, run_id: int, loaded_at: dt.datetime, s: ModuleSettings | None = None
) -> list[AuditColumn]:
    """The audit columns, named by the module's settings: when the rows were loaded, by
    which run, and (when named) where they came from."""
    stamp = pa.scalar(loaded_at.astimezone(dt.UTC), pa.timestamp("us", tz="UTC"))
    columns = [
        AuditColumn(
            (s and s.audit_loaded_at_column) or LOADED_AT,
            render_literal(stamp, dest),
            pa.timestamp("us", tz="UTC"),
            "audit_loaded_at_column",
        ),
        AuditColumn(
            (s and s.audit_run_id_column) or RUN_ID,
            dest.literal(run_id),
            pa.int64(),
            "audit_run_id_column",
        ),
    ]
    if s is not None and s.audit_source_column:
        columns.append(
            AuditColumn(
                s.audit_source_column,
                dest.literal(record_source(s)),
                pa.string(),
                "audit_source_column",
            )
        )
    return columns


def plan_run(inputs: PlanInputs, *, source: Driver, dest: Driver) -> RunPlan:
    """The source side of the run: its SQL, watermarks, full refresh and key_sync."""
    s = inputs.settings
    notes: list[str] = []
    table = dest_table_ref(dest, s.dest_table)
    full, why = full_refresh_due(
        s,
        requested=inputs.full_refresh,
        now=inputs.now,
        last_full_refresh=inputs.last_full_refresh,
        dest_exists=inputs.dest.exists,
    )
    if why:
        notes.append(why)

    watermarks: dict[str, Any] = {}
    values = named_values(s, inputs.named, source)
    for given, value in zip(inputs.named, values, strict=True):
        if given.table_missing:
            notes.append(f"watermark {{{value.name}}}: destination table missing, default")
        notes.append(f"watermark {{{value.name}}} = {value.text} ({value.origin})")
    if values:
        watermarks["named"] = {v.name: {"value": v.text, "from": v.origin} for v in values}
    query = filled_query(s, values)
    cmap = parse_columns(query, source.dialect.sqlglot)  # also refuses a query it cannot read

    window = None
    column = window_column(s, full)
    if column is None:
        if full and watermark_column(s):
            notes.append("full refresh: reading every source row")
    else:
        window = window_from(
            cmap,
            column,
            inputs.dest.watermark_max if inputs.dest.exists else None,
            op=s.watermark_op,
            lookback=s.lookback,
            safety_lag=s.safety_lag,
            keyed=s.merge_strategy in KEYED_STRATEGIES,
            source=source,
            source_type=inputs.source_type,
            now=inputs.now,
        )
        watermarks["column"] = window.as_json()
        notes.extend(_window_notes(s, window))
        query = with_condition(query, cmap, window.condition)

    key_sync, why_not = wants_key_sync(s, full=full, supports_deletes=inputs.supports_deletes)
    if why_not:
        notes.append(why_not)
    audit = None
    if s.audit_columns:
        audit = audit_values(dest, inputs.run_id, inputs.loaded_at or inputs.now, s)
    return RunPlan(
        settings=s,
        table=table,
        full=full,
        query=query,
        key_query=key_sync_query(s, source) if key_sync else None,
        keys=s.keys,
        window=window,
        watermarks=watermarks,
        named_values={v.name: v.text for v in values},
        audit=audit,
        notes=notes,
    )


def _window_notes(s: PlanSettings, window: Window) -> list[str]:
    notes = []
    if window.lower is None:
        notes.append(f"watermark {window.column}: destination empty or missing, reading every row")
    else:
        notes.append(
            f"watermark {window.column}: destination max {window.max_value}, reading "
            f"{window.expression} {window.lower.op} {window.lower.text()}"
        )
    if window.upper is not None:
        notes.append(f"safety lag {s.safety_lag}: reading rows below {window.upper.text()}")
    if s.merge_strategy == "append" and window.condition:
        notes.append("append: source rows whose watermark is NULL are not picked up")
    return notes


# -- the destination side -------------------------------------------------------------


@dataclass(frozen=True)
class LoadPlan:
    """How the staged rows reach the destination."""

    merge: MergePlan
    #: where the rows are loaded: the staging table, or a swap's new table
    staged: TableRef
    #: the destination's primary key once the merge's DDL has run (lower case)
    dest_pk: list[str]
    notes: list[str]


def swap_candidate(
    dest: Driver, run: RunPlan, *, supports_deletes: bool, dest_exists: bool
) -> bool:
    """Whether the rows may land in a new table renamed into place (then the run asks
    ``dest.swap_info``): a full refresh, or any first load (no old table to merge with)."""
    if not (supports_deletes and dest.swap_full_refresh):
        return False
    return not dest_exists or run.full or run.settings.merge_strategy == "full"


def plan_load(
    dest: Driver,
    run: RunPlan,
    *,
    schema: pa.Schema,
    staged: TableRef,
    key_table: TableRef | None,
    existing: Sequence[Column] | None,
    swap: SwapInfo | None,
    supports_deletes: bool,
    run_id: int,
) -> LoadPlan:
    """The swap or the merge: `existing` is the destination's columns (None: no table),
    `swap` the answer of ``dest.swap_info`` when ``swap_candidate`` said to ask."""
    _check_watermark_column(dest, run.settings, schema)
    strategy = run.settings.merge_strategy
    if existing is not None:
        dest_pk = [c.name.lower() for c in existing if c.primary_key]
    else:
        dest_pk = [k.lower() for k in run.keys] if declares_key(dest, strategy) else []
    notes: list[str] = []
    if swap is not None and not swap.blockers:
        staged = dest.swap_table(staged, run.table)
        plan = plan_swap(
            dest.dialect,
            table=run.table,
            shadow=staged,
            source_schema=schema,
            existing=existing,
            strategy=strategy,
            keys=run.keys,
            full_refresh=run.full,
            audit=run.audit,
            info=swap,
            tag=f"pipekit_swap_{run_id}",
        )
    else:
        if swap is not None:
            notes.append(
                f"{run.table} is refreshed through staging, not swapped: "
                + "; ".join(swap.blockers)
            )
        plan = plan_merge(
            dest.dialect,
            table=run.table,
            staged=staged,
            key_table=key_table,
            source_schema=schema,
            existing=existing,
            strategy=strategy,
            keys=run.keys,
            full_refresh=run.full,
            supports_deletes=supports_deletes,
            audit=run.audit,
        )
    return LoadPlan(plan, staged, dest_pk, [*notes, *plan.notes])


def field_type(schema: pa.Schema, column: str, driver: Driver) -> pa.DataType | None:
    """The Arrow type of `column` in `schema`, matched as the driver compares names."""
    for f in schema:
        if driver.same_name(f.name, column):
            found: pa.DataType = f.type
            return found
    return None


def _check_watermark_column(dest: Driver, settings: PlanSettings, schema: pa.Schema) -> None:
    """The watermark column must be a column of the source's result, checked on every
    run as the merge key is: on a first load nothing reads it yet, and the mistake
    would only show on the second run."""
    from pipekit.errors import MergeError

    column = settings.watermark_column
    if column is None or any(dest.same_name(f.name, column) for f in schema):
        return
    raise MergeError(
        f"watermark_column '{column}' is not among the source query's columns "
        f"({', '.join(schema.names)}); name one of them (its alias in the query), or clear it",
        path="watermark_column",
    )
