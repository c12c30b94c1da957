"""Column identity end to end (DESIGN 6.2): source names and expressions in, destination
names out, and the watermark WHERE on the source expression in the source's quoting."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import pyarrow as pa
import pytest

from pipekit.engine.run import Engine
from pipekit.store import Store
from tests.helpers import (
    add_connection,
    dest_table_name,
    norm,
    open_db,
    sort_rows,
    table_rows,
)

T0 = dt.datetime(2024, 2, 1, 6, 0, 0, 500)

# An AS/400-style table: names with #, @, $ and a space, fixed-width text.
QCRH_DDL = {
    "postgresql": 'CREATE TABLE {t} ("DCORD#" integer PRIMARY KEY, dcotyp char(4), '
    'dcodat timestamp(6), "DCO@USR" varchar(10), "AMT$" numeric(9,2), "CUSTOMER NAME" text)',
    "mysql": "CREATE TABLE {t} (`DCORD#` INT PRIMARY KEY, dcotyp CHAR(4), dcodat DATETIME(6), "
    "`DCO@USR` VARCHAR(10), `AMT$` DECIMAL(9,2), `CUSTOMER NAME` TEXT)",
}
QCRH = pa.schema(
    [
        ("DCORD#", pa.int32()),
        ("dcotyp", pa.string()),
        ("dcodat", pa.timestamp("us")),
        ("DCO@USR", pa.string()),
        ("AMT$", pa.decimal128(9, 2)),
        ("CUSTOMER NAME", pa.string()),
    ]
)
SEED_QUERY = {
    "postgresql": 'SELECT "DCORD#" AS dcord, RTRIM(dcotyp) AS dcotyp, dcodat AS dcodat, '
    '"DCO@USR" AS dco_usr, "AMT$" AS amt, "CUSTOMER NAME" AS customer_name FROM {src}',
    "mysql": "SELECT `DCORD#` AS dcord, RTRIM(dcotyp) AS dcotyp, dcodat AS dcodat, "
    "`DCO@USR` AS dco_usr, `AMT$` AS amt, `CUSTOMER NAME` AS customer_name FROM {src}",
}
SEED_COLUMNS = ["dcord", "dcotyp", "dcodat", "dco_usr", "amt", "customer_name"]
QUOTE = {"postgresql": '"', "mysql": "`"}


def qcrh_row(i: int) -> tuple[Any, ...]:
    return (
        i,
        ["A", "AB", "XYZ", "Q"][i % 4],  # CHAR(4): padded with spaces
        T0 + dt.timedelta(hours=i, microseconds=i),
        None if i % 3 == 0 else f"u{i}@x",
        decimal.Decimal(f"{i * 10.5:.2f}"),
        f"Customer {i} & Söhne",
    )


def load(url: str, table: str, schema: pa.Schema, rows: list[tuple[Any, ...]]) -> None:
    with open_db(url) as d:
        d.load(
            table,
            pa.Table.from_pylist([dict(zip(schema.names, r, strict=True)) for r in rows], schema),
        )


def query_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """What the source itself returns for `sql`, normalised like table_rows."""
    with open_db(url) as d:
        data = d.read(sql).read_all()
    return sort_rows([tuple(norm(v) for v in r.values()) for r in data.to_pylist()])


class Setup:
    """Connections ``src``/``dw``, a source table made from `ddl`, module ``m``."""

    def __init__(
        self,
        store: Store,
        urls: dict[str, str],
        source_kind: str,
        dest_kind: str,
        ddl: str,
        *,
        query: str,
        **config: Any,
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        self.store = store
        self.src_url, self.dest_url = urls[source_kind], urls[dest_kind]
        self.src = f"qcrh_{tag}"
        self.dest = dest_table_name(dest_kind, f"c_{tag}")
        with open_db(self.src_url) as d:
            d.execute(ddl.replace("{t}", d.quote(self.src)))
        add_connection(store, "src", self.src_url)
        add_connection(store, "dw", self.dest_url)
        self.query = query.replace("{src}", self.src)
        store.modules.add(
            "m", source="src", dest="dw", dest_table=self.dest, source_query=self.query, **config
        )

    def run(self) -> Any:
        run = Engine(self.store).run_module("m")
        assert run.status == "success", run.error
        return run

    def sql(self, statement: str) -> None:
        with open_db(self.src_url) as d:
            d.execute(statement.replace("{src}", d.quote(self.src)))

    def expected(self, sql: str | None = None) -> list[tuple[Any, ...]]:
        return query_rows(self.src_url, sql or self.query)

    def dest_rows(self, columns: list[str]) -> list[tuple[Any, ...]]:
        return table_rows(self.dest_url, self.dest, columns)


@pytest.mark.parametrize(
    ("source_kind", "dest_kind"), [("postgresql", "postgresql"), ("mysql", "sqlite")]
)
def test_seed_query_with_awkward_source_names(
    run_store: Store, run_urls: dict[str, str], source_kind: str, dest_kind: str
) -> None:
    s = Setup(
        run_store,
        run_urls,
        source_kind,
        dest_kind,
        QCRH_DDL[source_kind],
        query=SEED_QUERY[source_kind],
        merge_strategy="incremental",
        merge_key="dcord",  # no watermark_column: the key is the watermark
        key_sync=True,
    )
    load(s.src_url, s.src, QCRH, [qcrh_row(i) for i in range(1, 9)])
    first = s.run()
    with open_db(s.dest_url) as d:
        cols = d.list_columns(s.dest)
    assert [c.name for c in cols] == SEED_COLUMNS
    assert [c.name for c in cols if c.primary_key] == ["dcord"]
    got = s.dest_rows(SEED_COLUMNS)
    assert got == s.expected()
    assert {r[1] for r in got} == {"A", "AB", "XYZ", "Q"}  # trimmed on the way
    assert first.rows_read == 8

    load(s.src_url, s.src, QCRH, [qcrh_row(i) for i in (9, 10)])
    s.sql(f"DELETE FROM {{src}} WHERE {QUOTE[source_kind]}DCORD#{QUOTE[source_kind]} = 3")
    second = s.run()
    q = QUOTE[source_kind]
    # the WHERE is on the source column, in the source's quoting, not on the alias
    assert f"WHERE ({q}DCORD#{q} > 8)" in (second.source_query or "")
    assert second.rows_read == 2
    assert second.rows_deleted == 1  # key_sync, by destination name
    assert s.dest_rows(SEED_COLUMNS) == s.expected()


@pytest.mark.parametrize("source_kind", ["postgresql", "mysql"])
def test_trimmed_column_is_filtered_on_its_source_column(
    run_store: Store, run_urls: dict[str, str], source_kind: str
) -> None:
    s = Setup(
        run_store,
        run_urls,
        source_kind,
        "sqlite",
        QCRH_DDL[source_kind],
        query=SEED_QUERY[source_kind].replace("RTRIM(dcotyp)", "TRIM(dcotyp)"),
        merge_strategy="upsert",
        merge_key="dcord",
        watermark_column="dcotyp",
        watermark_op=">=",
    )
    load(s.src_url, s.src, QCRH, [qcrh_row(i) for i in range(1, 9)])
    s.run()
    q = QUOTE[source_kind]
    s.sql(f"UPDATE {{src}} SET {q}CUSTOMER NAME{q} = 'renamed' WHERE dcotyp = 'XYZ'")
    s.sql(f"UPDATE {{src}} SET {q}CUSTOMER NAME{q} = 'not read' WHERE dcotyp = 'A'")
    run = s.run()
    # TRIM does not change order: the WHERE uses the bare column (an index can serve it)
    assert "WHERE (dcotyp >= 'XYZ')" in (run.source_query or "")
    assert "TRIM(dcotyp) >=" not in (run.source_query or "")
    assert run.rows_read == 2
    got = {r[0]: r[1] for r in s.dest_rows(["dcord", "customer_name"])}
    assert got[2] == got[6] == "renamed"  # 'XYZ', the highest code
    assert got[4] == "Customer 4 & Söhne"  # 'A' sorts below the watermark: not re-read


@pytest.mark.parametrize("source_kind", ["postgresql", "mysql"])
def test_cast_and_coalesce_are_filtered_as_written(
    run_store: Store, run_urls: dict[str, str], source_kind: str
) -> None:
    ddl = {
        "postgresql": "CREATE TABLE {t} (id integer PRIMARY KEY, ts timestamp(6), "
        "updated_at timestamp(6), v text)",
        "mysql": "CREATE TABLE {t} (id INT PRIMARY KEY, ts DATETIME(6), "
        "updated_at DATETIME(6) NULL, v TEXT)",
    }[source_kind]
    s = Setup(
        run_store,
        run_urls,
        source_kind,
        "duckdb",
        ddl,
        query="SELECT id, CAST(ts AS DATE) AS day, COALESCE(updated_at, ts) AS changed_at, "
        "CAST(id AS CHAR(5)) AS label, v FROM {src}",
        merge_strategy="incremental",
        merge_key="id",
        watermark_column="day",
        watermark_op=">=",
    )
    schema = pa.schema(
        [("id", pa.int32()), ("ts", pa.timestamp("us")), ("updated_at", pa.timestamp("us")),
         ("v", pa.string())]
    )  # fmt: skip
    day = dt.timedelta(days=1)
    load(s.src_url, s.src, schema, [(i, T0 + i * day, None, f"v{i}") for i in range(1, 6)])
    s.run()
    load(s.src_url, s.src, schema, [(6, T0 + 5 * day, T0 + 9 * day, "same day as 5")])
    run = s.run()
    # a CAST changes what is compared: the WHERE keeps it (rows of the max day re-read)
    assert "WHERE (CAST(ts AS DATE) >= " in (run.source_query or "")
    assert run.rows_read == 2
    assert s.dest_rows(["id", "day", "changed_at", "label", "v"]) == s.expected()

    s.store.modules.update("m", watermark_column="changed_at", watermark_op=">")
    s.sql("UPDATE {src} SET updated_at = ts + INTERVAL '20' DAY, v = 'edited' WHERE id = 2")
    run = s.run()
    assert "WHERE (COALESCE(updated_at, ts) > " in (run.source_query or "")
    assert run.rows_read == 1
    assert s.dest_rows(["id", "day", "changed_at", "label", "v"]) == s.expected()


@pytest.mark.parametrize("source_kind", ["postgresql", "mysql"])
def test_select_star_keeps_source_names(
    run_store: Store, run_urls: dict[str, str], source_kind: str
) -> None:
    s = Setup(
        run_store,
        run_urls,
        source_kind,
        "postgresql",
        QCRH_DDL[source_kind],
        query="SELECT * FROM {src}",
        merge_strategy="incremental",
        merge_key="DCORD#",
    )
    load(s.src_url, s.src, QCRH, [qcrh_row(i) for i in range(1, 6)])
    s.run()
    with open_db(s.dest_url) as d:
        cols = d.list_columns(s.dest)
    assert [c.name for c in cols] == QCRH.names
    assert [c.name for c in cols if c.primary_key] == ["DCORD#"]
    load(s.src_url, s.src, QCRH, [qcrh_row(6)])
    run = s.run()
    q = QUOTE[source_kind]
    assert f"WHERE ({q}DCORD#{q} > 5)" in (run.source_query or "")
    assert run.rows_read == 1
    # fixed-width text arrives as the source hands it over (no RTRIM in the query)
    assert s.dest_rows(QCRH.names) == table_rows(s.src_url, s.src, QCRH.names)


@pytest.mark.parametrize("source_kind", ["postgresql", "mysql"])
def test_join_with_table_aliases(
    run_store: Store, run_urls: dict[str, str], source_kind: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    customers = f"cust_{tag}"
    ts_type = "timestamp(6)" if source_kind == "postgresql" else "DATETIME(6)"
    s = Setup(
        run_store,
        run_urls,
        source_kind,
        "sqlite",
        f"CREATE TABLE {{t}} (id int PRIMARY KEY, customer_id int, updated_at {ts_type}, "
        "total decimal(10,2))",
        query="SELECT o.id, o.updated_at AS ts, c.name AS customer, o.total "
        f"FROM {{src}} o JOIN {customers} c ON c.id = o.customer_id",
        merge_strategy="incremental",
        merge_key="id",
        watermark_column="ts",
    )
    s.sql(f"CREATE TABLE {customers} (id int PRIMARY KEY, name varchar(20))")
    s.sql(f"INSERT INTO {customers} VALUES (1, 'Ann'), (2, 'Bob')")
    for i in range(1, 6):
        s.sql(
            f"INSERT INTO {{src}} VALUES ({i}, {1 + i % 2}, "
            f"'2024-02-0{i} 10:00:00.00000{i}', {i}.25)"
        )
    s.run()
    s.sql("UPDATE {src} SET customer_id = 1, updated_at = '2024-03-01 00:00:00' WHERE id = 2")
    run = s.run()
    # the watermark filters the aliased table's column; the join is untouched
    assert "WHERE (o.updated_at > " in (run.source_query or "")
    assert run.rows_read == 1
    assert s.dest_rows(["id", "ts", "customer", "total"]) == s.expected()


@pytest.mark.parametrize("source_kind", ["postgresql", "mysql"])
def test_cte_and_comments(run_store: Store, run_urls: dict[str, str], source_kind: str) -> None:
    ts_type = "timestamp(6)" if source_kind == "postgresql" else "DATETIME(6)"
    query = (
        "-- orders, newest first\n"
        "WITH recent AS (\n"
        "  SELECT id, ts, v /* every row */ FROM {src}\n"
        ")\n"
        "SELECT id, ts AS changed, v -- the payload\n"
        "FROM recent -- no filter of our own"
    )
    s = Setup(
        run_store,
        run_urls,
        source_kind,
        "sqlite",
        f"CREATE TABLE {{t}} (id int PRIMARY KEY, ts {ts_type}, v text)",
        query=query,
        merge_strategy="incremental",
        merge_key="id",
        watermark_column="changed",
        key_sync=True,  # the key query wraps the query: its comments must not eat the )
    )
    for i in range(1, 5):
        s.sql(f"INSERT INTO {{src}} VALUES ({i}, '2024-02-0{i} 10:00:00', 'v{i}')")
    assert s.run().rows_read == 4
    s.sql("INSERT INTO {src} VALUES (5, '2024-02-05 10:00:00', 'v5')")
    s.sql("DELETE FROM {src} WHERE id = 1")
    run = s.run()
    assert "WHERE (ts > " in (run.source_query or "")  # on the CTE's column, outside it
    assert run.rows_read == 1
    assert s.dest_rows(["id", "changed", "v"]) == s.expected()
    dry = Engine(run_store).run_module("m", dry_run=True)  # probes the query's schema
    assert dry.status == "dry_run", dry.error


def test_union_is_filtered_from_outside(run_store: Store, run_urls: dict[str, str]) -> None:
    s = Setup(
        run_store,
        run_urls,
        "postgresql",
        "sqlite",
        "CREATE TABLE {t} (id int PRIMARY KEY, ts timestamp(6), v text)",
        query="SELECT id, ts, v FROM {src} WHERE id < 100 "
        "UNION ALL SELECT id + 100 AS id, ts, 'copy' AS v FROM {src} WHERE id < 3",
        merge_strategy="incremental",
        merge_key="id",
        watermark_column="ts",
    )
    for i in range(1, 5):
        s.sql(f"INSERT INTO {{src}} VALUES ({i}, '2024-02-0{i} 10:00:00', 'v{i}')")
    s.run()
    s.sql("UPDATE {src} SET ts = '2024-05-01', v = 'new' WHERE id = 2")
    run = s.run()
    assert 'pipekit_src WHERE ("ts" > ' in (run.source_query or "")
    assert run.rows_read == 2  # id 2 and its copy 102
    assert s.dest_rows(["id", "ts", "v"]) == s.expected()


@pytest.mark.parametrize(
    ("query", "config", "message"),
    [
        (
            "SELECT id, UPPER(v) FROM {src}",
            {"merge_strategy": "full"},
            "column 2 of the source query (UPPER(v)) has no name; give it one with AS name",
        ),
        (
            "SELECT id, ts AS updated_at, v FROM {src}",
            {"merge_strategy": "incremental", "merge_key": "id", "watermark_column": "updatedat"},
            "'updatedat' is not a destination column of the source query; "
            "did you mean 'updated_at'?",
        ),
        (
            "SELECT id, v AS x, ts AS x FROM {src}",
            {"merge_strategy": "full"},
            "destination column 'x' appears twice in the source query",
        ),
    ],
)
def test_unmappable_query_fails_clearly_and_changes_nothing(
    run_store: Store,
    run_urls: dict[str, str],
    query: str,
    config: dict[str, Any],
    message: str,
) -> None:
    s = Setup(
        run_store,
        run_urls,
        "postgresql",
        "postgresql",
        "CREATE TABLE {t} (id int PRIMARY KEY, ts timestamp(6), v text)",
        query=query,
        **config,
    )
    s.sql("INSERT INTO {src} VALUES (1, '2024-02-01', 'a')")
    run = Engine(run_store).run_module("m")
    assert run.status == "error"
    assert message in (run.error or "")
    assert run_store.runs.lock_holder("m") is None
    with open_db(s.dest_url) as d:
        assert not d.table_exists(s.dest)
