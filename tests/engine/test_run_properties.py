"""Property tests of the engine (DESIGN 6.3, 6.4).

A hypothesis state machine changes a PostgreSQL source table at random (insert,
update with a strictly increasing ``updated_at``, delete, NULL timestamps,
re-used keys) and syncs it now and then; after every sync the destination holds
exactly the source's rows, on a PostgreSQL and a DuckDB destination. Two
machines: incremental with key_sync on an ``updated_at`` watermark, and upsert
with key_sync.

A second property: any text, quotes, backslashes, semicolons and unicode
included, used as a named watermark or as the watermark column's maximum, selects
exactly the rows the database itself says match it.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from pipekit.drivers import connect
from pipekit.drivers.base import Driver, TableRef
from pipekit.engine.columns import parse_columns
from pipekit.engine.run import Engine
from pipekit.engine.source_sql import (
    column_window,
    fill_placeholders,
    resolve_named,
    with_condition,
)
from pipekit.engine.watermarks import NULL_MARKERS
from pipekit.store import Store

# -- the sync state machine ------------------------------------------------------

MODULE_CONFIG = {
    "incremental": {
        "merge_strategy": "incremental",
        "merge_key": "id",
        "watermark_column": "updated_at",
        "key_sync": True,
    },
    "upsert": {"merge_strategy": "upsert", "merge_key": "id", "key_sync": True},
}
DESTS = ("pg", "duck")
COLUMNS = "id, v, n, amount, updated_at"
IDS = st.integers(1, 25)
TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
VALUES = st.tuples(
    st.none() | TEXT,
    st.none() | st.integers(-(2**63), 2**63 - 1),
    st.none() | st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False),
)
# microseconds the clock moves forward per change: sub-second steps test precision
STEP = st.integers(1, 3_000_000)


@pytest.fixture(scope="module")
def sync_store(tmp_path_factory: pytest.TempPathFactory, pg_url: str) -> Iterator[Store]:
    folder = tmp_path_factory.mktemp("props")
    with Store.open(folder / "state.db") as store:
        store.init()
        store.connections.add("src", pg_url, user="postgres")
        store.connections.add("pg", pg_url, user="postgres")
        store.connections.add("duck", f"duckdb:///{folder / 'dw.duckdb'}?create=true")
        yield store


def _rows(driver: Driver, table: str) -> list[tuple[Any, ...]]:
    data = driver.read(f"SELECT {COLUMNS} FROM {table} ORDER BY id").read_all()
    return list(zip(*(c.to_pylist() for c in data.columns), strict=True))


class SyncMachine(RuleBasedStateMachine):
    """Random source changes; every sync must leave each destination equal to the source."""

    store: Store
    strategy: str

    def __init__(self) -> None:
        super().__init__()
        tag = uuid.uuid4().hex[:10]
        self.source_table = f"src_{tag}"
        self.src = self.store.connections.get("src")
        self.pg = connect(self.src.url, user="postgres")
        self.pg.execute(
            f"CREATE TABLE {self.source_table} (id bigint PRIMARY KEY, v text, n bigint, "
            "amount numeric(12,2), updated_at timestamptz)"
        )
        self.clock = dt.datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=dt.UTC)
        self.model: dict[int, tuple[Any, ...]] = {}
        self.modules: dict[str, str] = {}  # dest connection -> module
        self.tables: dict[str, str] = {}
        # the source's database is the PostgreSQL destination's too
        self.readers = {"pg": self.pg, "duck": connect(self.store.connections.get("duck").url)}
        for dest in DESTS:
            name = f"p{tag}_{dest}"
            self.tables[dest] = f"sync.t_{tag}"
            self.modules[dest] = name
            self.store.modules.add(
                name,
                source="src",
                dest=dest,
                dest_table=self.tables[dest],
                source_query=f"SELECT {COLUMNS} FROM {self.source_table}",
                **MODULE_CONFIG[self.strategy],
            )
        self.dirty = True  # the source changed since the last sync

    def tick(self, step: int) -> dt.datetime:
        self.clock += dt.timedelta(microseconds=step)
        return self.clock

    def _write(self, rows: list[tuple[Any, ...]]) -> None:
        """Upsert `rows` into the source through a bulk load of exact values."""
        self.dirty = True
        for row in rows:
            self.model[row[0]] = row
        ids = ", ".join(str(r[0]) for r in rows)
        self.pg.execute(f"DELETE FROM {self.source_table} WHERE id IN ({ids})")
        cols = list(zip(*rows, strict=True))
        table = pa.table(
            {
                "id": pa.array(cols[0], pa.int64()),
                "v": pa.array(cols[1], pa.string()),
                "n": pa.array(cols[2], pa.int64()),
                "amount": pa.array(cols[3], pa.decimal128(12, 2)),
                "updated_at": pa.array(cols[4], pa.timestamp("us", tz="UTC")),
            }
        )
        self.pg.load(self.source_table, table)

    @initialize(rows=st.dictionaries(IDS, VALUES, max_size=15), step=STEP)
    def fill(self, rows: dict[int, tuple[Any, ...]], step: int) -> None:
        if rows:
            ts = self.tick(step)
            self._write([(i, *v, ts) for i, v in sorted(rows.items())])

    @rule(
        ids=st.sets(IDS, min_size=1, max_size=6),
        values=VALUES,
        step=STEP,
        null_ts=st.booleans(),
    )
    def insert(self, ids: set[int], values: tuple[Any, ...], step: int, null_ts: bool) -> None:
        new = sorted(i for i in ids if i not in self.model)  # a deleted key may come back
        if new:
            ts = None if null_ts else self.tick(step)
            self._write([(i, *values, ts) for i in new])

    @rule(ids=st.sets(IDS, min_size=1, max_size=6), values=VALUES, step=STEP, null_ts=st.booleans())
    def update(self, ids: set[int], values: tuple[Any, ...], step: int, null_ts: bool) -> None:
        present = sorted(i for i in ids if i in self.model)
        if present:
            # a NULL updated_at is re-read by every run (keyed strategies replace by key)
            ts = None if null_ts else self.tick(step)
            self._write([(i, *values, ts) for i in present])

    @rule(ids=st.sets(IDS, min_size=1, max_size=8))
    def delete(self, ids: set[int]) -> None:
        gone = sorted(i for i in ids if i in self.model)
        if gone:
            self.dirty = True
            for i in gone:
                del self.model[i]
            self.pg.execute(
                f"DELETE FROM {self.source_table} WHERE id IN ({', '.join(map(str, gone))})"
            )

    @precondition(lambda self: self.dirty)  # a sync of nothing new costs time, tests little
    @rule()
    def sync(self) -> None:
        self.dirty = False
        want = [self.model[i] for i in sorted(self.model)]
        assert _rows(self.pg, self.source_table) == want
        engine = Engine(self.store)
        for dest, module in self.modules.items():
            run = engine.run_module(module, triggered_by="test")
            assert run.status == "success", (dest, run.error, run.live_log)
            got = _rows(self.readers[dest], self.tables[dest])
            assert got == want, f"{dest} after run {run.id}:\n{run.source_query}\n{run.merge_sql}"

    def teardown(self) -> None:
        try:
            if self.dirty:  # every example ends with the destination checked
                self.sync()
            self.pg.execute(f"DROP TABLE IF EXISTS {self.source_table}")
            for dest, table in self.tables.items():
                self.readers[dest].drop_table(TableRef.parse(table))
        finally:
            self.readers["duck"].close()
            self.pg.close()


@pytest.mark.parametrize("strategy", sorted(MODULE_CONFIG))
def test_sync_makes_destination_equal_source(sync_store: Store, strategy: str) -> None:
    machine = type(
        f"SyncMachine_{strategy}", (SyncMachine,), {"store": sync_store, "strategy": strategy}
    )
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=8,
            stateful_step_count=10,
            deadline=None,
            # Shrinking costs two engine runs per sync tried, minutes for one failure;
            # ten steps are short enough to read as they come.
            phases=(Phase.explicit, Phase.reuse, Phase.generate),
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


# -- text watermarks do not change the SQL's meaning ----------------------------------

NASTY = [
    "'", "''", "\\", "\\'", "'\\", "\\\\'", "';--", "'; DROP TABLE wm_t; --", "{wm}",
    "'{wm}'", "$$", "$1", "%s", "%%", "?", ":x", '"', "`", "\\n", "\n", "\t", "ü", "日本",
    "😀", "a\\", "E'x'", "/*", "*/", "--", "\\0", "N'x'", "x'00'", "0x41",
]  # fmt: skip
WM_TEXT = st.sampled_from(NASTY) | st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=16,
)
KINDS = ("postgresql", "mysql", "sqlite", "duckdb")


def _ids(driver: Driver, sql: str) -> list[int]:
    return sorted(int(r[0]) for r in driver.query(sql))


@pytest.mark.parametrize("kind", KINDS)
def test_text_watermarks_keep_the_query_meaning(
    drivers: dict[str, Driver], kind: str, file_dir: Path
) -> None:
    d = drivers[kind]
    tag = uuid.uuid4().hex[:8]
    data, top = TableRef(f"wm_t_{tag}"), TableRef(f"wm_max_{tag}")
    schema = pa.schema([pa.field("id", pa.int64()), pa.field("k", pa.string())])
    for t in (data, top):
        d.create_table(t, schema)
    t_sql, top_sql = d.table_sql(data), d.table_sql(top)
    value_of_row_0 = f"(SELECT k FROM {t_sql} WHERE id = 0)"

    def check(x: str) -> None:
        decoys = [x + "'", "'" + x, x + "\\", "\\" + x, x.upper(), x + " ", x[:-1], "'", "\\"]
        d.execute(f"DELETE FROM {t_sql}")
        d.execute(f"DELETE FROM {top_sql}")
        # exact values in through the bulk path: no SQL text involved
        d.load(data, pa.table({"id": list(range(len(decoys) + 1)), "k": [x, *decoys]}, schema))
        d.load(top, pa.table({"id": [1], "k": [x]}, schema))

        # a named watermark, from its resolver and as the default
        query = f"SELECT id, k FROM {t_sql} WHERE k = {{wm}}"
        oracle = _ids(d, f"SELECT id FROM {t_sql} WHERE k = {value_of_row_0}")
        assert 0 in oracle
        resolved = resolve_named("wm", f"SELECT k FROM {top_sql}", None, d, d)
        assert resolved.origin == "resolver" and resolved.text == x
        filled = fill_placeholders(query, {"wm": resolved.literal})
        assert _ids(d, filled) == oracle, filled
        if not re.fullmatch(r"-?\d+", x.strip()):  # whole numbers are numeric defaults
            default = resolve_named("wm", None, x, None, d)
            assert _ids(d, fill_placeholders(query, {"wm": default.literal})) == oracle

        # the watermark column: MAX(k) on the destination becomes a WHERE on the source,
        # and the whole query is re-rendered by sqlglot
        base = f"SELECT id, k FROM {t_sql}"
        window = column_window(
            parse_columns(base, d.dialect.sqlglot),
            "k",
            op=">=",
            lookback=None,
            safety_lag=None,
            keyed=False,
            source=d,
            dest=d,
            dest_table=top,
            dest_exists=True,
            source_type=None,
            now=dt.datetime.now(dt.UTC),
        )
        assert window.max_value == x
        where = with_condition(base, parse_columns(base, d.dialect.sqlglot), window.condition)
        assert _ids(d, where) == _ids(d, f"{base} WHERE k >= {value_of_row_0}"), where

        # both at once: the named literal survives the re-rendering too
        both = with_condition(filled, parse_columns(filled, d.dialect.sqlglot), window.condition)
        assert _ids(d, both) == oracle, both

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(x=WM_TEXT)
    def random_text(x: str) -> None:
        assume(x.strip() not in NULL_MARKERS)  # those mean "no watermark yet"
        check(x)

    try:
        for x in NASTY:  # every one of them, whatever hypothesis draws
            if x.strip() not in NULL_MARKERS:
                check(x)
        random_text()
    finally:
        for t in (data, top):
            d.drop_table(t)
