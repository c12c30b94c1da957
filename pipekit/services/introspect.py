"""What a connection's database holds, as views: schemas, tables with the row counts
the catalog estimates, columns, and a module drafted from a table (``propose``),
with ``proposal_yaml`` to write that draft as a file ``pipekit apply`` takes.

``ConnectionService`` (``connections.py``) finds the connection and opens its
driver; the functions here work on the open driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pipekit.errors import ConnectionSpecError, ModuleSpecError, NotFoundError, PipekitError
from pipekit.services.lookup import not_found

if TYPE_CHECKING:
    from pipekit.drivers.base import Driver, TableRef
    from pipekit.engine.propose import Proposal


# -- views ----------------------------------------------------------------------


@dataclass(frozen=True)
class TableView:
    """A table and the rows its catalog estimates (null where the database keeps none)."""

    name: str
    rows: int | None


@dataclass(frozen=True)
class SchemaView:
    """A schema's tables: `tables` their names, `tables_detail` with row estimates."""

    schema: str | None
    tables: list[str]
    tables_detail: list[TableView]


@dataclass(frozen=True)
class ColumnView:
    name: str
    type: str
    nullable: bool
    primary_key: bool


@dataclass(frozen=True)
class ProposedColumnView:
    """`source` is the column's name in the source, `dest` its alias in the query,
    `dest_type` the Arrow type key it travels as; `trimmed`: read through RTRIM."""

    source: str
    dest: str
    type: str
    dest_type: str
    nullable: bool
    primary_key: bool
    trimmed: bool


@dataclass(frozen=True)
class ProposalView:
    """A module drafted from a source table; nothing is saved.

    `merge_key` is the primary key's destination names (``a, b``), `watermark_column`
    a timestamp/date column named like a change time, `dest_ddl` the CREATE TABLE on
    the `dest` connection (null without one). `name`, `source` and `dest` are the
    module's name and its connections, as ``proposal_yaml`` writes them.
    """

    source_table: str
    source_query: str
    columns: list[ProposedColumnView]
    merge_key: str | None
    watermark_column: str | None
    merge_strategy: Literal["full", "incremental", "upsert"]
    reason: str
    dest_table: str
    dest_ddl: str | None
    name: str
    source: str
    dest: str | None


def with_path(exc: PipekitError, path: str) -> PipekitError:
    """`exc` again, naming the field it concerns (the message is already redacted)."""
    return type(exc)(exc.message, path=path)


def proposal_yaml(p: ProposalView) -> str:
    """`p` as a module file ``pipekit apply`` takes unchanged (docs/yaml.md): one
    module under ``modules:``, its connections by name."""
    import yaml

    from pipekit.engine.manifest_export import _Dumper

    if p.dest is None:
        raise ModuleSpecError(
            "a module needs a destination connection; propose again with a dest (`--dest CONN`)",
            path="dest",
        )
    module: dict[str, Any] = {
        "source": p.source,
        "dest": p.dest,
        "dest_table": p.dest_table,
        "source_query": p.source_query,
        "merge_strategy": p.merge_strategy,
    }
    if p.merge_key is not None:
        module["merge_key"] = p.merge_key
    if p.watermark_column is not None:
        module["watermark_column"] = p.watermark_column
    head = f"# drafted by `pipekit propose` from {p.source}: {p.source_table}\n# {p.reason}\n"
    body = yaml.dump({"modules": {p.name: module}}, Dumper=_Dumper, sort_keys=False, width=10**6)
    return head + body


# -- helpers -----------------------------------------------------------------------


def table_ref(table: str, path: str = "table") -> TableRef:
    from pipekit.drivers.base import TableRef

    try:
        return TableRef.parse(table)
    except ConnectionSpecError as exc:
        raise with_path(exc, path) from None


def known_schema(d: Driver, schema: str, connection: str) -> None:
    """NotFoundError, with the closest schema, when the database has no `schema`."""
    known = d.list_schemas()
    if schema not in known:
        raise not_found(
            "schema", schema, known, f"see `pipekit browse {connection}` for its schemas"
        )


def no_table(d: Driver, ref: TableRef, connection: str) -> NotFoundError:
    from pipekit.services.lookup import suggestion

    try:
        near = suggestion(ref.name, d.list_tables(ref.schema))
    except PipekitError:
        near = ""
    where = f"{connection} {ref.schema}" if ref.schema else connection
    return NotFoundError(
        f"table {ref} does not exist on connection '{connection}'{near}; "
        f"see `pipekit browse {where}` for its tables"
    )


def proposal_view(p: Proposal, name: str, source: str, dest: str | None) -> ProposalView:
    return ProposalView(
        source_table=p.source_table,
        source_query=p.source_query,
        columns=[
            ProposedColumnView(
                source=c.source,
                dest=c.dest,
                type=c.type,
                dest_type=c.dest_type,
                nullable=c.nullable,
                primary_key=c.primary_key,
                trimmed=c.trimmed,
            )
            for c in p.columns
        ],
        merge_key=p.merge_key,
        watermark_column=p.watermark_column,
        merge_strategy=p.merge_strategy,  # type: ignore[arg-type]
        reason=p.reason,
        dest_table=p.dest_table,
        dest_ddl=p.dest_ddl,
        name=name,
        source=source,
        dest=dest,
    )
