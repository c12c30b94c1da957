"""Declared source types in the DDL, by the dialects alone (no database).

A source column's declared type rides in the Arrow field metadata
(``types.with_declared``); a destination of the same kind creates the column with it,
re-rendered by sqlglot so that no text from elsewhere reaches the DDL; another kind
uses the Arrow type, or a closer exact type it has, and says which columns land as
text. The end-to-end check of docs/drivers.md's table is
tests/engine/test_run_declared_types.py.
"""

from __future__ import annotations

import uuid

import pyarrow as pa
import pytest

from pipekit.drivers import connect
from pipekit.drivers import types as T
from pipekit.drivers.base import Driver
from pipekit.drivers.dialect import Dialect
from pipekit.drivers.duckdb_dialect import DuckDBDialect
from pipekit.drivers.mysql_dialect import MySQLDialect
from pipekit.drivers.postgresql_dialect import PostgresDialect
from pipekit.drivers.sqlite_dialect import SQLiteDialect
from tests.helpers import mysql_admin


def field(name: str, typ: pa.DataType, kind: str, declared: str) -> pa.Field:
    return T.with_declared(pa.schema([pa.field(name, typ)]), kind, [declared]).field(0)


@pytest.mark.parametrize(
    ("declared", "ddl"),
    [
        ("numeric", "DECIMAL"),
        ("numeric(10,2)", "DECIMAL(10, 2)"),
        ("varchar(5)", "VARCHAR(5)"),
        ("bpchar(3)", "BPCHAR(3)"),
        ("int4[]", "INT[]"),
        ("text[]", "TEXT[]"),
        ("interval", "INTERVAL"),
        ("jsonb", "JSONB"),
        ("timestamptz(3)", "TIMESTAMPTZ(3)"),
    ],
)
def test_postgresql_keeps_a_postgresql_columns_declared_type(declared: str, ddl: str) -> None:
    f = field("c", pa.string(), "postgresql", declared)
    sql = PostgresDialect().create_table_sql("t", pa.schema([f]))
    assert sql == f'CREATE TABLE "t" ("c" {ddl})'
    assert PostgresDialect().landing_warning(f) is None


@pytest.mark.parametrize(
    "declared",
    [
        'int); DROP TABLE "t"; --',  # not a type: never copied into the DDL
        "mood",  # user-defined (an enum): the destination may not have it
        "mood[]",
        "tsvector",  # built in, but its values do not pass through unread
    ],
)
def test_what_is_not_a_kept_type_lands_by_its_arrow_type(declared: str) -> None:
    f = field("c", pa.string(), "postgresql", declared)
    sql = PostgresDialect().create_table_sql("t", pa.schema([f]))
    assert sql == 'CREATE TABLE "t" ("c" text)'
    assert PostgresDialect().landing_warning(f) == (
        f"column c: postgresql {declared} has no exact type in postgresql; landed as text"
    )


def test_another_kinds_declared_type_is_not_copied() -> None:
    f = field("c", pa.decimal128(10, 2), "duckdb", "DECIMAL(10,2)")
    assert PostgresDialect().column_ddl(f) == "numeric(10,2)"
    assert MySQLDialect().column_ddl(f) == "DECIMAL(10,2)"


@pytest.mark.parametrize(
    ("dest", "declared", "ddl", "warning"),
    [
        (DuckDBDialect(), "numeric", "VARCHAR", "landed as VARCHAR"),
        (MySQLDialect(), "numeric", "LONGTEXT", "landed as LONGTEXT"),
        (SQLiteDialect(), "int4[]", "TEXT", "landed as TEXT"),
        (DuckDBDialect(), "varchar(5)", "VARCHAR", None),  # text to text loses nothing
        (DuckDBDialect(), "interval", "INTERVAL", None),  # an exact type DuckDB has
        (MySQLDialect(), "interval", "LONGTEXT", "landed as LONGTEXT"),
    ],
)
def test_across_kinds_a_column_without_an_exact_type_is_named(
    dest: Dialect, declared: str, ddl: str, warning: str | None
) -> None:
    f = field("amount", pa.string(), "postgresql", declared)
    assert dest.column_ddl(f) == ddl
    said = dest.landing_warning(f)
    if warning is None:
        assert said is None
    else:
        assert said == (
            f"column amount: postgresql {declared} has no exact type in {dest.kind}; {warning}"
        )


def test_mysql_key_column_of_a_text_type_gets_an_indexable_one() -> None:
    key = field("k", pa.string(), "mysql", "longtext")
    other = field("v", pa.string(), "mysql", "enum('a','it''s')")
    sql = MySQLDialect().create_table_sql("t", pa.schema([key, other]), ["k"])
    assert "`k` VARCHAR(255) NOT NULL" in sql
    assert "`v` ENUM('a', 'it''s')" in sql


@pytest.mark.parametrize(
    ("declared", "ddl"),
    [
        ("VARCHAR(20)", "VARCHAR(20)"),
        ("NUMERIC(10, 2)", "NUMERIC(10, 2)"),
        ("UNSIGNED BIG INT", "UNSIGNED BIG INT"),
        ("INT); DROP TABLE t; --", "TEXT"),  # not a plain name: the Arrow type's
    ],
)
def test_sqlite_keeps_a_plain_declared_name_verbatim(declared: str, ddl: str) -> None:
    f = field("c", pa.string(), "sqlite", declared)
    assert SQLiteDialect().create_table_sql("t", pa.schema([f])) == f'CREATE TABLE "t" ("c" {ddl})'


def test_added_columns_use_the_declared_type_too() -> None:
    f = field("c", pa.string(), "postgresql", "numeric")
    assert PostgresDialect().add_column_sql("t", "c", f) == 'ALTER TABLE "t" ADD COLUMN "c" DECIMAL'
    assert PostgresDialect().add_column_sql("t", "c", pa.string()) == (
        'ALTER TABLE "t" ADD COLUMN "c" text'
    )


def test_declared_types_that_do_not_fit_the_schema_are_ignored() -> None:
    schema = pa.schema([pa.field("a", pa.string()), pa.field("b", pa.int32())])
    assert T.with_declared(schema, "postgresql", ["numeric"]) is schema
    assert T.with_declared(schema, "postgresql", None) is schema
    marked = T.with_declared(schema, "postgresql", ["numeric", None])
    assert T.declared_of(marked.field("a")) == ("postgresql", "numeric")
    assert T.declared_of(marked.field("b")) is None


def test_intervals_travel_as_text_both_postgresql_and_duckdb_read() -> None:
    values = pa.array(
        [pa.MonthDayNano([14, -2, 7_384_500_000_000]), None], pa.month_day_nano_interval()
    )
    assert T.normalize_type(values.type) == pa.string()
    assert T.cast_array(values, pa.string()).to_pylist() == [
        "14 months -2 days 7384.5 seconds",
        None,
    ]


# -- what each client says a query's columns are -----------------------------------------

DECLARED_QUERIES = {
    "postgresql": (
        "SELECT 1.5 AS a, 1.5::numeric(10,2) AS b, 'x'::varchar(5) AS c, "
        "ARRAY[1] AS d, now()::timestamptz(3) AS e",
        ["numeric", "numeric(10,2)", "varchar(5)", "int4[]", "timestamptz(3)"],
    ),
    "duckdb": (
        "SELECT 1.5::DECIMAL(18,3) AS a, [1] AS b, {'x': 1} AS c, INTERVAL 1 DAY AS d",
        ["DECIMAL(18,3)", "INTEGER[]", "STRUCT(x INTEGER)", "INTERVAL"],
    ),
}


@pytest.mark.parametrize("kind", sorted(DECLARED_QUERIES))
def test_clients_name_the_declared_types(kind: str, drivers: dict[str, Driver]) -> None:
    sql, expected = DECLARED_QUERIES[kind]
    assert drivers[kind].declared_types(sql) == expected


def test_postgresql_names_without_typmods_need_no_second_session(
    drivers: dict[str, Driver],
) -> None:
    sql = DECLARED_QUERIES["postgresql"][0]
    assert drivers["postgresql"].declared_types(sql, full=False) == [
        "numeric",
        "numeric(10,2)",
        "varchar",
        "int4[]",
        "timestamptz",
    ]


def test_sqlite_names_declared_columns_and_not_expressions(drivers: dict[str, Driver]) -> None:
    d = drivers["sqlite"]
    d.execute("DROP TABLE IF EXISTS decl")
    d.execute("CREATE TABLE decl (a VARCHAR(20), b NUMERIC(10,2))")
    assert d.declared_types("SELECT a, b, a || 'x' AS c FROM decl") == [
        "VARCHAR(20)",
        "NUMERIC(10,2)",
        None,
    ]


def test_mariadb_names_enum_values_and_falls_back_without_temporary_tables(
    drivers: dict[str, Driver], driver_urls: dict[str, str]
) -> None:
    d = drivers["mysql"]
    d.execute("DROP TABLE IF EXISTS decl")
    d.execute("CREATE TABLE decl (a ENUM('x','it''s'), b INT UNSIGNED, c VARCHAR(5))")
    assert d.declared_types("SELECT a, b, c FROM decl") == [
        "enum('x','it''s')",
        "int(10) unsigned",
        "varchar(5)",
    ]
    # a user who may read but not create temporary tables: no declared types, no error
    user = f"pk_ro_{uuid.uuid4().hex[:8]}"
    database = d.url.database
    admin = mysql_admin()
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'")
            cur.execute(f"GRANT SELECT ON `{database}`.* TO '{user}'@'%'")
        url = driver_urls["mysql"]
        with connect(url, user=user, password="pw") as ro:
            assert ro.declared_types("SELECT a, b, c FROM decl") is None
            assert ro.query("SELECT COUNT(*) FROM decl") == [(0,)]
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
        admin.close()
