"""Auto-propose: a module definition drafted from one source table's introspection.

Given a table, ``propose_module`` writes the SELECT a module would use (every
column, quoted the source's way, fixed-width CHAR columns wrapped in RTRIM, a
column the dialect reads better another way so (``read_column_sql``: MariaDB
FLOAT as DOUBLE), each aliased to a safe destination name), and suggests the merge key (the primary
key), a watermark column (a timestamp/date column named like a change time) and
the merge strategy that fits them. With a destination driver it also renders
the CREATE TABLE the first run would issue there; without one, the destination
types are given as Arrow type keys only (``columns[].dest_type``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from pipekit.connectors.names import slug, unique_slugs
from pipekit.drivers import types as T
from pipekit.drivers.base import Driver, TableRef
from pipekit.engine.merge import declares_key
from pipekit.errors import NotFoundError

#: fixed-width text: values come padded with blanks, so the query trims them
_FIXED_TEXT = {exp.DataType.Type.CHAR, exp.DataType.Type.NCHAR, exp.DataType.Type.BPCHAR}
#: a column named like this, of a timestamp or date type, records when a row changed
_CHANGE_TIME = re.compile(
    r"updated|modified|changed|last_?upd|last_?mod|last_?change|upd_?(?:ts|dt|date|time)"
    r"|mod_?(?:ts|dt|date|time)|chg_?(?:ts|dt|date|time)|row_?ts"
)


@dataclass(frozen=True)
class ProposedColumn:
    source: str  # the column's name in the source, unquoted
    dest: str  # its destination name (the alias)
    type: str  # the source's type name
    dest_type: str  # the Arrow type key it travels as (pipekit.drivers.types.type_key)
    nullable: bool
    primary_key: bool
    trimmed: bool  # read through RTRIM (fixed-width CHAR)


@dataclass(frozen=True)
class Proposal:
    source_table: str
    source_query: str
    columns: list[ProposedColumn]
    merge_key: str | None
    watermark_column: str | None
    merge_strategy: str
    reason: str
    dest_table: str
    dest_ddl: str | None = None  # only when a destination driver was given

    def module_spec(self) -> dict[str, Any]:
        """The fields a module definition takes from this proposal."""
        return {
            "dest_table": self.dest_table,
            "source_query": self.source_query,
            "merge_strategy": self.merge_strategy,
            "merge_key": self.merge_key,
            "watermark_column": self.watermark_column,
        }


def safe_name(name: str) -> str:
    """`name` as a plain lowercase identifier: ``DCORD#`` -> ``dcord``,
    ``Company Name`` -> ``company_name``, ``2nd qty`` -> ``c_2nd_qty`` (the one slug
    function every source's column names go through: ``connectors/names.py``)."""
    return slug(name)


def _unique(names: list[str]) -> list[str]:
    return unique_slugs(names)


def _is_fixed_text(type_name: str, dialect: str) -> bool:
    try:
        dt = exp.DataType.build(type_name, dialect=dialect, udt=True)
    except (ParseError, ValueError):
        return False
    return dt.this in _FIXED_TEXT


def _alias(driver: Driver, dest: str) -> str:
    """The alias as written in the query: bare, unless the dialect reserves the word or
    would store it in upper case (DB2, Derby, Oracle)."""
    if driver.dialect.folds_to_upper:
        return driver.quote(dest)
    if exp.to_identifier(dest).sql(dialect=driver.dialect.sqlglot) != dest:
        return driver.quote(dest)  # a reserved word there (MariaDB: `order`)
    try:
        select = sqlglot.parse_one(f"SELECT 1 AS {dest}", read=driver.dialect.sqlglot)
        if isinstance(select, exp.Select) and select.selects[0].alias == dest:
            return dest
    except ParseError:
        pass
    return driver.quote(dest)


def _watermark(columns: list[ProposedColumn], arrow: dict[str, pa.DataType]) -> str | None:
    """The change-time column: timestamps before dates, in table order."""
    found = [
        c
        for c in columns
        if _CHANGE_TIME.search(c.source.lower())
        and (pa.types.is_timestamp(arrow[c.dest]) or pa.types.is_date(arrow[c.dest]))
    ]
    found.sort(key=lambda c: 0 if pa.types.is_timestamp(arrow[c.dest]) else 1)
    return found[0].dest if found else None


def propose_module(
    driver: Driver,
    table: str | TableRef,
    *,
    dest_table: str | None = None,
    dest: Driver | None = None,
) -> Proposal:
    """A module drafted from `table` on `driver`'s database.

    `dest_table` defaults to ``sync.<table name slug>``. `dest`, when given, is the
    destination's driver: only its DDL rendering is used (no statement runs), to
    fill ``dest_ddl`` with the CREATE TABLE the first run would issue.
    """
    ref = TableRef.parse(table)
    found = driver.list_columns(ref)
    if not found:
        raise NotFoundError(f"table {ref} does not exist on {driver.kind} at {driver.where()}")
    dests = _unique([safe_name(c.name) for c in found])
    columns: list[ProposedColumn] = []
    projections: list[str] = []
    arrow: dict[str, pa.DataType] = {}
    for c, name in zip(found, dests, strict=True):
        trimmed = _is_fixed_text(c.type, driver.dialect.sqlglot)
        special = None if trimmed else driver.dialect.read_column_sql(c.name, c.type)
        if trimmed:
            expr, arrow[name] = f"RTRIM({driver.quote(c.name)})", pa.string()
        elif special is not None:
            expr, arrow[name] = special
        else:
            expr, arrow[name] = driver.quote(c.name), c.arrow_type
        projections.append(f"{expr} AS {_alias(driver, name)}")
        columns.append(
            ProposedColumn(
                source=c.name,
                dest=name,
                type=c.type,
                dest_type=T.type_key(arrow[name]),
                nullable=c.nullable,
                primary_key=c.primary_key,
                trimmed=trimmed,
            )
        )
    query = f"SELECT {', '.join(projections)} FROM {driver.table_sql(ref)}"

    keys = [c.dest for c in columns if c.primary_key]
    merge_key = ", ".join(keys) or None
    watermark = _watermark(columns, arrow)
    if keys and watermark:
        strategy = "incremental"
        reason = (
            f"primary key ({merge_key}) and change-time column {watermark}: read only rows "
            f"changed since the last run, replace them by key"
        )
    elif keys:
        strategy = "upsert"
        reason = (
            f"primary key ({merge_key}) but no change-time column: read every row, "
            "update existing rows by key"
        )
    else:
        strategy = "full"
        reason = "no primary key: nothing identifies a row, so every run replaces the table"
        watermark = None

    target = dest_table or f"sync.{safe_name(ref.name)}"
    ddl = None
    if dest is not None:
        schema = pa.schema([pa.field(c.dest, arrow[c.dest], c.nullable) for c in columns])
        # as the first run will create it (DuckDB: without the key, docs/drivers.md)
        ddl = dest.create_table_sql(target, schema, keys if declares_key(dest, strategy) else [])
    return Proposal(
        source_table=str(ref),
        source_query=query,
        columns=columns,
        merge_key=merge_key,
        watermark_column=watermark,
        merge_strategy=strategy,
        reason=reason,
        dest_table=target,
        dest_ddl=ddl,
    )
