"""Connections: CRUD, test, browse (schemas, tables, columns) and propose.

`{id}` is a connection's numeric id or its name. Every route calls
``sv.connections`` (``pipekit.services.connections``), as the CLI does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from pipekit.api import deps, schemas
from pipekit.services import Services
from pipekit.services.connections import (
    ColumnView,
    ConnectionView,
    ProbeView,
    ProposalView,
    SchemaView,
)

router = APIRouter(tags=["connections"])
UNPROCESSABLE: dict[int | str, dict[str, Any]] = {
    422: {"description": "invalid definition, one entry per bad field"}
}


@router.get("/connections", response_model=list[ConnectionView])
def list_connections(sv: Services = deps.VIEWER) -> Any:
    return sv.connections.list()


@router.post(
    "/connections", response_model=ConnectionView, status_code=201, responses=UNPROCESSABLE
)
def add_connection(body: schemas.ConnectionIn, sv: Services = deps.ADMIN) -> Any:
    """A relative SQLite/DuckDB path is stored absolute; a literal password is refused."""
    return sv.connections.add(
        body.name,
        body.url,
        user=body.user,
        password=body.password,
        supports_deletes=body.supports_deletes,
        options=body.options,
    )


@router.get("/connections/{id}", response_model=ConnectionView)
def get_connection(id: str, sv: Services = deps.VIEWER) -> Any:
    return sv.connections.show(id)


@router.put("/connections/{id}", response_model=ConnectionView, responses=UNPROCESSABLE)
def update_connection(id: str, body: schemas.ConnectionPatch, sv: Services = deps.ADMIN) -> Any:
    """Change the fields given; `name`, `url` and `supports_deletes` may not be null."""
    return sv.connections.update(id, **body.model_dump(exclude_unset=True))


@router.delete("/connections/{id}", response_model=schemas.Deleted)
def remove_connection(id: str, sv: Services = deps.ADMIN) -> Any:
    """Refused (409) while modules use it; its secret stays in the secrets file."""
    sv.connections.remove(id)
    return schemas.Deleted()


@router.post("/connections/{id}/test", response_model=ProbeView)
def test_connection(id: str, sv: Services = deps.OPERATOR) -> Any:
    """Connect and ask the server's version; a failure is `ok: false` with the reason."""
    return sv.connections.test(id)


@router.get("/connections/{id}/schemas", response_model=list[str])
def list_schemas(id: str, sv: Services = deps.VIEWER) -> Any:
    """The database's schemas (system schemas left out)."""
    return sv.connections.schemas(id)


@router.get("/connections/{id}/tables", response_model=SchemaView)
def list_tables(id: str, schema: str | None = None, sv: Services = deps.VIEWER) -> Any:
    """A schema's tables (default: the database's default schema); `tables_detail`
    adds the row count the database's catalog estimates (null where it keeps none)."""
    return sv.connections.tables(id, schema)


@router.get("/connections/{id}/tables/{table}/columns", response_model=list[ColumnView])
def list_columns(id: str, table: str, sv: Services = deps.VIEWER) -> Any:
    """`table` is `schema.table` (or a bare table name)."""
    return sv.connections.columns(id, table)


@router.get(
    "/connections/{id}/tables/{table}/propose",
    response_model=ProposalView,
    responses=UNPROCESSABLE,
)
def propose(
    id: str,
    table: str,
    dest: str | None = Query(None, description="destination connection: adds dest_ddl"),
    dest_table: str | None = Query(None, description="default sync.<table>"),
    name: str | None = Query(None, description="the module's name; default the table's"),
    sv: Services = deps.VIEWER,
) -> Any:
    """Draft a module from a source table (`schema.table` or a bare name): the SELECT
    with safe aliases, RTRIM on fixed-width text and the source's quoting, the
    suggested merge key, watermark column and strategy. Nothing is saved."""
    return sv.connections.propose(id, table, dest=dest, dest_table=dest_table, name=name)
