"""Pydantic models of every request and response body (the OpenAPI schemas)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from pipekit import module_settings as settings


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


class ConnectionIn(In):
    name: str = Field(min_length=1)
    url: str = Field(min_length=1)
    user: str | None = None
    password: str | None = Field(None, description="a `$VAR` reference; literals are refused")
    supports_deletes: bool = True
    options: dict[str, Any] | None = Field(
        None, description="a connector connection's options (its tables); docs/connectors.md"
    )


class DriverIn(In):
    """A JDBC driver to register: jar paths on the server's machine, the driver class,
    and a URL template (its subprotocol picks the connections that use it)."""

    name: str = Field(min_length=1)
    jars: list[str] = Field(min_length=1, description="paths of the jar files on the server")
    class_name: str = Field(min_length=1, description="e.g. com.ibm.as400.access.AS400JDBCDriver")
    url_template: str | None = Field(None, description="e.g. jdbc:as400://{host}")


class ConnectionPatch(In):
    name: str | None = Field(None, min_length=1)
    url: str | None = Field(None, min_length=1)
    user: str | None = None
    password: str | None = None
    supports_deletes: bool | None = None


# modules ---------------------------------------------------------------------


class WatermarkSpec(In):
    connection: str | None = None
    resolver_sql: str | None = None
    default: str | None = None


def _setting_fields() -> dict[str, Any]:
    """One optional field per module setting, typed and described by the settings table;
    values are checked by the service, so both faces refuse a bad one with one error."""
    return {
        s.name: (s.python_type | None, Field(None, description=s.spec.help))
        for s in settings.SETTINGS
    }


if TYPE_CHECKING:  # the type checker sees the base; the fields are built from the table
    ModuleFields = In
else:
    ModuleFields = create_model("ModuleFields", __base__=In, **_setting_fields())


class ModuleIn(ModuleFields):
    name: str = Field(min_length=1)
    watermarks: dict[str, WatermarkSpec] = Field(default_factory=dict)


class ModulePatch(ModuleFields):
    name: str | None = Field(None, min_length=1)


class RunRequest(In):
    dry_run: bool = False
    full_refresh: bool = False


class GroupRunRequest(In):
    dry_run: bool = False


# hooks, watermarks, checks ---------------------------------------------------


class HookIn(In):
    module: str = Field(min_length=1, description="module id or name")
    sql: str = Field(min_length=1)
    run_on: str = Field("success", description="success, failure or always")
    position: int | None = Field(None, description="1 = runs first; the others move down")
    run_order: int | None = None


class HookPatch(In):
    sql: str | None = Field(None, min_length=1)
    run_on: str | None = Field(None, description="success, failure or always")
    position: int | None = Field(None, description="move it: 1 = runs first")


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


class CheckIn(In):
    name: str = Field(min_length=1)
    sql: str = Field(min_length=1)
    run_order: int | None = None


class CheckPatch(In):
    name: str | None = Field(None, min_length=1)
    sql: str | None = Field(None, min_length=1)
    run_order: int | None = None


# groups, schedules -----------------------------------------------------------


class GroupIn(In):
    name: str = Field(min_length=1)
    description: str | None = None
    members: list[str] = Field(default_factory=list)


class GroupPatch(In):
    name: str | None = Field(None, min_length=1)
    description: str | None = None
    members: list[str] | None = Field(None, description="module ids or names, in run order")


class MemberIn(In):
    module: str = Field(min_length=1, description="module id or name")
    position: int | None = Field(None, ge=0)


class ScheduleIn(In):
    group: str = Field(min_length=1, description="group id or name")
    cron_expr: str = Field(min_length=1)
    enabled: bool = True


class SchedulePatch(In):
    group: str | None = Field(None, min_length=1)
    cron_expr: str | None = Field(None, min_length=1)
    enabled: bool | None = None


# users -----------------------------------------------------------------------


class UserIn(In):
    name: str = Field(min_length=1)
    password: str = Field(min_length=1, description="never stored or shown; a scrypt hash is")
    role: str = Field("viewer", description="viewer, operator, editor or admin")


class UserPatch(In):
    role: str | None = Field(None, description="viewer, operator, editor or admin")
    password: str | None = Field(None, min_length=1)
