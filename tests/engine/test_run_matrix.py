"""Engine.run_module end to end: every strategy into every destination kind.

Sources are real PostgreSQL and MariaDB tables; destinations are PostgreSQL,
MariaDB, SQLite and DuckDB. Every test compares the destination's rows, every
column, with what the source holds (or held), not only counts.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import update

from pipekit.engine.run import Engine, run_group
from pipekit.store import Store
from pipekit.store import schema as store_schema
from tests.helpers import (
    RUN_KINDS,
    add_connection,
    dest_table_name,
    open_db,
    sort_rows,
    table_rows,
)

COLUMNS = ["id", "name", "amount", "ts", "tstz", "d", "flag"]
ARROW = pa.schema(
    [
        pa.field("id", pa.int32()),
        pa.field("name", pa.string()),
        pa.field("amount", pa.decimal128(12, 2)),
        pa.field("ts", pa.timestamp("us")),
        pa.field("tstz", pa.timestamp("us", tz="UTC")),
        pa.field("d", pa.date32()),
        pa.field("flag", pa.bool_()),
    ]
)
SOURCE_DDL = {
    "postgresql": "CREATE TABLE {t} (id integer PRIMARY KEY, name text, amount numeric(12,2), "
    "ts timestamp(6), tstz timestamptz(6), d date, flag boolean)",
    "mysql": "CREATE TABLE {t} (id INT PRIMARY KEY, name TEXT, amount DECIMAL(12,2), "
    "ts DATETIME(6), tstz TIMESTAMP(6) NULL DEFAULT NULL, d DATE, flag BOOLEAN)",
}
BASE = dt.datetime(2024, 5, 1, 8, 0)
PLUS2 = dt.timezone(dt.timedelta(hours=2))


def make_row(i: int, version: int = 0) -> dict[str, Any]:
    """Row `i`, with NULLs sprinkled over every nullable column; `version` > 0 is an
    update (a later ts, changed values)."""
    ts = BASE + dt.timedelta(minutes=i, microseconds=i)
    if version:
        ts = BASE + dt.timedelta(days=version, microseconds=i)
    return {
        "id": i,
        "name": None if i % 7 == 0 else f"row {i} v{version}: it's ünïcode \\ \t",
        "amount": None
        if i % 5 == 0
        else decimal.Decimal(f"{(-1) ** i * (i * 1013.17 + version):.2f}"),
        "ts": ts,
        "tstz": None if i % 6 == 0 else (BASE + dt.timedelta(hours=i)).replace(tzinfo=PLUS2),
        "d": None if i % 9 == 0 else dt.date(2024, 1, 1) + dt.timedelta(days=i + version),
        "flag": None if i % 4 == 0 else (i + version) % 2 == 0,
    }


class Source:
    """A source table on PostgreSQL or MariaDB that tests change between runs."""

    def __init__(self, url: str, kind: str, table: str) -> None:
        self.url, self.kind, self.table = url, kind, table
        with open_db(url) as d:
            d.execute(SOURCE_DDL[kind].format(t=d.quote(table)))

    def insert(self, rows: Iterable[dict[str, Any]]) -> None:
        with open_db(self.url) as d:
            d.load(self.table, pa.Table.from_pylist(list(rows), ARROW))

    def update(self, rows: Iterable[dict[str, Any]]) -> None:
        with open_db(self.url) as d:
            for row in rows:
                sets = ", ".join(
                    f"{d.quote(c)} = {d.literal(row[c], ARROW.field(c).type)}" for c in COLUMNS[1:]
                )
                d.execute(f"UPDATE {d.quote(self.table)} SET {sets} WHERE id = {row['id']}")

    def delete(self, ids: Sequence[int]) -> None:
        with open_db(self.url) as d:
            d.execute(f"DELETE FROM {d.quote(self.table)} WHERE id IN ({', '.join(map(str, ids))})")

    def rows(self) -> list[tuple[Any, ...]]:
        return table_rows(self.url, self.table, COLUMNS)


def setup_module_run(
    store: Store,
    urls: dict[str, str],
    source_kind: str,
    dest_kind: str,
    *,
    rows: int = 50,
    name: str = "m",
    dest_options: dict[str, Any] | None = None,
    **config: Any,
) -> tuple[Source, str]:
    """A source table with `rows` rows, connections ``src``/``dw`` and module `name`
    (``{src}`` in its query names the source table); returns the source and the
    destination table name."""
    tag = uuid.uuid4().hex[:8]
    source = Source(urls[source_kind], source_kind, f"src_{tag}")
    source.insert(make_row(i) for i in range(1, rows + 1))
    add_connection(store, "src", urls[source_kind])
    add_connection(store, "dw", urls[dest_kind], **(dest_options or {}))
    table = dest_table_name(dest_kind, f"t_{tag}")
    query = config.get("source_query", f"SELECT {', '.join(COLUMNS)} FROM {{src}}")
    config["source_query"] = query.replace("{src}", source.table)
    store.modules.add(name, source="src", dest="dw", dest_table=table, **config)
    return source, table


def change_source(source: Source) -> None:
    """The changes every strategy test applies between its runs: 5 updates (later
    ts), 3 deletes, 5 inserts."""
    source.update(make_row(i, version=1) for i in range(1, 6))
    source.delete([6, 7, 8])
    source.insert(make_row(i, version=1) for i in range(51, 56))


def ok(run: Any) -> Any:
    assert run.status == "success", run.error
    return run


def primary_key(url: str, table: str) -> list[str]:
    with open_db(url) as d:
        return [c.name for c in d.list_columns(table) if c.primary_key]


STRATEGIES: dict[str, dict[str, Any]] = {
    "full": {"merge_strategy": "full", "merge_key": "id"},
    "incremental+key_sync": {
        "merge_strategy": "incremental",
        "merge_key": "id",
        "watermark_column": "ts",
        "key_sync": True,
    },
    "incremental": {"merge_strategy": "incremental", "merge_key": "id", "watermark_column": "ts"},
    "append": {"merge_strategy": "append", "watermark_column": "ts"},
    "upsert": {"merge_strategy": "upsert", "merge_key": "id", "watermark_column": "ts"},
}


# Every strategy x source x destination; incremental without key_sync differs from
# incremental+key_sync only by the missing delete, so it runs on two destinations.
MATRIX = [
    (strategy, source, dest)
    for strategy in STRATEGIES
    for source in ("postgresql", "mysql")
    for dest in RUN_KINDS
    if strategy != "incremental" or dest in ("postgresql", "mysql")
]


@pytest.mark.parametrize(("strategy", "source_kind", "dest_kind"), MATRIX)
def test_strategy_into_every_destination(
    run_store: Store, run_urls: dict[str, str], strategy: str, source_kind: str, dest_kind: str
) -> None:
    config = STRATEGIES[strategy]
    source, table = setup_module_run(run_store, run_urls, source_kind, dest_kind, **config)
    dest_url = run_urls[dest_kind]

    first = ok(Engine(run_store).run_module("m"))
    assert (first.rows_read, first.rows_inserted, first.row_count) == (50, 50, 50)
    assert "created table" in (first.schema_changes or "")
    # DuckDB tables go without a primary key: its index must fit in memory
    keyed = "merge_key" in config and dest_kind != "duckdb"
    assert primary_key(dest_url, table) == (["id"] if keyed else [])
    before = source.rows()
    assert table_rows(dest_url, table, COLUMNS) == before

    change_source(source)
    after = source.rows()
    second = ok(Engine(run_store).run_module("m"))
    assert second.merge_strategy == config["merge_strategy"]
    got = table_rows(dest_url, table, COLUMNS)

    gone = [r for r in before if r[0] in (6, 7, 8)]
    if strategy in ("full", "incremental+key_sync"):
        assert got == after
        # a full load clears the 50 old rows; incremental replaces the 5 changed rows
        # and key_sync deletes the 3 gone from the source
        counters = (second.rows_replaced, second.rows_deleted, second.rows_cleared)
        assert counters == ((0, 0, 50) if strategy == "full" else (5, 3, 0))
    elif strategy in ("incremental", "upsert"):
        # no key_sync: deleted source rows stay, changed rows are replaced in place
        assert got == sort_rows(after + gone)
    else:  # append: the old rows stay as they were, the changed and new rows are added
        newer = [r for r in after if r[3] > max(b[3] for b in before)]
        assert len(newer) == 10
        assert got == sort_rows(before + newer)
    assert second.rows_read == (52 if strategy == "full" else 10)
    assert second.rows_inserted == second.rows_read  # rows written, not statement tallies
    assert second.row_count == len(got)


@pytest.mark.parametrize("dest_kind", ["postgresql", "mysql", "sqlite"])
def test_destination_without_deletes_only_inserts_new_keys(
    run_store: Store, run_urls: dict[str, str], dest_kind: str
) -> None:
    source, table = setup_module_run(
        run_store,
        run_urls,
        "postgresql",
        dest_kind,
        dest_options={"supports_deletes": False},
        merge_strategy="incremental",
        merge_key="id",
        watermark_column="ts",
        key_sync=True,
    )
    before = source.rows()
    first = ok(Engine(run_store).run_module("m"))
    assert first.merge_strategy == "insert-only"
    assert table_rows(run_urls[dest_kind], table, COLUMNS) == before

    change_source(source)
    second = ok(Engine(run_store).run_module("m"))
    assert second.merge_strategy == "insert-only"
    assert "DELETE" not in (second.merge_sql or "").upper()
    assert (second.rows_replaced, second.rows_deleted, second.rows_cleared) == (0, 0, 0)
    # nothing deleted, nothing updated: only the five new keys came in
    new = [r for r in source.rows() if r[0] > 50]
    assert table_rows(run_urls[dest_kind], table, COLUMNS) == sort_rows(before + new)
    assert "key_sync skipped" in (second.live_log or "")


def test_full_strategy_without_deletes_falls_back_to_insert_only(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    source, table = setup_module_run(
        run_store,
        run_urls,
        "mysql",
        "duckdb",
        dest_options={"supports_deletes": False},
        merge_strategy="full",
        merge_key="id",
    )
    before = source.rows()
    ok(Engine(run_store).run_module("m"))
    change_source(source)
    second = ok(Engine(run_store).run_module("m"))
    assert second.merge_strategy == "insert-only"
    new = [r for r in source.rows() if r[0] > 50]
    assert table_rows(run_urls["duckdb"], table, COLUMNS) == sort_rows(before + new)


@pytest.mark.parametrize("dest_kind", ["postgresql", "mysql"])
def test_full_refresh_forces_a_full_replace(
    run_store: Store, run_urls: dict[str, str], dest_kind: str
) -> None:
    source, table = setup_module_run(
        run_store,
        run_urls,
        "postgresql",
        dest_kind,
        merge_strategy="incremental",
        merge_key="id",
        watermark_column="ts",
    )
    ok(Engine(run_store).run_module("m"))
    change_source(source)
    run = ok(Engine(run_store).run_module("m", full_refresh=True))
    assert run.merge_strategy == "full"
    assert run.rows_read == 52
    # without key_sync only a full refresh removes the deleted rows
    assert table_rows(run_urls[dest_kind], table, COLUMNS) == source.rows()
    assert "ts" not in (run.source_query or "").split("FROM", 1)[1]


def _backdate(store: Store, run_id: int, minutes: int) -> None:
    with store.write() as conn:
        conn.execute(
            update(store_schema.run_log)
            .where(store_schema.run_log.c.id == run_id)
            .values(started_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes))
        )


def test_full_refresh_cron_forces_full_once_per_slot(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    source, table = setup_module_run(
        run_store,
        run_urls,
        "postgresql",
        "sqlite",
        merge_strategy="incremental",
        merge_key="id",
        watermark_column="ts",
        full_refresh_cron="0 0 1 1 *",  # once a year: at most one full run this test
    )
    engine = Engine(run_store)
    first = ok(engine.run_module("m"))
    assert first.merge_strategy == "incremental"  # a first run reads everything anyway

    # no full run since the last slot (1 January): this run is full
    source.delete([10, 11])
    second = ok(engine.run_module("m"))
    assert second.merge_strategy == "full"
    assert "full refresh due" in (second.live_log or "")
    assert table_rows(run_urls["sqlite"], table, COLUMNS) == source.rows()

    # the slot is covered by that full run: back to incremental
    source.delete([12])
    third = ok(engine.run_module("m"))
    assert third.merge_strategy == "incremental"
    assert 12 in [r[0] for r in table_rows(run_urls["sqlite"], table, COLUMNS)]

    # every minute: the full run lies before the last slot, so the next run is full again
    run_store.modules.update("m", full_refresh_cron="* * * * *")
    _backdate(run_store, second.id, minutes=3)
    fourth = ok(engine.run_module("m"))
    assert fourth.merge_strategy == "full"
    assert table_rows(run_urls["sqlite"], table, COLUMNS) == source.rows()


@pytest.mark.parametrize("dest_kind", RUN_KINDS)
def test_audit_columns_hold_the_run_that_wrote_each_row(
    run_store: Store, run_urls: dict[str, str], dest_kind: str
) -> None:
    source, table = setup_module_run(
        run_store,
        run_urls,
        "postgresql",
        dest_kind,
        rows=10,
        merge_strategy="incremental",
        merge_key="id",
        watermark_column="ts",
        audit_columns=True,
    )
    first = ok(Engine(run_store).run_module("m"))
    source.update([make_row(2, version=1)])
    second = ok(Engine(run_store).run_module("m"))
    audit = ["id", "_pipekit_run_id", "_pipekit_loaded_at"]
    rows = table_rows(run_urls[dest_kind], table, audit)
    assert [(r[0], r[1]) for r in rows] == [
        (i, second.id if i == 2 else first.id) for i in range(1, 11)
    ]
    for _id, run_id, loaded_at in rows:
        run = second if run_id == second.id else first
        started = run.started_at.astimezone(dt.UTC).replace(tzinfo=None)
        finished = run.finished_at.astimezone(dt.UTC).replace(tzinfo=None)
        assert started <= loaded_at <= finished
    # the data columns are the source's, the audit columns come on top
    assert table_rows(run_urls[dest_kind], table, COLUMNS) == source.rows()


@pytest.mark.parametrize("dest_kind", RUN_KINDS)
def test_audit_columns_take_the_module_names_and_the_record_source(
    run_store: Store, run_urls: dict[str, str], dest_kind: str
) -> None:
    source, table = setup_module_run(
        run_store,
        run_urls,
        "postgresql",
        dest_kind,
        rows=5,
        merge_strategy="incremental",
        merge_key="id",
        watermark_column="ts",
        audit_columns=True,
        audit_loaded_at_column="dss_load_date",
        audit_run_id_column="dss_run",
        audit_source_column="dss_record_source",
    )
    first = ok(Engine(run_store).run_module("m"))
    audit = ["id", "dss_run", "dss_record_source", "dss_load_date"]
    rows = table_rows(run_urls[dest_kind], table, audit)
    assert [r[:3] for r in rows] == [(i, first.id, "src") for i in range(1, 6)]
    started = first.started_at.astimezone(dt.UTC).replace(tzinfo=None)
    assert all(r[3] >= started for r in rows)
    assert table_rows(run_urls[dest_kind], table, COLUMNS) == source.rows()

    # renamed on an existing table: the new column is added (the old one is kept, never
    # dropped); the rows this run writes fill it, the others hold NULL until a full refresh
    run_store.modules.update("m", audit_source_column="dss_origin")
    source.update([make_row(2, version=1)])
    second = ok(Engine(run_store).run_module("m"))
    assert "added column dss_origin" in (second.schema_changes or "")
    rows = table_rows(run_urls[dest_kind], table, ["id", "dss_origin", "dss_record_source"])
    # row 2 was re-read: replaced by a row with the new column, and NULL in the old one,
    # which no setting names any more
    assert rows == [(1, None, "src"), (2, "src", None), (3, None, "src"), (4, None, "src"),
                    (5, None, "src")]  # fmt: skip


@pytest.mark.parametrize("dest_kind", RUN_KINDS)
def test_schema_drift_adds_columns_and_never_drops(
    run_store: Store, run_urls: dict[str, str], dest_kind: str
) -> None:
    source, table = setup_module_run(
        run_store,
        run_urls,
        "mysql",
        dest_kind,
        rows=10,
        merge_strategy="incremental",
        merge_key="id",
        watermark_column="ts",
        source_query="SELECT * FROM {src}",
    )
    ok(Engine(run_store).run_module("m"))

    with open_db(source.url) as d:
        d.execute(f"ALTER TABLE {source.table} ADD COLUMN note VARCHAR(40)")
        d.execute(f"UPDATE {source.table} SET note = CONCAT('n', id) WHERE id > 7")
    source.update([make_row(9, version=1), make_row(10, version=1)])
    run = ok(Engine(run_store).run_module("m"))
    assert "added column note" in (run.schema_changes or "")
    # said where the operator looks: the run record and its live log
    hint = "the rows loaded before this run hold NULL in note: run the module with --full-refresh"
    assert hint in (run.schema_changes or "") and hint in (run.live_log or "")
    dest_url = run_urls[dest_kind]
    with open_db(dest_url) as d:
        assert [c.name for c in d.list_columns(table)] == [*COLUMNS, "note"]
    # rows not re-read keep NULL in the new column; re-read rows have it
    expected = [(*r, f"n{r[0]}" if r[0] in (9, 10) else None) for r in source.rows()]
    assert table_rows(dest_url, table, [*COLUMNS, "note"]) == sort_rows(expected)

    # the source loses a column: the destination keeps it
    with open_db(source.url) as d:
        d.execute(f"ALTER TABLE {source.table} DROP COLUMN flag")
    source_rows = table_rows(source.url, source.table, [c for c in COLUMNS if c != "flag"])
    with open_db(source.url) as d:
        d.execute(f"UPDATE {source.table} SET ts = ts + INTERVAL 1 YEAR WHERE id = 1")
    run = ok(Engine(run_store).run_module("m"))
    assert not run.schema_changes
    with open_db(dest_url) as d:
        assert [c.name for c in d.list_columns(table)] == [*COLUMNS, "note"]
    got = table_rows(dest_url, table, ["id", "flag", "name"])
    assert got[0] == (1, None, source_rows[0][1])  # re-read without flag: NULL
    assert got[1][1] is not None  # untouched rows keep their flag


@pytest.mark.parametrize("dest_kind", ["postgresql", "mysql", "duckdb"])
def test_dry_run_records_sql_and_touches_nothing(
    run_store: Store, run_urls: dict[str, str], dest_kind: str
) -> None:
    source, table = setup_module_run(
        run_store,
        run_urls,
        "postgresql",
        dest_kind,
        rows=5,
        merge_strategy="incremental",
        merge_key="id",
        watermark_column="ts",
        key_sync=True,
    )
    if dest_kind in ("postgresql", "duckdb"):  # a schema of its own, to see it is not made
        schema_name = f"dry_{uuid.uuid4().hex[:8]}"
        table = f"{schema_name}.t"
        run_store.modules.update("m", dest_table=table)
    run = Engine(run_store).run_module("m", dry_run=True)
    assert run.status == "dry_run", run.error
    assert run.error is None
    assert f"FROM {source.table}" in (run.source_query or "")
    assert "key_sync keys" in (run.source_query or "")
    assert "CREATE TABLE" in (run.merge_sql or "")
    # a first load into PostgreSQL or DuckDB lands in a new table renamed into place
    move = "RENAME TO" if dest_kind in ("postgresql", "duckdb") else "INSERT INTO"
    assert move in (run.merge_sql or "")
    assert run.merge_strategy == "incremental"
    with open_db(run_urls[dest_kind]) as d:
        assert not d.table_exists(table)
        assert not any("pipekit_staging" in t for t in d.list_tables())
        if dest_kind in ("postgresql", "duckdb"):
            assert schema_name not in d.list_schemas()
            assert not d.table_exists("pipekit_staging.m")
        if dest_kind == "duckdb":  # a file of this test alone
            assert "pipekit_staging" not in d.list_schemas()
    assert run_store.runs.lock_holder("m") is None

    # after a real run, a dry run shows the watermark and still changes nothing
    ok(Engine(run_store).run_module("m"))
    before = table_rows(run_urls[dest_kind], table, COLUMNS)
    source.update([make_row(1, version=1)])
    dry = Engine(run_store).run_module("m", dry_run=True)
    assert dry.status == "dry_run"
    assert "WHERE (ts >" in (dry.source_query or "")
    assert "CREATE TABLE" not in (dry.merge_sql or "")
    assert table_rows(run_urls[dest_kind], table, COLUMNS) == before


def test_run_group_runs_members_in_order_past_failures(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    source, table = setup_module_run(
        run_store, run_urls, "postgresql", "duckdb", rows=5, name="a", merge_strategy="full"
    )
    run_store.modules.add(
        "b_broken",
        source="src",
        dest="dw",
        dest_table="sync.broken",
        source_query="SELECT id FROM no_such_table",
        merge_strategy="full",
    )
    run_store.modules.add(
        "c",
        source="src",
        dest="dw",
        dest_table="sync.c_copy",
        source_query=f"SELECT id, name FROM {source.table}",
        merge_strategy="full",
    )
    run_store.modules.add(
        "d_off",
        source="src",
        dest="dw",
        dest_table="sync.d_copy",
        source_query=f"SELECT id FROM {source.table}",
        enabled=False,
    )
    run_store.groups.add("g", members=["c", "b_broken", "a", "d_off"])
    engine = Engine(run_store)

    dry = run_group(engine, "g", dry_run=True)
    assert [r.module_name for r in dry.runs] == ["c", "b_broken", "a"]
    assert [r.status for r in dry.runs] == ["dry_run", "error", "dry_run"]
    assert dry.group_run.status == "error"

    result = run_group(engine, "g")
    assert [r.module_name for r in result.runs] == ["c", "b_broken", "a"]
    assert [r.status for r in result.runs] == ["success", "error", "success"]
    assert all(r.group_run_id == result.group_run.id for r in result.runs)
    assert result.runs[0].started_at <= result.runs[1].started_at <= result.runs[2].started_at
    assert result.group_run.status == "error"
    assert "b_broken" in (result.group_run.error or "")
    assert "no_such_table" in (result.runs[1].error or "")
    assert table_rows(run_urls["duckdb"], table, COLUMNS) == source.rows()
    assert table_rows(run_urls["duckdb"], "sync.c_copy", ["id", "name"]) == table_rows(
        source.url, source.table, ["id", "name"]
    )

    run_store.groups.remove_member("g", "b_broken")
    assert run_group(engine, "g").group_run.status == "success"
    assert run_group(engine, "g", dry_run=True).group_run.status == "dry_run"


@pytest.mark.parametrize("dest_kind", ["postgresql", "sqlite"])
def test_append_with_a_merge_key_keeps_every_version(
    run_store: Store, run_urls: dict[str, str], dest_kind: str
) -> None:
    source, table = setup_module_run(
        run_store,
        run_urls,
        "mysql",
        dest_kind,
        rows=10,
        merge_strategy="append",
        merge_key="id",
        watermark_column="ts",
    )
    ok(Engine(run_store).run_module("m"))
    before = source.rows()
    # the key repeats in an append table (one row per version), so it is no primary key
    assert primary_key(run_urls[dest_kind], table) == []
    source.update([make_row(3, version=1)])
    ok(Engine(run_store).run_module("m"))
    changed = [r for r in source.rows() if r[0] == 3]
    assert table_rows(run_urls[dest_kind], table, COLUMNS) == sort_rows(before + changed)
