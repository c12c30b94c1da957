"""Pydantic models of every request and response body (the OpenAPI schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(BaseModel):
    detail: str


class BusyOut(BaseModel):
    detail: str
    run_id: int | None = Field(None, description="the running run, when a module is busy")


class NotBuiltOut(BaseModel):
    detail: str


class Deleted(BaseModel):
    deleted: bool = True


class HealthPart(BaseModel):
    ok: bool
    detail: dict[str, Any] = Field(default_factory=dict)


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    database: HealthPart
    scheduler: HealthPart
    pool: HealthPart


# connections -----------------------------------------------------------------


class ConnectionOut(Out):
    id: int
    name: str
    url: str
    user: str | None
    password: str | None = Field(description="the `$VAR` reference, never a value")
    supports_deletes: bool
    driver_id: int | None
    created_at: datetime
    updated_at: datetime


class ConnectionIn(In):
    name: str = Field(min_length=1)
    url: str = Field(min_length=1)
    user: str | None = None
    password: str | None = Field(None, description="a `$VAR` reference; literals are refused")
    supports_deletes: bool = True


class ConnectionPatch(In):
    name: str | None = Field(None, min_length=1)
    url: str | None = Field(None, min_length=1)
    user: str | None = None
    password: str | None = None
    supports_deletes: bool | None = None


class ProbeOut(BaseModel):
    ok: bool
    kind: str | None = None
    server_version: str | None = None
    latency_ms: float | None = None
    error: str | None = None


class TablesOut(BaseModel):
    schema_: str | None = Field(None, alias="schema")
    tables: list[str]

    model_config = ConfigDict(populate_by_name=True)


class ColumnOut(BaseModel):
    name: str
    type: str
    nullable: bool
    primary_key: bool


class ProposedColumnOut(Out):
    source: str = Field(description="the column's name in the source")
    dest: str = Field(description="its destination name: the alias in source_query")
    type: str = Field(description="the source's type name")
    dest_type: str = Field(description="the Arrow type key it travels as (string, int32, ...)")
    nullable: bool
    primary_key: bool
    trimmed: bool = Field(description="read through RTRIM (fixed-width CHAR)")


class ProposalOut(Out):
    source_table: str
    source_query: str
    columns: list[ProposedColumnOut]
    merge_key: str | None = Field(description="the primary key's destination names, 'a, b'")
    watermark_column: str | None = Field(
        description="a timestamp/date column named like a change time (updated_at, ...)"
    )
    merge_strategy: Literal["full", "incremental", "upsert"]
    reason: str
    dest_table: str
    dest_ddl: str | None = Field(
        description="CREATE TABLE on the `dest` connection; null when no `dest` was given"
    )


# modules ---------------------------------------------------------------------

Strategy = Literal["full", "incremental", "append", "upsert"]


class WatermarkSpec(In):
    connection: str | None = None
    resolver_sql: str | None = None
    default: str | None = None


class ModuleFields(In):
    source: str | None = None
    dest: str | None = None
    dest_table: str | None = None
    source_query: str | None = None
    merge_strategy: Strategy | None = None
    merge_key: str | None = None
    watermark_column: str | None = None
    watermark_op: Literal[">", ">="] | None = None
    lookback: str | None = None
    safety_lag: str | None = None
    key_sync: bool | None = None
    key_sync_query: str | None = None
    full_refresh_cron: str | None = None
    audit_columns: bool | None = None
    enabled: bool | None = None


class ModuleIn(ModuleFields):
    name: str = Field(min_length=1)
    watermarks: dict[str, WatermarkSpec] = Field(default_factory=dict)


class ModulePatch(ModuleFields):
    name: str | None = Field(None, min_length=1)


class ModuleOut(Out):
    id: int
    name: str
    source: str | None
    dest: str | None
    source_connection_id: int | None
    dest_connection_id: int | None
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
    locked_at: datetime | None
    created_at: datetime
    updated_at: datetime


class HistoryOut(Out):
    id: int
    module_id: int
    changed_at: datetime
    changed_by: str | None
    diff: dict[str, list[Any]]


class PreviewOut(BaseModel):
    run_id: int
    status: str
    source_query: str | None
    merge_sql: str | None
    error: str | None


class RunStarted(BaseModel):
    run_id: int


class GroupRunStarted(BaseModel):
    group_run_id: int


class RunRequest(In):
    dry_run: bool = False
    full_refresh: bool = False


class GroupRunRequest(In):
    dry_run: bool = False


# hooks, watermarks, checks ---------------------------------------------------


class HookOut(Out):
    id: int
    module: str
    run_order: int
    sql: str
    run_on: str


class HookIn(In):
    module: str = Field(min_length=1, description="module id or name")
    sql: str = Field(min_length=1)
    run_on: Literal["success", "failure", "always"] = "success"
    run_order: int | None = None


class WatermarkOut(Out):
    id: int
    module: str
    name: str
    connection: str | None
    resolver_sql: str | None
    default_value: str | None
    last_value: str | None


class WatermarkIn(In):
    name: str = Field(min_length=1)
    connection: str | None = None
    resolver_sql: str | None = None
    default_value: str | None = None


class WatermarkPatch(In):
    name: str | None = Field(None, min_length=1)
    connection: str | None = None
    resolver_sql: str | None = None
    default_value: str | None = None


class CheckOut(Out):
    id: int
    module: str
    name: str
    sql: str
    run_order: int


class CheckIn(In):
    name: str = Field(min_length=1)
    sql: str = Field(min_length=1)
    run_order: int | None = None


class CheckPatch(In):
    name: str | None = Field(None, min_length=1)
    sql: str | None = Field(None, min_length=1)
    run_order: int | None = None


# groups, schedules -----------------------------------------------------------


class MemberOut(BaseModel):
    id: int = Field(
        description="the module's id: DELETE /api/groups/members/{id}?group= removes it"
    )
    module: str
    run_order: int


class GroupOut(BaseModel):
    id: int
    name: str
    description: str | None
    members: list[MemberOut]


class GroupIn(In):
    name: str = Field(min_length=1)
    description: str | None = None
    members: list[str] = Field(default_factory=list)


class MemberIn(In):
    module: str = Field(min_length=1, description="module id or name")
    position: int | None = Field(None, ge=0)


class ScheduleOut(Out):
    id: int
    group: str
    group_id: int
    cron_expr: str
    enabled: bool
    last_fired_at: datetime | None
    created_at: datetime


class ScheduleIn(In):
    group: str = Field(min_length=1, description="group id or name")
    cron_expr: str = Field(min_length=1)
    enabled: bool = True


class SchedulePatch(In):
    group: str | None = Field(None, min_length=1)
    cron_expr: str | None = Field(None, min_length=1)
    enabled: bool | None = None


# runs ------------------------------------------------------------------------


class RunOut(Out):
    id: int
    module_id: int | None
    module_name: str
    group_run_id: int | None
    triggered_by: str | None
    started_at: datetime
    finished_at: datetime | None
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
    check_sql: str | None
    watermarks_json: str | None
    schema_changes: str | None
    cancel_requested: bool
    pid: int | None
    host: str | None


class RunDetailOut(RunOut):
    live_log: str | None


class LiveOut(BaseModel):
    run_id: int
    text: str
    offset: int
    status: str
    finished: bool


class CancelOut(BaseModel):
    run_id: int
    cancel_requested: bool


class GroupRunOut(Out):
    id: int
    group_id: int | None
    group_name: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    triggered_by: str | None
    error: str | None


class GroupRunDetailOut(GroupRunOut):
    runs: list[RunOut]


class DriverOut(BaseModel):
    kind: str
    schemes: list[str]
    packages: list[str]
    missing: list[str]
    install: str
    available: bool


class ApplyChange(BaseModel):
    kind: str
    name: str
    action: str
    fields: list[str] = Field(default_factory=list)


class ApplyOut(BaseModel):
    changed: bool
    dry_run: bool
    changes: list[ApplyChange]
