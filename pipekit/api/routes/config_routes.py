"""Configuration objects: connections, drivers, modules (with watermarks, checks, hooks,
history), groups, schedules, and the YAML manifest (apply/export)."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import PlainTextResponse

from pipekit.api import deps, schemas
from pipekit.api.deps import IntId
from pipekit.errors import NotFoundError
from pipekit.store import Store

router = APIRouter()
S = Depends(deps.store)
NOT_BUILT = {501: {"model": schemas.NotBuiltOut, "description": "not built yet"}}
UNPROCESSABLE = {422: {"description": "invalid definition, one entry per bad field"}}


def _engine(request: Request, s: Store) -> Any:
    from pipekit.engine.run import Engine

    return Engine.from_config(s, request.app.state.config)


# connections -----------------------------------------------------------------


@router.get("/connections", response_model=list[schemas.ConnectionOut], tags=["connections"])
def list_connections(s: Store = S) -> Any:
    return s.connections.list()


@router.post(
    "/connections", response_model=schemas.ConnectionOut, status_code=201, tags=["connections"]
)
def add_connection(body: schemas.ConnectionIn, s: Store = S) -> Any:
    from pipekit.engine.connections import add_connection

    return add_connection(
        s,
        body.name,
        body.url,
        user=body.user,
        password=body.password,
        supports_deletes=body.supports_deletes,
    )


@router.get("/connections/{id}", response_model=schemas.ConnectionOut, tags=["connections"])
def get_connection(id: str, s: Store = S) -> Any:
    return deps.connection(s, id)


@router.put("/connections/{id}", response_model=schemas.ConnectionOut, tags=["connections"])
def update_connection(id: str, body: schemas.ConnectionPatch, s: Store = S) -> Any:
    from pipekit.engine.connections import validate_url

    c = deps.connection(s, id)
    changes = body.model_dump(exclude_unset=True)
    if "url" in changes:
        validate_url(changes["url"])
    for key in ("name", "url", "supports_deletes"):
        if key in changes and changes[key] is None:
            raise deps.field_422(key, "may not be null")
    if "name" in changes:
        changes["new_name"] = changes.pop("name")
    return s.connections.update(c.name, **changes)


@router.delete("/connections/{id}", response_model=schemas.Deleted, tags=["connections"])
def remove_connection(id: str, s: Store = S) -> Any:
    s.connections.remove(deps.connection(s, id).name)
    return schemas.Deleted()


@router.post("/connections/{id}/test", response_model=schemas.ProbeOut, tags=["connections"])
def test_connection(id: str, request: Request, s: Store = S) -> Any:
    """Connect and ask the server's version; a failure is `ok: false` with the reason."""
    from pipekit.engine.connections import probe
    from pipekit.errors import PipekitError

    c = deps.connection(s, id)
    try:
        r = probe(c, _engine(request, s).secrets)
    except PipekitError as exc:
        return schemas.ProbeOut(ok=False, error=str(exc))
    return schemas.ProbeOut(
        ok=True, kind=r.kind, server_version=r.server_version, latency_ms=r.latency_ms
    )


@router.get("/connections/{id}/tables", response_model=schemas.TablesOut, tags=["connections"])
def list_tables(id: str, request: Request, schema: str | None = None, s: Store = S) -> Any:
    c = deps.connection(s, id)
    driver = _engine(request, s).open_connection(c.name)
    try:
        return schemas.TablesOut(schema=schema, tables=driver.list_tables(schema))
    finally:
        driver.close()


@router.get(
    "/connections/{id}/tables/{table}/columns",
    response_model=list[schemas.ColumnOut],
    tags=["connections"],
)
def list_columns(id: str, table: str, request: Request, s: Store = S) -> Any:
    """`table` is `schema.table` (or a bare table name)."""
    c = deps.connection(s, id)
    return _columns(_engine(request, s), c.name, table)


def _columns(engine: Any, connection: str, table: str) -> list[schemas.ColumnOut]:
    driver = engine.open_connection(connection)
    try:
        if not driver.table_exists(table):
            raise NotFoundError(f"table {table} does not exist on connection '{connection}'")
        return [
            schemas.ColumnOut(
                name=c.name, type=c.type, nullable=c.nullable, primary_key=c.primary_key
            )
            for c in driver.list_columns(table)
        ]
    finally:
        driver.close()


@router.get(
    "/connections/{id}/tables/{table}/propose",
    response_model=schemas.ProposalOut,
    tags=["connections"],
)
def propose(
    id: str,
    table: str,
    request: Request,
    dest: str | None = Query(None, description="destination connection: adds dest_ddl"),
    dest_table: str | None = Query(None, description="default sync.<table>"),
    s: Store = S,
) -> Any:
    """Draft a module from a source table (`schema.table` or a bare name): the SELECT
    with safe aliases, RTRIM on fixed-width text and the source's quoting, the
    suggested merge key, watermark column and strategy. Nothing is saved."""
    from pipekit.engine.propose import propose_module

    c = deps.connection(s, id)
    target = deps.connection(s, dest) if dest is not None else None
    engine = _engine(request, s)
    driver = engine.open_connection(c.name)
    try:
        dest_driver = engine.open_connection(target.name) if target is not None else None
        try:
            return propose_module(driver, table, dest_table=dest_table, dest=dest_driver)
        finally:
            if dest_driver is not None:
                dest_driver.close()
    finally:
        driver.close()


# drivers ---------------------------------------------------------------------


@router.get("/drivers", response_model=list[schemas.DriverOut], tags=["drivers"])
def list_drivers() -> Any:
    from pipekit.drivers import driver_status

    return [
        schemas.DriverOut(
            kind=d.kind,
            schemes=list(d.schemes),
            packages=list(d.packages),
            missing=list(d.missing),
            install=d.install,
            available=d.available,
        )
        for d in driver_status()
    ]


def _no_jdbc() -> Response:
    return Response(
        schemas.NotBuiltOut(detail="JDBC drivers not supported yet").model_dump_json(),
        status_code=501,
        media_type="application/json",
    )


@router.post(
    "/drivers",
    status_code=501,
    response_model=schemas.NotBuiltOut,
    responses=NOT_BUILT,
    tags=["drivers"],
)
def add_driver() -> Any:
    """Registering JDBC driver jars: not supported yet (always 501)."""
    return _no_jdbc()


@router.delete(
    "/drivers/{id}",
    status_code=501,
    response_model=schemas.NotBuiltOut,
    responses=NOT_BUILT,
    tags=["drivers"],
)
def remove_driver(id: str) -> Any:
    """Removing JDBC driver jars: not supported yet (always 501)."""
    return _no_jdbc()


# modules ---------------------------------------------------------------------

FIELDS = tuple(schemas.ModuleFields.model_fields)


def _spec(s: Store, m: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {f: getattr(m, f) for f in FIELDS}
    spec["watermarks"] = {
        w.name: {
            "connection": w.connection,
            "resolver_sql": w.resolver_sql,
            "default": w.default_value,
        }
        for w in s.watermarks.list(m.name)
    }
    spec["hooks"] = [{"sql": h.sql, "run_on": h.run_on} for h in s.hooks.list(m.name)]
    spec["checks"] = [{"name": c.name, "sql": c.sql} for c in s.checks.list(m.name)]
    return spec


def _problems(s: Store, spec: dict[str, Any]) -> list[Any]:
    """Problems that refuse `spec` (a watermark the query does not use yet is allowed)."""
    from pipekit.drivers import driver_class, kind_for_url
    from pipekit.engine.validate import module_problems, placeholders
    from pipekit.errors import PipekitError

    dialect = None
    if spec.get("source"):
        try:
            dialect = driver_class(kind_for_url(s.connections.get(spec["source"]).url)).dialect
        except PipekitError:
            dialect = None
    known = [c.name for c in s.connections.list()]
    found = module_problems(spec, source_dialect=dialect, connections=known)
    used = placeholders(f"{spec.get('source_query') or ''}\n{spec.get('key_sync_query') or ''}")
    return [
        p
        for p in found
        if not (
            p.path.startswith("watermarks.")
            and p.path.count(".") == 1
            and p.path.split(".", 1)[1] not in used
        )
    ]


@router.get("/modules", response_model=list[schemas.ModuleOut], tags=["modules"])
def list_modules(enabled: bool | None = None, s: Store = S) -> Any:
    return s.modules.list(enabled=enabled)


@router.post(
    "/modules",
    response_model=schemas.ModuleOut,
    status_code=201,
    responses=UNPROCESSABLE,
    tags=["modules"],
)
def add_module(body: schemas.ModuleIn, s: Store = S) -> Any:
    """Create a module; its definition is checked first (422 names each bad field)."""
    from pipekit.store.repo import check_name

    fields = body.model_dump(exclude={"name", "watermarks"}, exclude_none=True)
    spec = {**fields, "watermarks": {k: v.model_dump() for k, v in body.watermarks.items()}}
    spec.setdefault("merge_strategy", "full")
    problems = _problems(s, spec)
    try:
        check_name("module", body.name, ValueError)
    except ValueError as exc:
        from pipekit.engine.validate import Problem

        problems.insert(0, Problem("name", str(exc)))
    if problems:
        raise deps.problems_422(problems)
    source, dest = fields.pop("source", None), fields.pop("dest", None)
    m = s.modules.add(body.name, source=source, dest=dest, changed_by="api", **fields)
    if body.watermarks:
        items = [
            {
                "name": k,
                "connection": v.connection,
                "resolver_sql": v.resolver_sql,
                "default_value": v.default,
            }
            for k, v in body.watermarks.items()
        ]
        try:
            s.watermarks.replace_all(body.name, items, changed_by="api")
        except Exception:
            s.modules.remove(body.name)
            raise
        m = s.modules.get(body.name)
    return m


@router.get("/modules/{id}", response_model=schemas.ModuleOut, tags=["modules"])
def get_module(id: str, s: Store = S) -> Any:
    return deps.module(s, id)


@router.put(
    "/modules/{id}", response_model=schemas.ModuleOut, responses=UNPROCESSABLE, tags=["modules"]
)
def update_module(id: str, body: schemas.ModulePatch, s: Store = S) -> Any:
    """Change the given fields (omitted = unchanged, null = cleared); refused with 422
    when the change adds a problem to the module's definition."""
    m = deps.module(s, id)
    changes = body.model_dump(exclude_unset=True)
    before = _spec(s, m)
    after = copy.deepcopy(before)
    after.update({k: v for k, v in changes.items() if k != "name"})
    old = {str(p) for p in _problems(s, before)}
    new = [p for p in _problems(s, after) if str(p) not in old]
    if new:
        raise deps.problems_422(new)
    if "name" in changes:
        changes["new_name"] = changes.pop("name")
    if not changes:
        return m
    return s.modules.update(m.name, changed_by="api", **changes)


@router.delete("/modules/{id}", response_model=schemas.Deleted, tags=["modules"])
def remove_module(id: str, s: Store = S) -> Any:
    s.modules.remove(deps.module(s, id).name)
    return schemas.Deleted()


@router.get("/modules/{id}/history", response_model=list[schemas.HistoryOut], tags=["modules"])
def module_history(id: str, limit: int | None = Query(None, ge=1), s: Store = S) -> Any:
    return s.modules.history(deps.module(s, id).name, limit=limit)


@router.get("/modules/{id}/preview", response_model=schemas.PreviewOut, tags=["modules"])
def preview(id: str, request: Request, s: Store = S) -> Any:
    """The SQL the next run would execute: a dry run (recorded in the run log as
    `dry_run`, destination untouched). 409 while the module runs."""
    m = deps.module(s, id)
    run = _engine(request, s).run_module(m.name, dry_run=True, triggered_by="api")
    return schemas.PreviewOut(
        run_id=run.id,
        status=run.status,
        source_query=run.source_query,
        merge_sql=run.merge_sql,
        error=run.error,
    )


@router.get("/modules/{id}/dest-columns", response_model=list[schemas.ColumnOut], tags=["modules"])
def dest_columns(id: str, request: Request, s: Store = S) -> Any:
    """Columns of the module's destination table (404 before its first run creates it)."""
    m = deps.module(s, id)
    if not m.dest or not m.dest_table:
        raise NotFoundError(f"module '{m.name}' has no destination table")
    return _columns(_engine(request, s), m.dest, m.dest_table)


# hooks -----------------------------------------------------------------------


@router.get("/modules/{id}/hooks", response_model=list[schemas.HookOut], tags=["hooks"])
def list_hooks(id: str, s: Store = S) -> Any:
    return s.hooks.list(deps.module(s, id).name)


@router.post("/hooks", response_model=schemas.HookOut, status_code=201, tags=["hooks"])
def add_hook(body: schemas.HookIn, s: Store = S) -> Any:
    m = deps.module(s, body.module)
    return s.hooks.add(
        m.name, body.sql, run_on=body.run_on, run_order=body.run_order, changed_by="api"
    )


@router.delete("/hooks/{id}", response_model=schemas.Deleted, tags=["hooks"])
def remove_hook(id: IntId, s: Store = S) -> Any:
    s.hooks.get(id)
    s.hooks.remove(id)
    return schemas.Deleted()


# watermarks and checks -------------------------------------------------------


def _part(repo: Any, module: str, name: str, kind: str) -> Any:
    try:
        return repo.get(module, name)
    except NotFoundError:
        raise
    except KeyError:
        raise NotFoundError(f"{kind} '{name}' of module '{module}' does not exist") from None


@router.get(
    "/modules/{id}/watermarks", response_model=list[schemas.WatermarkOut], tags=["watermarks"]
)
def list_watermarks(id: str, s: Store = S) -> Any:
    return s.watermarks.list(deps.module(s, id).name)


@router.post(
    "/modules/{id}/watermarks",
    response_model=schemas.WatermarkOut,
    status_code=201,
    tags=["watermarks"],
)
def add_watermark(id: str, body: schemas.WatermarkIn, s: Store = S) -> Any:
    m = deps.module(s, id)
    return s.watermarks.add(
        m.name,
        body.name,
        connection=body.connection,
        resolver_sql=body.resolver_sql,
        default_value=body.default_value,
        changed_by="api",
    )


@router.get(
    "/modules/{id}/watermarks/{name}", response_model=schemas.WatermarkOut, tags=["watermarks"]
)
def get_watermark(id: str, name: str, s: Store = S) -> Any:
    return _part(s.watermarks, deps.module(s, id).name, name, "watermark")


@router.put(
    "/modules/{id}/watermarks/{name}", response_model=schemas.WatermarkOut, tags=["watermarks"]
)
def update_watermark(id: str, name: str, body: schemas.WatermarkPatch, s: Store = S) -> Any:
    m = deps.module(s, id)
    _part(s.watermarks, m.name, name, "watermark")
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes:
        if changes["name"] is None:
            raise deps.field_422("name", "may not be null")
        changes["new_name"] = changes.pop("name")
    return s.watermarks.update(m.name, name, changed_by="api", **changes)


@router.delete(
    "/modules/{id}/watermarks/{name}", response_model=schemas.Deleted, tags=["watermarks"]
)
def remove_watermark(id: str, name: str, s: Store = S) -> Any:
    m = deps.module(s, id)
    _part(s.watermarks, m.name, name, "watermark")
    s.watermarks.remove(m.name, name, changed_by="api")
    return schemas.Deleted()


@router.get("/modules/{id}/checks", response_model=list[schemas.CheckOut], tags=["checks"])
def list_checks(id: str, s: Store = S) -> Any:
    return s.checks.list(deps.module(s, id).name)


@router.post(
    "/modules/{id}/checks", response_model=schemas.CheckOut, status_code=201, tags=["checks"]
)
def add_check(id: str, body: schemas.CheckIn, s: Store = S) -> Any:
    m = deps.module(s, id)
    extra = {"run_order": body.run_order} if body.run_order is not None else {}
    return s.checks.add(m.name, body.name, sql=body.sql, changed_by="api", **extra)


@router.get("/modules/{id}/checks/{name}", response_model=schemas.CheckOut, tags=["checks"])
def get_check(id: str, name: str, s: Store = S) -> Any:
    return _part(s.checks, deps.module(s, id).name, name, "check")


@router.put("/modules/{id}/checks/{name}", response_model=schemas.CheckOut, tags=["checks"])
def update_check(id: str, name: str, body: schemas.CheckPatch, s: Store = S) -> Any:
    m = deps.module(s, id)
    _part(s.checks, m.name, name, "check")
    changes = body.model_dump(exclude_unset=True)
    for key in ("name", "sql"):
        if key in changes and changes[key] is None:
            raise deps.field_422(key, "may not be null")
    if "name" in changes:
        changes["new_name"] = changes.pop("name")
    return s.checks.update(m.name, name, changed_by="api", **changes)


@router.delete("/modules/{id}/checks/{name}", response_model=schemas.Deleted, tags=["checks"])
def remove_check(id: str, name: str, s: Store = S) -> Any:
    m = deps.module(s, id)
    _part(s.checks, m.name, name, "check")
    s.checks.remove(m.name, name, changed_by="api")
    return schemas.Deleted()


# groups ----------------------------------------------------------------------


def _members(s: Store, group_id: int | None = None, member_id: int | None = None) -> list[Any]:
    import sqlalchemy as sa

    from pipekit.store import schema as t

    q = (
        sa.select(
            t.group_member.c.id,
            t.group_member.c.group_id,
            t.grp.c.name.label("grp"),
            t.module.c.name.label("module"),
            t.group_member.c.run_order,
        )
        .join(t.module, t.module.c.id == t.group_member.c.module_id)
        .join(t.grp, t.grp.c.id == t.group_member.c.group_id)
        .order_by(t.group_member.c.run_order, t.group_member.c.id)
    )
    if group_id is not None:
        q = q.where(t.group_member.c.group_id == group_id)
    if member_id is not None:
        q = q.where(t.group_member.c.id == member_id)
    with s.read() as conn:
        return list(conn.execute(q))


def _group_out(s: Store, g: Any) -> schemas.GroupOut:
    members = [
        schemas.MemberOut(id=r.id, module=r.module, run_order=r.run_order)
        for r in _members(s, group_id=g.id)
    ]
    return schemas.GroupOut(id=g.id, name=g.name, description=g.description, members=members)


@router.get("/groups", response_model=list[schemas.GroupOut], tags=["groups"])
def list_groups(s: Store = S) -> Any:
    return [_group_out(s, g) for g in s.groups.list()]


@router.post("/groups", response_model=schemas.GroupOut, status_code=201, tags=["groups"])
def add_group(body: schemas.GroupIn, s: Store = S) -> Any:
    members = [deps.module(s, m).name for m in body.members]
    return _group_out(s, s.groups.add(body.name, description=body.description, members=members))


@router.get("/groups/{id}", response_model=schemas.GroupOut, tags=["groups"])
def get_group(id: str, s: Store = S) -> Any:
    return _group_out(s, deps.group(s, id))


@router.delete("/groups/{id}", response_model=schemas.Deleted, tags=["groups"])
def remove_group(id: str, s: Store = S) -> Any:
    s.groups.remove(deps.group(s, id).name)
    return schemas.Deleted()


@router.post(
    "/groups/{id}/members", response_model=schemas.GroupOut, status_code=201, tags=["groups"]
)
def add_member(id: str, body: schemas.MemberIn, s: Store = S) -> Any:
    """Add a module (last, or at `position`; an existing member moves there)."""
    g = deps.group(s, id)
    m = deps.module(s, body.module)
    return _group_out(s, s.groups.add_member(g.name, m.name, position=body.position))


@router.delete("/groups/members/{id}", response_model=schemas.GroupOut, tags=["groups"])
def remove_member(id: IntId, s: Store = S) -> Any:
    """Remove a membership by its id (`members[].id` of GET /api/groups/{id})."""
    rows = _members(s, member_id=id)
    if not rows:
        raise NotFoundError(f"group member {id} does not exist")
    return _group_out(s, s.groups.remove_member(rows[0].grp, rows[0].module))


# schedules -------------------------------------------------------------------


def _schedule(s: Store, id: IntId) -> Any:
    try:
        return s.schedules.get(id)
    except NotFoundError:
        raise
    except (KeyError, LookupError):
        raise NotFoundError(f"schedule {id} does not exist") from None


@router.get("/schedules", response_model=list[schemas.ScheduleOut], tags=["schedules"])
def list_schedules(group: str | None = None, s: Store = S) -> Any:
    return s.schedules.list(group=deps.group(s, group).name if group else None)


@router.post("/schedules", response_model=schemas.ScheduleOut, status_code=201, tags=["schedules"])
def add_schedule(body: schemas.ScheduleIn, s: Store = S) -> Any:
    """Add a schedule; an invalid cron expression is a 422."""
    return s.schedules.add(deps.group(s, body.group).name, body.cron_expr, enabled=body.enabled)


@router.get("/schedules/{id}", response_model=schemas.ScheduleOut, tags=["schedules"])
def get_schedule(id: IntId, s: Store = S) -> Any:
    return _schedule(s, id)


@router.put("/schedules/{id}", response_model=schemas.ScheduleOut, tags=["schedules"])
def update_schedule(id: IntId, body: schemas.SchedulePatch, s: Store = S) -> Any:
    _schedule(s, id)
    changes = body.model_dump(exclude_unset=True)
    for key, value in changes.items():
        if value is None:
            raise deps.field_422(key, "may not be null")
    if "group" in changes:
        changes["group"] = deps.group(s, changes["group"]).name
    if not changes:
        return _schedule(s, id)
    return s.schedules.update(id, **changes)


@router.delete("/schedules/{id}", response_model=schemas.Deleted, tags=["schedules"])
def remove_schedule(id: IntId, s: Store = S) -> Any:
    _schedule(s, id)
    s.schedules.remove(id)
    return schemas.Deleted()


# manifest --------------------------------------------------------------------


@router.post(
    "/apply",
    response_model=schemas.ApplyOut,
    responses=UNPROCESSABLE,
    tags=["manifest"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        }
    },
)
async def apply(request: Request, prune: bool = False, dry_run: bool = False) -> Any:
    """Apply a YAML manifest (docs/yaml.md) given as the request body."""
    import yaml
    from starlette.concurrency import run_in_threadpool

    from pipekit.engine.manifest import ManifestError, apply_manifest

    raw = await request.body()
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise deps.field_422("body", "the manifest must be UTF-8 text") from None
    text = text + "\n"  # never read as a path (a string ending in .yaml is one)
    s = request.app.state.store
    try:
        report = await run_in_threadpool(
            apply_manifest, s, text, prune=prune, dry_run=dry_run, changed_by="api"
        )
    except ManifestError as exc:
        raise deps.problems_422(exc.problems) from None
    except yaml.YAMLError as exc:  # e.g. control characters the YAML reader refuses
        raise deps.field_422("body", f"not a YAML document: {exc}") from None
    return schemas.ApplyOut(
        changed=report.changed,
        dry_run=report.dry_run,
        changes=[
            schemas.ApplyChange(kind=c.kind, name=c.name, action=c.action, fields=list(c.fields))
            for c in report.changes
        ],
    )


@router.get(
    "/export",
    response_class=PlainTextResponse,
    tags=["manifest"],
    responses={200: {"content": {"application/yaml": {}}, "description": "YAML text"}},
)
def export(s: Store = S) -> Any:
    """Everything as a YAML manifest (the format POST /api/apply takes)."""
    from pipekit.engine.manifest import export_manifest

    return PlainTextResponse(export_manifest(s), media_type="application/yaml")
