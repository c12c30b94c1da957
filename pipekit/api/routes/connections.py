"""Connections: CRUD, test, browse (schemas, tables, columns) and propose."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from pipekit.api import deps, schemas
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
