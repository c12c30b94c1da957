"""The golden SQL cases: input module descriptions and how each renders to text.

Each case describes a module (strategy, merge key, flags) and the destination's
state as plain values, plans it with ``plan_merge``/``plan_swap`` and a dialect
alone (no connection), and renders the plan as the statements a run executes.
``test_golden_sql.py`` compares the text to ``golden/<kind>/<case>.sql``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from pipekit.drivers import types as T
from pipekit.drivers.dialect import Dialect
from pipekit.drivers.tables import Column, ColumnDetails, SwapInfo, TableRef
from pipekit.engine.merge import (
    LOADED_AT,
    RUN_ID,
    AuditColumn,
    MergePlan,
    declares_key,
    plan_merge,
    plan_swap,
)
from pipekit.engine.watermarks import render_literal

RUN = 42
ORDERS = TableRef("orders", "sales")
LOADED = dt.datetime(2024, 3, 1, 12, 30, 0, 123456, tzinfo=dt.UTC)

#: a source query's columns, one of each kind of type
SOURCE = pa.schema(
    [
        pa.field("id", pa.int64()),
        pa.field("name", pa.string()),
        pa.field("amount", pa.decimal128(18, 2)),
        pa.field("ratio", pa.float64()),
        pa.field("active", pa.bool_()),
        pa.field("born", pa.date32()),
        pa.field("updated_at", pa.timestamp("us", tz="UTC")),
        pa.field("seen_at", pa.timestamp("us")),
        pa.field("ref", T.UUID),
        pa.field("doc", T.JSON),
        pa.field("blob", pa.binary()),
    ]
)
#: odd names: quotes, spaces, mixed case, a reserved word; a two-column key
ODD_SOURCE = pa.schema(
    [
        pa.field("Order ID", pa.int32()),
        pa.field('line"no', pa.int16()),
        pa.field("select", pa.string()),
        pa.field("it's", pa.decimal256(40, 4)),
    ]
)


@dataclass(frozen=True)
class Module:
    """What the golden cases vary: the module's settings and the destination's state."""

    strategy: str
    keys: list[str] = field(default_factory=lambda: ["id"])
    full_refresh: bool = False
    key_sync: bool = False
    supports_deletes: bool = True
    audit: bool = False
    #: the audit columns' names (audit_loaded_at_column, audit_run_id_column)
    audit_names: tuple[str, str] = (LOADED_AT, RUN_ID)
    #: a record-source audit column (audit_source_column) and its value
    audit_source: tuple[str, str] | None = None
    source: pa.Schema = SOURCE
    #: the destination table exists with these columns (None: a first load)
    existing: list[str] | None = field(default_factory=lambda: list(SOURCE.names))
    #: the existing table's primary key
    primary_key: list[str] = field(default_factory=lambda: ["id"])
    table: TableRef = ORDERS
    #: plan a swap (dialects with ``swap_full_refresh``)
    swap: bool = False


def _existing(dialect: Dialect, m: Module) -> list[Column] | None:
    if m.existing is None:
        return None
    audit = [pa.field(a.name, a.type) for a in _audit(dialect, m) or ()]
    types = {f.name: f.type for f in [*m.source, *audit]}
    return [
        Column(
            n,
            dialect.ddl_type(types[n]),
            n not in m.primary_key,
            n in m.primary_key,
            types[n],
        )
        for n in m.existing
    ]


def _audit(dialect: Dialect, m: Module) -> list[AuditColumn] | None:
    if not m.audit:
        return None
    loaded = pa.scalar(LOADED, pa.timestamp("us", tz="UTC"))
    loaded_at, run_id = m.audit_names
    columns = [
        AuditColumn(
            loaded_at,
            render_literal(loaded, dialect),  # type: ignore[arg-type]
            pa.timestamp("us", tz="UTC"),
            "audit_loaded_at_column",
        ),
        AuditColumn(run_id, dialect.literal(RUN), pa.int64(), "audit_run_id_column"),
    ]
    if m.audit_source is not None:
        name, value = m.audit_source
        literal = dialect.literal(value)
        columns.append(AuditColumn(name, literal, pa.string(), "audit_source_column"))
    return columns


def plan(dialect: Dialect, m: Module) -> MergePlan:
    """Plan `m` as the run would, with the dialect alone."""
    staged = dialect.staging_table(m.table.name, "pipekit_staging", m.table)
    existing = _existing(dialect, m)
    if m.swap:
        info = SwapInfo(
            [],
            primary_key=m.primary_key if existing is not None else [],
            primary_key_name=f"{m.table.name}_pkey",
            grants=['GRANT SELECT ON {table} TO "reporting"'],
            comment="Orders, refreshed nightly",
            columns=[
                ColumnDetails("id", nullable=False),
                ColumnDetails("name", default="'n/a'", comment="who ordered"),
            ],
        )
        return plan_swap(
            dialect,
            table=m.table,
            shadow=dialect.swap_table(staged, m.table),
            source_schema=m.source,
            existing=existing,
            strategy=m.strategy,
            keys=m.keys,
            full_refresh=m.full_refresh,
            audit=_audit(dialect, m),
            info=info,
            tag=f"pipekit_swap_{RUN}",
        )
    key_table = dialect.staging_table(f"{m.table.name}__keys", "pipekit_staging", m.table)
    return plan_merge(
        dialect,
        table=m.table,
        staged=staged,
        key_table=key_table if m.key_sync else None,
        source_schema=m.source,
        existing=existing,
        strategy=m.strategy,
        keys=m.keys,
        full_refresh=m.full_refresh,
        supports_deletes=m.supports_deletes,
        audit=_audit(dialect, m),
    )


def render_plan(dialect: Dialect, m: Module) -> str:
    """The plan as the statements the run executes, each under a comment saying what."""
    p = plan(dialect, m)
    out = [f"-- strategy: {p.strategy}"]
    out += [f"-- note: {n}" for n in p.notes]
    out += [f"-- schema change: {c}" for c in p.schema_changes]
    steps = [
        *(("ddl", s) for s in p.ddl),
        *(("prepare", s) for s in p.prepare),
        *(("finish", s) for s in p.finish),
        *p.statements,
    ]
    for what, sql in steps:
        out += [f"-- {what}", f"{sql};"]
    return "\n".join(out)


def render_staging(dialect: Dialect) -> str:
    """What the run says around the merge: staging DDL, the duplicate check, the count."""
    dest = TableRef("orders", "sales")
    staged = dialect.staging_table("orders", "pipekit_staging", dest)
    steps = [
        ("staging table", dialect.staging_table("orders", "pipekit_staging", dest)),
        ("key table", dialect.staging_table("orders__keys", "pipekit_staging", dest)),
        ("swap table", dialect.swap_table(staged, dest)),
    ]
    out = [f"-- {what}: {dialect.table_sql(t)}" for what, t in steps]
    pk = ["id"] if declares_key(dialect, "incremental") else []
    statements = [
        ("create schema", dialect.create_schema_sql("pipekit_staging")),
        ("create staging", dialect.create_table_sql(staged, SOURCE, staging=True)),
        ("create if missing", dialect.create_table_sql(dest, SOURCE, pk, if_not_exists=True)),
        ("odd names", dialect.create_table_sql(TableRef('we"ird', "My Schema"), ODD_SOURCE)),
        ("duplicate keys", dialect.duplicate_keys_sql(staged, ["id", "name"])),
        ("count", dialect.count_sql(dest)),
        ("lock", dialect.lock_sql(dest)),
        ("drop staging", dialect.drop_table_sql(staged)),
    ]
    for what, sql in statements:
        out += [f"-- {what}", f"{sql};" if sql is not None else "-- (none)"]
    return "\n".join(out)


def _literals(dialect: Dialect) -> list[tuple[str, str]]:
    """(what, literal) for the values a module's SQL compares with."""
    aware = dt.datetime(2024, 3, 1, 14, 30, 5, 120000, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    naive = dt.datetime(2024, 3, 1, 12, 30, 5, 120000)
    py: list[tuple[str, object, pa.DataType | None]] = [
        ("int", 42, None),
        ("negative int", -7, None),
        ("int64 max", 2**63 - 1, None),
        ("decimal", decimal.Decimal("12345.6789"), None),
        ("small decimal", decimal.Decimal("-0.001"), None),
        ("float", 1.5, None),
        ("bool", True, None),
        ("null", None, None),
        ("text", "plain", None),
        ("text with quotes", 'O\'Brien said "hi"', None),
        ("text with backslash", "C:\\temp\\new", None),
        ("date", dt.date(2024, 1, 31), None),
        ("time", dt.time(23, 59, 59, 500000), None),
        ("timestamp", naive, None),
        ("timestamp with zone (+02:00)", aware, None),
        ("uuid", uuid.UUID("12345678-1234-5678-1234-567812345678"), None),
        ("bytes", b"\x00\xffab", None),
        ("text as timestamp column", "2024-03-01 12:30:05", pa.timestamp("us")),
        ("text as date column", "2024-01-31", pa.date32()),
    ]
    found = [(what, dialect.literal(v, t)) for what, v, t in py]
    scalars: list[tuple[str, pa.Scalar, str | None]] = [
        ("int64", pa.scalar(1234567890123, pa.int64()), ">"),
        ("decimal(18,2)", pa.scalar(decimal.Decimal("99.95"), pa.decimal128(18, 2)), ">"),
        ("double", pa.scalar(0.1, pa.float64()), ">"),
        ("date", pa.scalar(dt.date(2024, 1, 31), pa.date32()), ">="),
        ("timestamp >", pa.scalar(naive, pa.timestamp("us")), ">"),
        ("timestamp >=", pa.scalar(naive, pa.timestamp("us")), ">="),
        ("timestamp with zone", pa.scalar(aware, pa.timestamp("us", tz="UTC")), ">"),
        ("text", pa.scalar("O'Brien", pa.string()), ">"),
        ("null", pa.scalar(None, pa.int64()), ">"),
    ]
    found += [
        (f"watermark {what}", render_literal(v, dialect, op))  # type: ignore[arg-type]
        for what, v, op in scalars
    ]
    return found


def render_literals(dialect: Dialect) -> str:
    """Every literal form: Python values, and watermark values as the WHERE writes them."""
    return "\n".join(f"-- {what}\nSELECT {sql};" for what, sql in _literals(dialect))


def render_types(dialect: Dialect) -> str:
    """The DDL type of each Arrow type, and what a database type name reads back as."""
    types = [
        pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint64(), pa.float32(), pa.float64(),
        pa.decimal128(18, 2), pa.decimal128(38, 10), pa.decimal256(70, 40), pa.string(),
        pa.bool_(), pa.date32(), pa.time64("us"), pa.timestamp("us"), pa.timestamp("ns"),
        pa.timestamp("us", tz="UTC"), pa.binary(), T.UUID, T.JSON, pa.list_(pa.int32()),
    ]  # fmt: skip
    out = [f"-- {t}: {dialect.ddl_type(t)} (key: {dialect.ddl_type(t, key=True)})" for t in types]
    out += [
        f"-- read {name}: {dialect.arrow_type(name)}"
        for name in ("bigint", "numeric(20,4)", "varchar(10)", "timestamp", "double precision")
    ]
    return "\n".join(out)


#: case name -> the module it plans (every dialect renders every case)
PLANS: dict[str, Module] = {
    "first_load": Module("incremental", existing=None),
    "first_load_append": Module("append", existing=None, keys=[]),
    "full": Module("full", keys=[]),
    "full_refresh_of_incremental": Module("incremental", full_refresh=True),
    "incremental": Module("incremental"),
    "incremental_unkeyed_table": Module("incremental", primary_key=[]),
    "append": Module("append", keys=[], primary_key=[]),
    "upsert": Module("upsert"),
    "key_sync_incremental": Module("incremental", key_sync=True),
    "key_sync_upsert": Module("upsert", key_sync=True),
    "insert_only": Module("incremental", supports_deletes=False),
    "insert_only_upsert": Module("upsert", supports_deletes=False),
    "add_column": Module("incremental", existing=["id", "name", "amount"]),
    "audit_columns": Module("incremental", audit=True),
    "audit_columns_named": Module(
        "incremental",
        audit=True,
        audit_names=("dss_load_date", "dss_run_id"),
        audit_source=("dss_record_source", "landing/orders"),
    ),
    "odd_names": Module(
        "upsert",
        keys=["Order ID", 'line"no'],
        source=ODD_SOURCE,
        existing=list(ODD_SOURCE.names),
        primary_key=["Order ID", 'line"no'],
        table=TableRef("it's", "My Schema"),
    ),
}
#: swap cases, for the dialects that swap tables
SWAPS: dict[str, Module] = {
    "swap_full": Module("full", swap=True),
    "swap_first_load": Module("incremental", existing=None, swap=True),
    "swap_audit_add_column": Module(
        "full", existing=["id", "name", "amount"], audit=True, swap=True
    ),
    "swap_audit_named_first_load": Module(
        "full",
        existing=None,
        audit=True,
        audit_names=("dss_load_date", "dss_run_id"),
        audit_source=("dss_record_source", "it's/orders"),
        swap=True,
    ),
}
#: other files: name -> renderer
OTHERS: dict[str, Callable[[Dialect], str]] = {
    "staging": render_staging,
    "literals": render_literals,
    "types": render_types,
}


def cases(dialect: Dialect) -> dict[str, Callable[[], str]]:
    """Every golden case of `dialect`: file name (without .sql) -> its renderer."""
    found: dict[str, Callable[[], str]] = {}
    plans = {**PLANS, **(SWAPS if dialect.swap_full_refresh else {})}
    for name, m in plans.items():
        found[name] = lambda m=m: render_plan(dialect, m)  # type: ignore[misc]
    for name, render in OTHERS.items():
        found[name] = lambda render=render: render(dialect)  # type: ignore[misc]
    return found


# -- the catalog queries `pipekit browse` and `propose` run, and the limit and trim
# forms, for the dialects that have them (JDBC profiles, SQL Server)

#: a table of the seed documents' DB2 for i users: a library, a name with '#'
SEED_TABLE = TableRef("QCRH", "LGDAT")


def _catalog(dialect: Dialect) -> str:
    d: Any = dialect
    lines = []
    for label, render in (
        ("schemas", lambda: d.schemas_sql()),
        ("tables", lambda: d.tables_sql("LGDAT")),
        ("columns", lambda: d.columns_sql(SEED_TABLE)),
        ("row estimates", lambda: d.estimates_sql("LGDAT")),
    ):
        sql = render()
        lines.append(f"-- {label}")
        lines.append(f"{sql};" if sql else "-- (JDBC DatabaseMetaData)")
    return "\n".join(lines)


def _reading(dialect: Dialect) -> str:
    d: Any = dialect
    col = dialect.quote("DCORD#")
    trimmed = d.rtrim_sql(col) if hasattr(d, "rtrim_sql") else f"RTRIM({col})"
    watermark = dt.datetime(2024, 3, 1, 12, 30, 0, 123456)
    return "\n".join(
        [
            "-- the first rows of a query",
            d.limit_sql(f"SELECT * FROM {dialect.table_sql(SEED_TABLE)}", 10) + ";",
            "-- fixed-width text, trimmed",
            f"SELECT {trimmed} FROM {dialect.table_sql(SEED_TABLE)};",
            "-- a watermark on a timestamp and on a fixed-width text column",
            f"SELECT * FROM {dialect.table_sql(SEED_TABLE)} WHERE {dialect.quote('DCTS')} > "
            f"{dialect.literal(watermark, pa.timestamp('us'))} AND {col} > "
            f"{dialect.literal('A1        ', pa.string())};",
            "-- names with #, @ and $",
            ", ".join(dialect.quote(n) for n in ("DCORD#", "@ADDR", "AMT$", "dcord#")) + ";",
        ]
    )


def _linked(dialect: Dialect) -> str:
    d: Any = dialect
    return "\n".join(
        [
            "-- linked servers and databases",
            d.linked_servers_sql() + ";",
            d.databases_sql() + ";",
            d.databases_sql(server="ERP1") + ";",
            "-- four-part and three-part names",
            d.four_part_sql("QCRH", "dbo", "erp", "ERP1") + ";",
            d.four_part_sql("QCRH", None, "erp") + ";",
            "-- the catalog of a table on a linked server",
            d.columns_sql(TableRef("orders", "dbo"), "erp", "ERP1") + ";",
        ]
    )


def catalog_cases(dialect: Dialect) -> dict[str, Callable[[], str]]:
    """The catalog and reading cases of `dialect`, where it has catalog queries."""
    if not hasattr(dialect, "schemas_sql"):
        return {}
    found: dict[str, Callable[[], str]] = {
        "catalog": lambda: _catalog(dialect),
        "reading": lambda: _reading(dialect),
    }
    if hasattr(dialect, "linked_servers_sql"):
        found["linked_servers"] = lambda: _linked(dialect)
    return found
