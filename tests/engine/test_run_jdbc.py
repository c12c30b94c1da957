"""Whole runs from JDBC sources: Derby (the DB2 family: CHAR padding, ``"DCORD#"``,
DECIMAL(15,5), TIMESTAMP) into PostgreSQL and MariaDB, incrementally with key_sync
and a watermark on a fixed-width column; HSQLDB as a third dialect; PostgreSQL
through its JDBC jar. The destination must equal the source, value by value."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pytest

from pipekit.drivers import connect
from pipekit.drivers.base import Driver
from pipekit.engine.propose import propose_module
from pipekit.engine.run import Engine
from pipekit.store import Store
from tests.helpers import (
    DerbyServer,
    add_connection,
    dest_table_name,
    norm,
    open_db,
    rows_of,
    sort_rows,
    unique_name,
)

D = decimal.Decimal
T0 = dt.datetime(2024, 3, 10, 12, 0, 0, 123456)


def seed_rows(first: int, last: int) -> list[tuple[Any, ...]]:
    return [
        (f"A{i:04d}", D(f"{i}.12345"), T0 + dt.timedelta(minutes=i), f"Kunde {i} é")
        for i in range(first, last + 1)
    ]


def insert(src: Driver, rows: list[tuple[Any, ...]]) -> None:
    for key, amount, ts, name in rows:
        src.execute(
            f"INSERT INTO LGDAT.QCRH VALUES ('{key}', {amount}, "
            f"TIMESTAMP('{ts.isoformat(sep=' ')}'), '{name}')"
        )


def source_rows(src: Driver, query: str) -> list[tuple[Any, ...]]:
    data = src.read(query).read_all().to_pylist()
    return sort_rows([tuple(norm(v) for v in r.values()) for r in data])


@pytest.mark.parametrize("dest_kind", ["postgresql", "mysql"])
def test_derby_incremental_with_key_sync_and_a_fixed_width_watermark(
    derby: DerbyServer, run_store: Store, run_urls: dict[str, str], dest_kind: str
) -> None:
    url = derby.url(unique_name("erp"), create=True)
    with connect(url, user="app") as src:
        src.create_schema("LGDAT")
        src.execute(
            'CREATE TABLE LGDAT.QCRH ("DCORD#" CHAR(10) NOT NULL PRIMARY KEY, '
            "DCAMT DECIMAL(15,5), DCTS TIMESTAMP, DCNAME VARCHAR(40))"
        )
        insert(src, seed_rows(1, 20))
        proposal = propose_module(src, "LGDAT.QCRH")
        assert proposal.source_query.startswith('SELECT RTRIM("DCORD#") AS "dcord"')
        assert [c.trimmed for c in proposal.columns] == [True, False, False, False]

        run_store.connections.add("erp", url, user="app")
        add_connection(run_store, "dw", run_urls[dest_kind])
        dest = dest_table_name(dest_kind, unique_name("qcrh"))
        run_store.modules.add(
            "m",
            source="erp",
            dest="dw",
            dest_table=dest,
            source_query=proposal.source_query,
            merge_strategy="incremental",
            merge_key="dcord",
            watermark_column="dcord",  # RTRIM("DCORD#"): a fixed-width column
            key_sync=True,
        )
        engine = Engine(run_store)
        columns = ["dcord", "dcamt", "dcts", "dcname"]

        first = engine.run_module("m")
        assert first.status == "success", first.error
        assert first.rows_read == 20
        with open_db(run_urls[dest_kind]) as d:
            assert rows_of(d, dest, columns) == source_rows(src, proposal.source_query)
            types = {c.name: c.type.lower() for c in d.list_columns(dest)}
        assert types["dcamt"].startswith(("numeric(15,5)", "decimal(15,5)"))

        # new keys past the watermark, and a row gone from the source
        insert(src, seed_rows(21, 25))
        src.execute("DELETE FROM LGDAT.QCRH WHERE \"DCORD#\" = 'A0003'")
        second = engine.run_module("m")
        assert second.status == "success", second.error
        assert second.rows_read == 5  # only keys after 'A0020'
        expected = source_rows(src, proposal.source_query)
        with open_db(run_urls[dest_kind]) as d:
            landed = rows_of(d, dest, columns)
        assert landed == expected and len(landed) == 24
        assert landed[0] == ("A0001", D("1.12345"), T0 + dt.timedelta(minutes=1), "Kunde 1 é")


def test_hsqldb_and_postgresql_over_jdbc_run_into_postgresql(
    run_store: Store, run_urls: dict[str, str], pg_url: str
) -> None:
    h_url = f"jdbc:hsqldb:mem:{unique_name('h')}"
    source_table = unique_name("jpg")
    with connect(h_url, user="SA") as h, open_db(pg_url) as pg:
        h.execute(
            "CREATE TABLE orders (id INT PRIMARY KEY, code CHAR(6), amt DECIMAL(12,2), "
            "ts TIMESTAMP(6), t TIME(6), ok BOOLEAN)"
        )
        h.execute(
            "INSERT INTO orders VALUES (1, 'x', 10.50, TIMESTAMP '2024-01-01 00:00:00.000001', "
            "TIME '08:00:00.5', true), (2, NULL, NULL, NULL, NULL, NULL)"
        )
        pg.execute(f"CREATE TABLE {source_table} (id int PRIMARY KEY, v numeric(9,3))")
        pg.execute(f"INSERT INTO {source_table} VALUES (1, 1.5), (2, NULL)")
        run_store.connections.add("h", h_url, user="SA")
        pg_jdbc = "jdbc:" + pg_url.replace("postgresql://postgres@", "postgresql://")
        run_store.connections.add("pgj", pg_jdbc, user="postgres")
        add_connection(run_store, "dw", pg_url)
        q = propose_module(h, "PUBLIC.ORDERS").source_query
        run_store.modules.add(
            "h", source="h", dest="dw", dest_table="sync.h_orders", source_query=q,
            merge_strategy="upsert", merge_key="id",
        )  # fmt: skip
        run_store.modules.add(
            "p", source="pgj", dest="dw", dest_table="sync.p_orders",
            source_query=f"SELECT id, v FROM {source_table}", merge_strategy="full",
        )  # fmt: skip
        engine = Engine(run_store)
        for name in ("h", "p"):
            run = engine.run_module(name)
            assert run.status == "success", run.error
        assert rows_of(pg, "sync.h_orders", ["id", "code", "amt", "ts", "t", "ok"]) == [
            (
                1,
                "x",
                D("10.5"),
                dt.datetime(2024, 1, 1, 0, 0, 0, 1),
                dt.time(8, 0, 0, 500000),
                True,
            ),
            (2, None, None, None, None, None),
        ]
        assert rows_of(pg, "sync.p_orders", ["id", "v"]) == [(1, D("1.5")), (2, None)]
        h.execute("SHUTDOWN")
