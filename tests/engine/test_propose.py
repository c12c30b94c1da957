"""Auto-propose against real PostgreSQL and MariaDB tables: quoting, safe aliases, RTRIM
on CHAR, merge key, watermark and strategy; the query runs and passes the validator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from pipekit.drivers import connect
from pipekit.drivers.base import Driver
from pipekit.engine.columns import parse_columns
from pipekit.engine.propose import propose_module, safe_name
from pipekit.engine.validate import module_problems
from pipekit.errors import NotFoundError

DEST = ["dcord", "line_no", "dcotyp", "company_name", "amt", "c_2nd_qty", "order", "updated_at"]


def _setup_pg(d: Driver) -> str:
    d.execute('CREATE SCHEMA "LGDAT"')
    d.execute(
        'CREATE TABLE "LGDAT"."QCRH" ("DCORD#" int, "LINE@NO" int, "DCOTYP" char(4), '
        '"Company Name" varchar(40), "AMT$" numeric(10,2), "2nd qty" int, "Order" int, '
        '"UPDATED_AT" timestamp, PRIMARY KEY ("DCORD#", "LINE@NO"))'
    )
    d.execute(
        """INSERT INTO "LGDAT"."QCRH" VALUES (7, 1, 'AB', 'Acme Co', 12.50, 3, 9, """
        "'2026-01-02 03:04:05')"
    )
    d.execute('CREATE TABLE "LGDAT"."NOKEY" ("A B" text, "a_b" text, "Created" date)')
    return "LGDAT"


def _setup_mysql(d: Driver) -> str | None:
    d.execute(
        "CREATE TABLE `QCRH` (`DCORD#` int, `LINE@NO` int, `DCOTYP` char(4), "
        "`Company Name` varchar(40), `AMT$` decimal(10,2), `2nd qty` int, `Order` int, "
        "`UPDATED_AT` datetime, PRIMARY KEY (`DCORD#`, `LINE@NO`))"
    )
    d.execute(
        "INSERT INTO `QCRH` VALUES (7, 1, 'AB', 'Acme Co', 12.50, 3, 9, '2026-01-02 03:04:05')"
    )
    d.execute("CREATE TABLE `NOKEY` (`A B` text, `a_b` text, `Created` date)")
    return None


@pytest.fixture(scope="module", params=["postgresql", "mysql"])
def source(request, pg_url: str, mysql_url: str) -> Iterator[tuple[Driver, str | None]]:
    url = pg_url if request.param == "postgresql" else mysql_url
    d = connect(url)
    try:
        schema = _setup_pg(d) if request.param == "postgresql" else _setup_mysql(d)
        yield d, schema
    finally:
        d.close()


def _table(schema: str | None, name: str) -> str:
    return f"{schema}.{name}" if schema else name


def _valid(driver: Driver, proposal) -> list:
    spec = {**proposal.module_spec(), "source": "src", "dest": "dw"}
    return module_problems(spec, source_dialect=driver.dialect.sqlglot, connections=["src", "dw"])


def test_safe_name() -> None:
    assert safe_name("DCORD#") == "dcord"
    assert safe_name("Company  Name") == "company_name"
    assert safe_name("AMT$") == "amt"
    assert safe_name("2nd qty") == "c_2nd_qty"
    assert safe_name("###") == "col"


def test_keyed_table_with_change_time_is_incremental(source) -> None:
    driver, schema = source
    p = propose_module(driver, _table(schema, "QCRH"))
    assert [c.dest for c in p.columns] == DEST
    assert [c.source for c in p.columns][:2] == ["DCORD#", "LINE@NO"]
    assert [c.dest for c in p.columns if c.trimmed] == ["dcotyp"]
    q = driver.quote
    assert f"{q('DCORD#')} AS dcord" in p.source_query
    assert f"RTRIM({q('DCOTYP')}) AS dcotyp" in p.source_query
    assert f"{q('Company Name')} AS company_name" in p.source_query
    assert p.source_query.endswith(f"FROM {driver.table_sql(_table(schema, 'QCRH'))}")
    assert p.merge_key == "dcord, line_no"
    assert p.watermark_column == "updated_at"
    assert p.merge_strategy == "incremental" and "updated_at" in p.reason
    assert p.dest_table == "sync.qcrh"
    assert p.dest_ddl is None
    types = {c.dest: c.dest_type for c in p.columns}
    assert types["dcord"] == "int32" and types["amt"] == "decimal"
    assert types["updated_at"] == "timestamp" and types["dcotyp"] == "string"

    cmap = parse_columns(p.source_query, driver.dialect.sqlglot)
    assert cmap.names() == DEST
    assert cmap.get("dcotyp").trimmed and cmap.get("dcord").where == q("DCORD#")
    assert _valid(driver, p) == []

    table = driver.read(p.source_query).read_all()
    assert table.schema.names == DEST
    row = table.to_pylist()[0]
    assert row["dcord"] == 7 and row["dcotyp"] == "AB" and row["company_name"] == "Acme Co"
    assert row["updated_at"] == dt.datetime(2026, 1, 2, 3, 4, 5)


def test_key_without_change_time_is_upsert(source) -> None:
    driver, schema = source
    driver.execute(f"CREATE TABLE {driver.table_sql(_table(schema, 'items'))} (id int PRIMARY KEY)")
    p = propose_module(driver, _table(schema, "items"), dest_table="dw.items")
    assert (p.merge_strategy, p.merge_key, p.watermark_column) == ("upsert", "id", None)
    assert p.dest_table == "dw.items"
    assert _valid(driver, p) == []


def test_no_primary_key_is_full(source) -> None:
    driver, schema = source
    p = propose_module(driver, _table(schema, "NOKEY"))
    assert [c.dest for c in p.columns] == ["a_b", "a_b_2", "created"]
    assert (p.merge_strategy, p.merge_key, p.watermark_column) == ("full", None, None)
    assert "no primary key" in p.reason
    assert _valid(driver, p) == []
    assert driver.read(p.source_query).read_all().schema.names == ["a_b", "a_b_2", "created"]


def test_dest_ddl_with_a_destination_driver(source, pg_url: str) -> None:
    driver, schema = source
    with connect(pg_url) as dest:
        p = propose_module(driver, _table(schema, "QCRH"), dest_table="public.qcrh_copy", dest=dest)
        assert p.dest_ddl.startswith('CREATE TABLE "public"."qcrh_copy" (')
        assert 'PRIMARY KEY ("dcord", "line_no")' in p.dest_ddl
        dest.execute(f"DROP TABLE IF EXISTS {dest.table_sql('public.qcrh_copy')}")
        dest.execute(p.dest_ddl)
        assert [c.name for c in dest.list_columns("public.qcrh_copy")] == DEST
        dest.load("public.qcrh_copy", driver.read(p.source_query))
        assert dest.query("SELECT dcotyp FROM public.qcrh_copy") == [("AB",)]


def test_dest_ddl_for_duckdb_has_no_primary_key(source, tmp_path) -> None:
    """As the first run creates it there: DuckDB's key index must fit in memory."""
    driver, schema = source
    with connect(f"duckdb:///{tmp_path / 'w.duckdb'}?create=true") as dest:
        p = propose_module(driver, _table(schema, "QCRH"), dest_table="main.qcrh", dest=dest)
        assert p.merge_key == "dcord, line_no"
        assert p.dest_ddl.startswith('CREATE TABLE "main"."qcrh" (')
        assert "PRIMARY KEY" not in p.dest_ddl


def test_unknown_table(source) -> None:
    driver, schema = source
    with pytest.raises(NotFoundError, match="nope"):
        propose_module(driver, _table(schema, "nope"))


def test_mariadb_float_is_read_as_double(mysql_url: str) -> None:
    """FLOAT reads through MariaDB's text protocol with 6 digits: propose casts it."""
    d = connect(mysql_url)
    try:
        d.execute("CREATE TABLE `FLT` (`id` int PRIMARY KEY, `f` FLOAT, `d` DOUBLE)")
        d.execute("INSERT INTO `FLT` VALUES (1, 16777216, 0.1)")
        p = propose_module(d, "FLT")
        assert "CAST(`f` AS DOUBLE) AS f" in p.source_query
        assert {c.dest: c.dest_type for c in p.columns}["f"] == "double"
        assert d.read(p.source_query).read_all().column("f").to_pylist() == [16777216.0]
    finally:
        d.execute("DROP TABLE IF EXISTS `FLT`")
        d.close()
