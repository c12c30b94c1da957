"""The typed results of the REST API: one frozen dataclass per JSON shape the client reads.

They mirror the service views (``pipekit.services``) field for field, but are
declared here because the client may not import the services: it is a client of
the HTTP API and works against any Pipekit server. Fields the server adds later
are ignored (`load` keeps only the declared ones), so an older client keeps
working against a newer server.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Module:
    id: int
    name: str
    source: str | None
    dest: str | None
    dest_table: str | None
    source_query: str | None
    merge_strategy: str
    merge_key: str | None
    watermark_column: str | None
    watermark_op: str
    lookback: str | None
    safety_lag: str | None
    key_sync: bool
    key_sync_query: str | None
    full_refresh_cron: str | None
    audit_columns: bool
    enabled: bool
    running: bool
    locked_by_run_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    warnings: list[str] = dataclasses.field(default_factory=list)
    #: a connector table read instead of `source_query` (exactly one of the two)
    source_table: str | None = None
    #: the audit columns' names when `audit_columns` is on (None: the usual names)
    audit_loaded_at_column: str | None = None
    audit_run_id_column: str | None = None
    #: the record-source audit column (None: none)
    audit_source_column: str | None = None


@dataclasses.dataclass(frozen=True)
class ColumnMapping:
    """A destination column and the source column it is read from (`trimmed`: RTRIM)."""

    dest: str
    source: str | None
    expression: str
    trimmed: bool


@dataclasses.dataclass(frozen=True)
class Mapping:
    """A module's column mapping and the staging table its runs load."""

    staging_table: str | None
    columns: list[ColumnMapping]


@dataclasses.dataclass(frozen=True)
class Preview:
    """The SQL the next run would execute; `error` when it cannot be planned."""

    status: str
    source_query: str | None
    merge_sql: str | None
    check_sql: str | None
    merge_strategy: str | None
    error: str | None


@dataclasses.dataclass(frozen=True)
class Hook:
    id: int
    module: str
    run_order: int
    sql: str
    run_on: str


@dataclasses.dataclass(frozen=True)
class RecentRun:
    """A module's latest run, as the tree shows it."""

    id: int
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    rows_read: int | None
    row_count: int | None
    error: str | None


@dataclasses.dataclass(frozen=True)
class Run:
    id: int
    module_id: int | None
    module_name: str
    triggered_by: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str
    merge_strategy: str | None
    rows_read: int | None
    rows_inserted: int | None
    rows_deleted: int | None
    row_count: int | None
    error: str | None
    source_query: str | None
    merge_sql: str | None
    hook_sql: str | None
    cancel_requested: bool
    live_log: str | None = None
    rows_replaced: int | None = None  # servers before migration 5 do not send these
    rows_cleared: int | None = None

    @property
    def seconds(self) -> float | None:
        """How long it ran (None while it runs)."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@dataclasses.dataclass(frozen=True)
class Cancel:
    run_id: int
    cancel_requested: bool


@dataclasses.dataclass(frozen=True)
class Unlock:
    """A module's lock freed by hand: the run that held it and how that run ended."""

    module: str
    run_id: int | None
    run_status: str | None
    message: str


@dataclasses.dataclass(frozen=True)
class Connection:
    id: int
    name: str
    url: str
    user: str | None
    supports_deletes: bool


@dataclasses.dataclass(frozen=True)
class Probe:
    ok: bool
    kind: str | None = None
    server_version: str | None = None
    latency_ms: float | None = None
    error: str | None = None


@dataclasses.dataclass(frozen=True)
class Tables:
    """A schema's tables."""

    schema: str | None
    tables: list[str]


@dataclasses.dataclass(frozen=True)
class ProposedColumn:
    source: str
    dest: str
    type: str
    dest_type: str
    nullable: bool


@dataclasses.dataclass(frozen=True)
class Proposal:
    """A module drafted from a source table; nothing saved."""

    source_table: str
    source_query: str
    columns: list[ProposedColumn]
    merge_key: str | None
    watermark_column: str | None
    merge_strategy: str
    reason: str
    dest_table: str


@dataclasses.dataclass(frozen=True)
class LogLine:
    """One line of a run's live log, from the stream."""

    text: str


@dataclasses.dataclass(frozen=True)
class RunEnded:
    """The stream's last event: the finished run."""

    run: Run


StreamEvent = LogLine | RunEnded


# -- JSON -> dataclass -------------------------------------------------------------


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _convert(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(options[0], value) if len(options) == 1 else value
    if origin is list:
        (item,) = typing.get_args(tp)
        return [_convert(item, v) for v in value]
    if tp is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if dataclasses.is_dataclass(tp):
        return load(tp, value)  # type: ignore[arg-type]
    return value


def load(cls: type[T], data: dict[str, Any]) -> T:
    """`cls` filled from the JSON object `data` (unknown keys ignored)."""
    hints = _hints(cls)
    kwargs = {
        f.name: _convert(hints[f.name], data[f.name])
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.name in data
    }
    return cls(**kwargs)
