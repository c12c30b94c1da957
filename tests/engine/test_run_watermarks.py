"""Watermarks through whole runs (DESIGN 6.1 step 2, 6.3): nothing skipped, nothing
re-read forever, values typed and escaped, on PostgreSQL, MariaDB and SQLite sources."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from pipekit.engine.run import Engine
from pipekit.store import Store
from tests.helpers import (
    RUN_KINDS,
    add_connection,
    dest_table_name,
    open_db,
    sort_rows,
    table_rows,
)

T0 = dt.datetime(2024, 3, 10, 12, 0, 0, 250_000)
EV = pa.schema([("id", pa.int32()), ("ts", pa.timestamp("us")), ("v", pa.string())])
EV_COLUMNS = EV.names
EV_DDL = {
    "postgresql": "CREATE TABLE {t} (id integer PRIMARY KEY, ts timestamp(6), v text)",
    "mysql": "CREATE TABLE {t} (id INT PRIMARY KEY, ts DATETIME(6) NULL, v TEXT)",
    "sqlite": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, ts TIMESTAMP, v TEXT)",
}
SOURCES = ["postgresql", "mysql"]


class Setup:
    """A source table `ev`-like (id, ts, v), connections ``src``/``dw`` and module ``m``."""

    def __init__(
        self,
        store: Store,
        urls: dict[str, str],
        source_kind: str,
        dest_kind: str = "sqlite",
        *,
        ddl: str | None = None,
        query: str = "SELECT id, ts, v FROM {src}",
        **config: Any,
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        self.store = store
        self.src_url, self.dest_url = urls[source_kind], urls[dest_kind]
        self.src = f"ev_{tag}"
        self.dest = dest_table_name(dest_kind, f"w_{tag}")
        with open_db(self.src_url) as d:
            d.execute((ddl or EV_DDL[source_kind]).format(t=d.quote(self.src)))
        add_connection(store, "src", self.src_url)
        add_connection(store, "dw", self.dest_url)
        config.setdefault("merge_strategy", "incremental")
        config.setdefault("merge_key", "id")
        store.modules.add(
            "m",
            source="src",
            dest="dw",
            dest_table=self.dest,
            source_query=query.replace("{src}", self.src),
            **config,
        )

    def insert(self, rows: Iterable[tuple[Any, ...]], schema: pa.Schema = EV) -> None:
        with open_db(self.src_url) as d:
            d.load(
                self.src,
                pa.Table.from_pylist(
                    [dict(zip(schema.names, r, strict=True)) for r in rows], schema
                ),
            )

    def sql(self, statement: str) -> None:
        with open_db(self.src_url) as d:
            d.execute(statement.replace("{src}", d.quote(self.src)))

    def run(self, engine: Engine | None = None, **kwargs: Any) -> Any:
        run = (engine or Engine(self.store)).run_module("m", **kwargs)
        assert run.status == "success", run.error
        return run

    def source_rows(self, columns: list[str] = EV_COLUMNS) -> list[tuple[Any, ...]]:
        return table_rows(self.src_url, self.src, columns)

    def dest_rows(self, columns: list[str] = EV_COLUMNS) -> list[tuple[Any, ...]]:
        return table_rows(self.dest_url, self.dest, columns)


def minutes(n: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


# -- named watermarks ----------------------------------------------------------------


@pytest.mark.parametrize("source_kind", SOURCES)
def test_named_watermark_resolved_on_another_connection(
    run_store: Store, run_urls: dict[str, str], source_kind: str, tmp_path: Path
) -> None:
    s = Setup(
        run_store, run_urls, source_kind, query="SELECT id, ts, v FROM {src} WHERE id > {since}"
    )
    s.insert((i, minutes(i), f"v{i}") for i in range(1, 11))
    # the resolver reads a control table in a SQLite file: a connection of its own
    control = f"sqlite:///{tmp_path / 'control.sqlite'}?create=true"
    with open_db(control) as c:
        c.execute("CREATE TABLE control (last_id INTEGER)")
    add_connection(run_store, "ctl", control)
    run_store.watermarks.add(
        "m",
        "since",
        connection="ctl",
        resolver_sql="SELECT last_id FROM control",
        default_value="0",
    )

    first = s.run()  # no rows: the default
    assert "id > 0" in (first.source_query or "")
    assert json.loads(first.watermarks_json or "{}")["named"]["since"] == {
        "value": "0",
        "from": "default",
    }
    assert first.rows_read == 10

    with open_db(control) as c:
        c.execute("INSERT INTO control VALUES (NULL)")
    assert s.run().rows_read == 10  # NULL: the default again

    with open_db(control) as c:
        c.execute("UPDATE control SET last_id = 7")
    s.sql("UPDATE {src} SET v = 'changed' WHERE id IN (2, 9)")
    third = s.run()
    assert "WHERE id > 7" in (third.source_query or "")
    assert "{since}" not in (third.source_query or "")
    assert third.rows_read == 3
    assert json.loads(third.watermarks_json or "{}")["named"]["since"] == {
        "value": "7",
        "from": "resolver",
    }
    assert run_store.watermarks.get("m", "since").last_value == "7"
    # id 9 was above the watermark and re-read; id 2 was not: it keeps its old value
    expected = [(i, ts, "v2" if i == 2 else v) for i, ts, v in s.source_rows()]
    assert s.dest_rows() == expected


@pytest.mark.parametrize(
    ("source_kind", "dest_kind"), [("postgresql", "mysql"), ("mysql", "postgresql")]
)
def test_named_watermark_default_on_first_run_when_resolver_reads_missing_destination(
    run_store: Store, run_urls: dict[str, str], source_kind: str, dest_kind: str
) -> None:
    s = Setup(
        run_store,
        run_urls,
        source_kind,
        dest_kind,
        query="SELECT id, ts, v FROM {src} WHERE ts > {since}",
    )
    s.insert((i, minutes(i), f"v{i}") for i in range(1, 6))
    with open_db(s.dest_url) as d:
        resolver = f"SELECT MAX({d.quote('ts')}) FROM {d.table_sql(s.dest)}"
    run_store.watermarks.add(
        "m", "since", resolver_sql=resolver, default_value="2000-01-01 00:00:00"
    )
    first = s.run()
    assert json.loads(first.watermarks_json or "{}")["named"]["since"]["from"] == "default"
    assert "destination table missing" in (first.live_log or "")
    assert s.dest_rows() == s.source_rows()

    s.insert([(6, minutes(6), "v6"), (7, minutes(6) + dt.timedelta(microseconds=1), "v7")])
    second = s.run()
    named = json.loads(second.watermarks_json or "{}")["named"]["since"]
    assert named == {"value": "2024-03-10 12:05:00.250000", "from": "resolver"}
    assert second.rows_read == 2
    assert s.dest_rows() == s.source_rows()
    assert s.run().rows_read == 0  # the resolver's MAX is typed: no re-read, no skip


@pytest.mark.parametrize("source_kind", SOURCES)
def test_named_watermark_alone_filters_an_incremental_module(
    run_store: Store, run_urls: dict[str, str], source_kind: str
) -> None:
    # incremental, one merge key, no watermark_column: the query's {since} picks the
    # rows; the merge key must not also become a watermark, or changed rows with old
    # ids would be skipped
    s = Setup(
        run_store, run_urls, source_kind, query="SELECT id, ts, v FROM {src} WHERE ts > {since}"
    )
    s.insert((i, minutes(i), f"v{i}") for i in range(1, 6))
    with open_db(s.dest_url) as d:
        resolver = f"SELECT MAX({d.quote('ts')}) FROM {d.table_sql(s.dest)}"
    run_store.watermarks.add("m", "since", resolver_sql=resolver, default_value="1970-01-01")
    s.run()
    with open_db(s.src_url) as d:
        later = d.literal(minutes(60), pa.timestamp("us"))
    s.sql(f"UPDATE {{src}} SET ts = {later}, v = 'changed' WHERE id = 2")
    run = s.run()
    assert run.rows_read == 1
    assert "id >" not in (run.source_query or "")
    assert s.dest_rows() == s.source_rows()


def test_named_watermark_resolving_to_nothing_without_default_fails(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    s = Setup(
        run_store, run_urls, "postgresql", query="SELECT id, ts, v FROM {src} WHERE ts > {since}"
    )
    s.insert([(1, T0, "a")])
    run_store.watermarks.add("m", "since", connection="src", resolver_sql="SELECT NULL")
    run = Engine(run_store).run_module("m")
    assert run.status == "error"
    assert "'since' resolved to nothing" in (run.error or "")
    with open_db(s.dest_url) as d:
        assert not d.table_exists(s.dest)


# -- the watermark column --------------------------------------------------------------


@pytest.mark.parametrize("source_kind", SOURCES)
@pytest.mark.parametrize("op", [">", ">="])
def test_watermark_operator(
    run_store: Store, run_urls: dict[str, str], source_kind: str, op: str
) -> None:
    s = Setup(run_store, run_urls, source_kind, watermark_column="ts", watermark_op=op)
    # the last two rows share the highest timestamp
    s.insert((i, minutes(min(i, 9)), f"v{i}") for i in range(1, 11))
    assert s.run().rows_read == 10
    again = s.run()
    assert f"ts {op} " in (again.source_query or "")
    # '>' reads nothing new; '>=' re-reads the rows at the watermark, without duplicates
    assert again.rows_read == (0 if op == ">" else 2)
    s.insert([(11, minutes(9), "same instant, committed late")])
    late = s.run()
    # a row committed late at the watermark's own instant: only '>=' picks it up
    assert late.rows_read == (0 if op == ">" else 3)
    expected = s.source_rows() if op == ">=" else [r for r in s.source_rows() if r[0] != 11]
    assert s.dest_rows() == expected


@pytest.mark.parametrize("source_kind", SOURCES)
def test_text_watermark_is_an_inert_literal(
    run_store: Store, run_urls: dict[str, str], source_kind: str
) -> None:
    tag = uuid.uuid4().hex[:6]
    evil = f"z'; DROP TABLE victim_{tag}; --"  # the highest code: the next watermark
    text_ddl = {
        "postgresql": "CREATE TABLE {t} (id integer PRIMARY KEY, code varchar(60), v text)",
        "mysql": "CREATE TABLE {t} (id INT PRIMARY KEY, code VARCHAR(60), v TEXT)",
    }[source_kind]
    s = Setup(
        run_store,
        run_urls,
        source_kind,
        ddl=text_ddl,
        query="SELECT id, code, v FROM {src} WHERE v <> {tag}",
        watermark_column="code",
    )
    run_store.watermarks.add("m", "tag", default_value=f"x'; DROP TABLE victim_{tag}; --")
    schema = pa.schema([("id", pa.int32()), ("code", pa.string()), ("v", pa.string())])
    with open_db(s.src_url) as d:
        d.execute(f"CREATE TABLE victim_{tag} (x int)")
    s.insert([(1, "a", "one"), (2, evil, "two"), (3, "m\\'", "three")], schema)
    s.run()
    s.insert([(4, "zz", "four"), (5, "b", "old code, not read")], schema)
    second = s.run()
    assert second.rows_read == 1
    columns = ["id", "code", "v"]
    with open_db(s.src_url) as d:
        assert f"victim_{tag}" in d.list_tables()
    assert s.dest_rows(columns) == [r for r in s.source_rows(columns) if r[0] != 5]


@pytest.mark.parametrize("source_kind", SOURCES)
def test_lookback_picks_up_late_rows_inside_the_window_only(
    run_store: Store, run_urls: dict[str, str], source_kind: str
) -> None:
    s = Setup(run_store, run_urls, source_kind, watermark_column="ts", lookback="5 minutes")
    s.insert((i, minutes(i), f"v{i}") for i in range(0, 11))  # watermark: T0 + 10 min
    s.run()
    # committed late, stamped before the watermark: 3 minutes before it, and 8 minutes
    s.insert([(100, minutes(7), "late, inside the look-back"), (101, minutes(2), "too late")])
    run = s.run()
    assert "ts >= " in (run.source_query or "")
    assert run.rows_read == 7  # T0+5 .. T0+10 re-read (6 rows), plus the late row
    got = s.dest_rows()
    ids = [r[0] for r in got]
    assert 100 in ids
    # a row older than the window is not recovered: the look-back is the limit
    assert 101 not in ids
    assert got == [r for r in s.source_rows() if r[0] != 101]  # re-read rows: no duplicates


@pytest.mark.parametrize("source_kind", SOURCES)
def test_safety_lag_leaves_the_newest_rows_for_a_later_run(
    run_store: Store, run_urls: dict[str, str], source_kind: str
) -> None:
    s = Setup(run_store, run_urls, source_kind, watermark_column="ts", safety_lag="5 minutes")
    s.insert((i, minutes(i), f"v{i}") for i in range(0, 11))
    clock = [minutes(8).replace(tzinfo=dt.UTC)]
    engine = Engine(run_store, now=lambda: clock[0])

    first = s.run(engine)  # first run: the lag applies although the destination is new
    assert first.rows_read == 3  # T0 .. T0+2 min are older than now - 5 minutes
    assert [r[0] for r in s.dest_rows()] == [0, 1, 2]
    assert json.loads(first.watermarks_json or "{}")["column"]["upper"].startswith("< ")

    clock[0] = minutes(12).replace(tzinfo=dt.UTC)
    second = s.run(engine)
    assert second.rows_read == 4  # T0+3 .. T0+6 min
    clock[0] = minutes(60).replace(tzinfo=dt.UTC)
    third = s.run(engine)
    assert third.rows_read == 4
    assert s.dest_rows() == s.source_rows()


@pytest.mark.parametrize("source_kind", SOURCES)
@pytest.mark.parametrize("strategy", ["incremental", "upsert"])
def test_rows_without_a_watermark_are_not_lost(
    run_store: Store, run_urls: dict[str, str], source_kind: str, strategy: str
) -> None:
    s = Setup(run_store, run_urls, source_kind, watermark_column="ts", merge_strategy=strategy)
    s.insert((i, None if i in (3, 6) else minutes(i), f"v{i}") for i in range(1, 9))
    s.run()
    again = s.run()
    assert "IS NULL" in (again.source_query or "")
    assert again.rows_read == 2  # the two NULL rows, every run
    assert s.dest_rows() == s.source_rows()
    s.sql("UPDATE {src} SET v = 'changed' WHERE id = 6")
    s.insert([(9, None, "new without ts")])
    third = s.run()
    assert third.rows_read == 3
    assert s.dest_rows() == s.source_rows()  # no duplicates, the change arrived


def test_append_does_not_re_read_rows_without_a_watermark(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    s = Setup(
        run_store,
        run_urls,
        "postgresql",
        watermark_column="ts",
        merge_strategy="append",
        merge_key=None,
    )
    s.insert((i, None if i == 2 else minutes(i), f"v{i}") for i in range(1, 5))
    s.run()
    again = s.run()
    assert again.rows_read == 0  # append would duplicate them, so they are read once
    assert "are not picked up" in (again.live_log or "")
    assert s.dest_rows() == s.source_rows()


@pytest.mark.parametrize("source_kind", SOURCES)
def test_coalesce_watermark_expression(
    run_store: Store, run_urls: dict[str, str], source_kind: str
) -> None:
    ddl = {
        "postgresql": "CREATE TABLE {t} (id integer PRIMARY KEY, created_at timestamp(6), "
        "updated_at timestamp(6), v text)",
        "mysql": "CREATE TABLE {t} (id INT PRIMARY KEY, created_at DATETIME(6), "
        "updated_at DATETIME(6) NULL, v TEXT)",
    }[source_kind]
    s = Setup(
        run_store,
        run_urls,
        source_kind,
        ddl=ddl,
        query="SELECT id, COALESCE(updated_at, created_at) AS changed_at, v FROM {src}",
        watermark_column="changed_at",
    )
    schema = pa.schema(
        [("id", pa.int32()), ("created_at", pa.timestamp("us")),
         ("updated_at", pa.timestamp("us")), ("v", pa.string())]
    )  # fmt: skip
    s.insert(
        [(i, minutes(i), minutes(i + 1) if i == 3 else None, f"v{i}") for i in range(1, 6)], schema
    )
    s.run()
    with open_db(s.src_url) as d:
        later = d.literal(minutes(30), pa.timestamp("us"))
    s.sql(f"UPDATE {{src}} SET updated_at = {later}, v = 'edited' WHERE id = 2")
    run = s.run()
    assert "WHERE (COALESCE(updated_at, created_at) > " in (run.source_query or "").replace("`", "")
    assert run.rows_read == 1
    with open_db(s.src_url) as d:
        expected = d.read(
            f"SELECT id, COALESCE(updated_at, created_at) AS changed_at, v FROM {s.src}"
        ).read_all()
    assert s.dest_rows(["id", "changed_at", "v"]) == sort_rows(
        [tuple(r.values()) for r in expected.to_pylist()]
    )


@pytest.mark.parametrize(
    ("source_kind", "dest_kind"),
    [*(("postgresql", k) for k in RUN_KINDS), ("mysql", "sqlite"), ("sqlite", "duckdb")],
)
def test_microseconds_are_neither_skipped_nor_re_read(
    run_store: Store, run_urls: dict[str, str], source_kind: str, dest_kind: str
) -> None:
    if source_kind == "sqlite":  # a SQLite source file apart from the SQLite destination
        run_urls = {**run_urls, "sqlite": run_urls["sqlite"].replace("run.sqlite", "src.sqlite")}
    s = Setup(run_store, run_urls, source_kind, dest_kind, watermark_column="ts")
    edge = T0.replace(microsecond=999_999)
    s.insert([(1, T0, "a"), (2, edge, "b")])
    assert s.run().rows_read == 2
    s.insert([(3, edge + dt.timedelta(microseconds=1), "one microsecond later")])
    second = s.run()
    assert second.rows_read == 1
    assert s.run().rows_read == 0  # nothing changed: nothing read
    s.insert([(4, edge + dt.timedelta(microseconds=2), "and one more")])
    assert s.run().rows_read == 1
    assert s.dest_rows() == s.source_rows()


@pytest.mark.parametrize("source_kind", SOURCES)
def test_numeric_watermark_with_a_numeric_lookback(
    run_store: Store, run_urls: dict[str, str], source_kind: str
) -> None:
    # incremental with a one-column merge key and no watermark_column: the key is the
    # watermark; a look-back of 3 re-reads the last three ids
    s = Setup(run_store, run_urls, source_kind, lookback="3")
    s.insert((i, minutes(i), f"v{i}") for i in range(1, 11))
    s.run()
    s.sql("UPDATE {src} SET v = 'edited' WHERE id IN (2, 8)")
    s.insert([(11, minutes(11), "v11")])
    run = s.run()
    assert "id >= 7" in (run.source_query or "").replace("`", "")
    assert run.rows_read == 5
    got = {r[0]: r[2] for r in s.dest_rows()}
    assert got[8] == "edited"  # inside the look-back
    assert got[2] == "v2"  # outside it: an id watermark does not see old rows change
    assert got[11] == "v11"
    assert len(got) == 11


TZ_DDL = {
    "postgresql": "CREATE TABLE {t} (id integer PRIMARY KEY, at timestamptz(6), v text)",
    "mysql": "CREATE TABLE {t} (id INT PRIMARY KEY, at TIMESTAMP(6) NULL DEFAULT NULL, v TEXT)",
}
TZ = pa.schema([("id", pa.int32()), ("at", pa.timestamp("us", tz="UTC")), ("v", pa.string())])


@pytest.mark.parametrize(
    ("source_kind", "dest_kind"),
    [*(("postgresql", k) for k in RUN_KINDS), ("mysql", "postgresql")],
)
def test_timestamptz_watermark_keeps_its_zone(
    run_store: Store, run_urls: dict[str, str], source_kind: str, dest_kind: str
) -> None:
    urls = dict(run_urls)
    if source_kind == "postgresql":
        # a source session in another zone than the destination's UTC
        urls["postgresql"] = run_urls["postgresql"] + "?options=-c%20TimeZone%3DAmerica%2FNew_York"
    s = Setup(
        run_store,
        urls,
        source_kind,
        dest_kind,
        ddl=TZ_DDL[source_kind],
        query="SELECT id, at, v FROM {src}",
        watermark_column="at",
    )
    s.dest_url = run_urls[dest_kind]
    plus2 = dt.timezone(dt.timedelta(hours=2))
    minus5 = dt.timezone(dt.timedelta(hours=-5))
    base = dt.datetime(2024, 7, 1, 23, 30, 0, 123_456, tzinfo=plus2)
    s.insert([(1, base, "a"), (2, base + dt.timedelta(hours=3), "b")], TZ)
    assert s.run().rows_read == 2
    assert s.run().rows_read == 0
    # one microsecond after the watermark, written in another zone
    later = (base + dt.timedelta(hours=3, microseconds=1)).astimezone(minus5)
    s.insert([(3, later, "c")], TZ)
    assert s.run().rows_read == 1
    assert s.run().rows_read == 0
    columns = ["id", "at", "v"]
    assert s.dest_rows(columns) == table_rows(run_urls[source_kind], s.src, columns)
    with open_db(s.dest_url) as d:
        at = next(c for c in d.list_columns(s.dest) if c.name == "at")
        if dest_kind != "mysql":  # MariaDB keeps UTC in a DATETIME: no zone type to keep
            assert at.arrow_type == pa.timestamp("us", tz="UTC")
        first = d.read(f"SELECT {d.quote('at')} FROM {d.table_sql(s.dest)} WHERE id = 1")
        value = first.read_all().column(0)[0].as_py()
    assert value.replace(tzinfo=value.tzinfo or dt.UTC) == base
