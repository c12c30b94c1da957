"""Failure injection (DESIGN 2.1, 6.1, 6.5): a run that fails, is cancelled or is killed
anywhere before its commit leaves the destination exactly as it was.

Every case runs against real databases: the source is PostgreSQL (one case reads
MariaDB), the destination PostgreSQL, MariaDB and, where cheap, SQLite and DuckDB.
Each case checks four things: the destination rows are exactly what they were
before the run (or the table is still absent on a first run), the module lock is
free (or recovered by the next run), the run log says what happened, and a
following normal run succeeds with the right rows.

Slow sources use ``pk_slow``, a PL/pgSQL function that sleeps every few thousand
rows past a threshold, so the first batches arrive at once and the rest trickle:
that puts a cancel or a SIGKILL reliably in the middle of staging. Slow merges use
a check that sleeps on the destination (checks run inside the merge transaction).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from pipekit.drivers import connect
from pipekit.drivers.base import Driver, TableRef
from pipekit.engine.run import Engine, RunEvent
from pipekit.store import Store
from pipekit.store.runs import Run

USERS = {"postgresql": "postgres", "mysql": "root"}
SERVERS = ("postgresql", "mysql")
ALL_KINDS = ("postgresql", "mysql", "sqlite", "duckdb")
CHILD = Path(__file__).with_name("_run_child.py")

# Sleeps `secs` on every `every`-th row past row `after`; true for every row.
SLOW_FUNCTION = """
CREATE OR REPLACE FUNCTION pk_slow(g bigint, after bigint, every bigint, secs float8)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF g > after AND g % every = 0 THEN PERFORM pg_sleep(secs); END IF;
  RETURN true;
END $$
"""
# 200-character rows: ADBC hands over ~16 MB batches, so the first batch (~76k
# rows) arrives at once; past row 80,000 each batch takes ~2.3 s, all 1M rows ~28 s.
SLOW_QUERY = (
    "SELECT g AS id, repeat('x', 200) AS v FROM generate_series(1, 1000000) g "
    "WHERE pk_slow(g, 80000, 5000, 0.15)"
)


def fast_query(n: int, prefix: str = "v") -> str:
    return f"SELECT g AS id, '{prefix}' || g AS v FROM generate_series(1, {n}) g"


def expected(n: int, prefix: str = "v", start: int = 1) -> list[tuple[int, str]]:
    return [(i, f"{prefix}{i}") for i in range(start, n + 1)]


# -- environment ---------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_source(pg_url: str) -> str:
    """The PostgreSQL database the modules read from, with ``pk_slow`` in it."""
    with connect(pg_url, user="postgres") as d:
        d.execute(SLOW_FUNCTION)
    return pg_url


@dataclass
class Env:
    """One test's state store, module and destination."""

    store: Store
    db_path: Path
    kind: str
    url: str
    module: str
    table: str
    src_url: str

    @property
    def ref(self) -> TableRef:
        return TableRef.parse(self.table)

    def dest(self) -> Driver:
        return connect(self.url, user=USERS.get(self.kind))

    def source(self) -> Driver:
        return connect(self.src_url, user="postgres")

    def dest_sql(self, *statements: str) -> None:
        with self.dest() as d:
            for sql in statements:
                d.execute(sql)

    def src_sql(self, *statements: str) -> None:
        with self.source() as d:
            for sql in statements:
                d.execute(sql)

    @property
    def qualified(self) -> str:
        """The destination table as SQL of the destination's dialect."""
        with self.dest() as d:
            return d.table_sql(self.ref)

    def rows(self, cols: str = "id, v") -> list[tuple[Any, ...]] | None:
        """The destination's rows ordered by id; None while the table does not exist."""
        with self.dest() as d:
            if not d.table_exists(self.ref):
                return None
            # through Arrow: DB-API fetchall converts row by row, seconds for 100k rows
            table = d.read(f"SELECT {cols} FROM {d.table_sql(self.ref)} ORDER BY id").read_all()
            return list(zip(*(c.to_pylist() for c in table.columns), strict=True))

    def add_module(self, **config: Any) -> None:
        config.setdefault("merge_strategy", "incremental")
        config.setdefault("merge_key", "id")
        self.store.modules.add(
            self.module, source="src", dest="dw", dest_table=self.table, **config
        )

    def set_query(self, sql: str) -> None:
        self.store.modules.update(self.module, source_query=sql)

    def run(self, **kwargs: Any) -> Run:
        return Engine(self.store).run_module(self.module, **kwargs)

    def ok(self, **kwargs: Any) -> Run:
        run = self.run(**kwargs)
        assert run.status == "success", (run.error, run.live_log)
        self.assert_released()
        return run

    def assert_released(self) -> None:
        assert self.store.runs.lock_holder(self.module) is None

    def assert_failed(self, run: Run, status: str, *needles: str) -> None:
        """The run log says `status`, names every needle in its error, and the lock is free."""
        assert run.status == status, (run.error, run.live_log)
        assert run.finished_at is not None
        assert run.error is not None
        for needle in needles:
            assert needle.lower() in run.error.lower(), run.error
        assert f"{status}: " in (run.live_log or "")
        assert "(destination unchanged)" in (run.live_log or "")
        assert f"finished: {status}" in (run.live_log or "")
        self.assert_released()


def _dest_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "postgresql":
        return request.getfixturevalue("pg_url")
    if kind == "mysql":
        return request.getfixturevalue("mysql_url")
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'dw.sqlite'}?create=true"
    return f"duckdb:///{tmp_path / 'dw.duckdb'}?create=true"


def _table(kind: str, tag: str) -> str:
    # MariaDB: a schema is a database, so the table lives in the test's own database;
    # SQLite has no schemas at all.
    return f"t_{tag}" if kind in ("mysql", "sqlite") else f"sync.t_{tag}"


@pytest.fixture
def make_env(
    request: pytest.FixtureRequest, tmp_path: Path, pg_source: str
) -> Iterator[Callable[[str], Env]]:
    stores: list[Store] = []

    def make(kind: str) -> Env:
        tag = uuid.uuid4().hex[:8]
        db_path = tmp_path / f"state_{tag}.db"
        store = Store.open(db_path)
        store.init()
        stores.append(store)
        url = _dest_url(kind, request, tmp_path)
        store.connections.add("src", pg_source, user="postgres")
        store.connections.add("dw", url, user=USERS.get(kind))
        return Env(store, db_path, kind, url, f"m_{tag}", _table(kind, tag), pg_source)

    yield make
    for store in stores:
        store.close()


class Progress:
    """An ``on_event`` handler another thread can wait on."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.events: list[RunEvent] = []

    def __call__(self, event: RunEvent) -> None:
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    def wait_for(self, pred: Callable[[RunEvent], bool], timeout: float = 30) -> RunEvent:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                hit = next((e for e in self.events if pred(e)), None)
                if hit is not None:
                    return hit
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no such event in {timeout} s: {self.events[-3:]}")
                self.cond.wait(left)

    @property
    def max_rows(self) -> int:
        with self.cond:
            return max((e.rows for e in self.events), default=0)


def statement_running(env: Env, marker: str) -> bool:
    """Whether another session on the destination server runs a statement containing `marker`."""
    with env.dest() as d:
        if env.kind == "postgresql":
            sql = (
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                f"AND pid <> pg_backend_pid() AND query LIKE '%{marker}%'"
            )
        else:
            sql = (
                "SELECT COUNT(*) FROM information_schema.processlist "
                f"WHERE id <> CONNECTION_ID() AND info LIKE '%{marker}%'"
            )
        return int(d.query(sql)[0][0]) > 0


def wait_until(pred: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def dead_sessions_gone(env: Env) -> bool:
    """No session but ours is left in the test database (the killed run's are closed)."""
    with env.dest() as d:
        if env.kind == "postgresql":
            sql = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND application_name = 'pipekit'"
            )
        else:
            sql = (
                "SELECT COUNT(*) FROM information_schema.processlist "
                "WHERE db = DATABASE() AND id <> CONNECTION_ID()"
            )
        return int(d.query(sql)[0][0]) == 0


# A check that sleeps on the destination and returns no rows. (`WHERE false` would
# let the planner skip the sleep altogether.)
SLEEPING_CHECK = {
    "postgresql": "SELECT 1 AS x FROM pg_sleep({secs}) s WHERE s IS NULL",
    "mysql": "SELECT 1 AS x FROM DUAL WHERE SLEEP({secs}) = 1",
    # no sleep function: a long recursive count that never returns a row
    "sqlite": (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {secs}0000000) "
        "SELECT x FROM c WHERE x < 0"
    ),
    "duckdb": "SELECT range AS x FROM range({secs}000000000) WHERE range < 0",
}


# -- the source query fails mid-stream -----------------------------------------


@pytest.mark.parametrize("kind", ["postgresql", "mysql", "duckdb"])
def test_source_query_fails_mid_stream(make_env: Callable[[str], Env], kind: str) -> None:
    env = make_env(kind)
    env.add_module(source_query=fast_query(1000))
    env.ok()
    before = env.rows()
    assert before == expected(1000)

    # Division by zero at row 190,000, after more than 100k rows went to staging.
    env.set_query(
        "SELECT g AS id, 'v' || g || repeat('x', 100 + 0 * (1 / (g - 190000))) AS v "
        "FROM generate_series(1, 200000) g"
    )
    progress = Progress()
    run = env.run(on_event=progress)
    env.assert_failed(run, "error", "division by zero", "read failed")
    assert "OSError" not in (run.error or "")
    assert progress.max_rows > 65_536, "the failure should come after the first batches"
    assert "g > 1000" in (run.source_query or "")  # incremental: the watermark on id
    assert env.rows() == before

    # The failed run moved no watermark: the next one reads every id above 1000.
    env.set_query(fast_query(5000, "w"))
    run = env.ok()
    assert run.rows_read == 4000 and run.row_count == 5000
    assert env.rows() == expected(1000) + expected(5000, "w", start=1001)


def test_mariadb_source_query_fails_mid_stream(
    make_env: Callable[[str], Env], mysql_url: str
) -> None:
    env = make_env("postgresql")
    env.store.connections.update("src", url=mysql_url, user="root")
    env.add_module(
        source_query="SELECT CAST(seq AS SIGNED) AS id, CONCAT('v', seq) AS v FROM seq_1_to_1000",
        merge_strategy="full",
    )
    env.ok()
    before = env.rows()
    assert before == expected(1000)

    # "Subquery returns more than 1 row" is raised when row 70,000 is computed,
    # after the first 65,536-row batch went to staging.
    env.set_query(
        "SELECT CAST(seq AS SIGNED) AS id, "
        "CONCAT('v', seq, IF(seq = 70000, (SELECT 1 UNION SELECT 2), '')) AS v "
        "FROM seq_1_to_100000"
    )
    progress = Progress()
    run = env.run(on_event=progress)
    env.assert_failed(run, "error", "Subquery returns more than 1 row")
    assert progress.max_rows == 65_536
    assert env.rows() == before

    env.set_query("SELECT CAST(seq AS SIGNED) AS id, CONCAT('w', seq) AS v FROM seq_1_to_3000")
    env.ok()
    assert env.rows() == expected(3000, "w")


# -- the merge SQL fails ----------------------------------------------------------


def _source_table(env: Env, n: int) -> str:
    """A source table ``src_<tag>(id, v, ts)`` with `n` rows; ts = id."""
    name = f"src_{env.module}"
    env.src_sql(
        f"CREATE TABLE {name} (id bigint PRIMARY KEY, v text, ts bigint NOT NULL)",
        f"INSERT INTO {name} SELECT g, 'v' || g, g FROM generate_series(1, {n}) g",
    )
    return name


def _source_rows(env: Env, src: str, cols: str = "id, v") -> list[tuple[Any, ...]]:
    with env.source() as d:
        return [tuple(r) for r in d.query(f"SELECT {cols} FROM {src} ORDER BY id")]


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_merge_violates_not_null_after_deleting(make_env: Callable[[str], Env], kind: str) -> None:
    env = make_env(kind)
    src = _source_table(env, 100)
    with env.dest() as d:
        if env.ref.schema:
            d.create_schema(env.ref.schema)
        schema = pa.schema(
            [
                pa.field("id", pa.int64(), False),
                pa.field("v", pa.string(), False),
                pa.field("ts", pa.int64(), False),
            ]
        )
        d.create_table(env.ref, schema, ["id"])
    env.add_module(
        source_query=f"SELECT id, v, ts FROM {src}", watermark_column="ts", key_sync=True
    )
    env.ok()
    before = env.rows("id, v, ts")
    assert before == _source_rows(env, src, "id, v, ts")

    # 20 changed rows (so the merge first deletes 20 destination rows), 5 of them
    # NULL where the destination says NOT NULL, and a deleted row for key_sync.
    env.src_sql(
        f"UPDATE {src} SET v = 'new' || id, ts = ts + 1000 WHERE id BETWEEN 11 AND 30",
        f"UPDATE {src} SET v = NULL WHERE id BETWEEN 11 AND 15",
        f"DELETE FROM {src} WHERE id = 50",
    )
    run = env.run()
    env.assert_failed(run, "error", "null")
    assert "merging into" in (run.live_log or "")
    assert run.merge_sql and "DELETE" in run.merge_sql.upper()
    assert env.rows("id, v, ts") == before

    env.src_sql(f"UPDATE {src} SET v = 'fixed' || id, ts = ts + 1000 WHERE v IS NULL")
    run = env.ok()
    assert env.rows("id, v, ts") == _source_rows(env, src, "id, v, ts")
    assert run.rows_replaced == 20 and run.rows_deleted is not None and run.rows_deleted >= 1


@pytest.mark.parametrize("kind", SERVERS)
def test_merge_fails_on_a_column_type_changed(make_env: Callable[[str], Env], kind: str) -> None:
    env = make_env(kind)
    src = _source_table(env, 100)
    env.add_module(source_query=f"SELECT id, v, ts FROM {src}", watermark_column="ts")
    env.ok()

    # Someone changes the destination column: the staged text no longer fits.
    if kind == "postgresql":
        env.dest_sql(f"ALTER TABLE {env.qualified} ALTER COLUMN v TYPE bigint USING length(v)")
    else:  # a lax session, so the ALTER itself turns the text into numbers
        env.dest_sql("SET SESSION sql_mode = ''", f"ALTER TABLE {env.qualified} MODIFY v BIGINT")
    before = env.rows()
    assert before and all(isinstance(v, int) for _, v in before)

    env.src_sql(f"UPDATE {src} SET v = 'new' || id, ts = ts + 1000 WHERE id <= 10")
    run = env.run()
    want = "is of type bigint" if kind == "postgresql" else "Incorrect integer value"
    env.assert_failed(run, "error", want)
    assert env.rows() == before

    env.set_query(f"SELECT id, length(v)::bigint AS v, ts FROM {src}")
    env.ok(full_refresh=True)
    assert env.rows() == [(i, len(v)) for i, v in _source_rows(env, src)]


# -- a check fails ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_failing_check_rolls_the_merge_back(make_env: Callable[[str], Env], kind: str) -> None:
    env = make_env(kind)
    src = _source_table(env, 50)
    env.add_module(source_query=f"SELECT id, v FROM {src}", merge_strategy="full")
    env.store.checks.add(
        env.module, "no_bad", sql=f"SELECT id, v FROM {env.qualified} WHERE v LIKE 'bad%'"
    )
    run = env.ok()
    assert "check no_bad passed" in (run.live_log or "")
    before = env.rows()
    assert before == expected(50)

    env.src_sql(
        f"UPDATE {src} SET v = 'bad' || id WHERE id IN (7, 8, 9)",
        f"DELETE FROM {src} WHERE id > 40",
        f"INSERT INTO {src} VALUES (99, 'v99', 99)",
    )
    run = env.run()
    env.assert_failed(run, "error", "check 'no_bad' failed", "(7, 'bad7')", "rolled back")
    assert run.check_sql and "no_bad" in run.check_sql
    assert env.rows() == before

    env.src_sql(f"UPDATE {src} SET v = 'good' || id WHERE v LIKE 'bad%'")
    env.ok()
    assert env.rows() == _source_rows(env, src)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_failed_run_with_a_new_source_column(make_env: Callable[[str], Env], kind: str) -> None:
    env = make_env(kind)
    src = _source_table(env, 20)
    env.add_module(source_query=f"SELECT id, v FROM {src}", merge_strategy="full")
    env.store.checks.add(
        env.module, "no_bad", sql=f"SELECT id FROM {env.qualified} WHERE v LIKE 'bad%'"
    )
    env.ok()
    before = env.rows()

    env.set_query(f"SELECT id, v, ts AS extra FROM {src}")
    env.src_sql(f"UPDATE {src} SET v = 'bad' || id WHERE id = 3")
    run = env.run()
    env.assert_failed(run, "error", "check 'no_bad' failed")
    assert "added column extra" in (run.live_log or "")
    assert env.rows() == before
    with env.dest() as d:
        names = [c.name for c in d.list_columns(env.ref)]
    if kind == "mysql":
        # MariaDB commits DDL at once: the added column stays, NULL in every row
        assert names == ["id", "v", "extra"]
        assert {r[1] for r in env.rows("id, extra") or []} == {None}
    else:
        assert names == ["id", "v"]  # the ALTER TABLE was rolled back with the merge

    env.src_sql(f"UPDATE {src} SET v = 'good' WHERE id = 3")
    env.ok()
    assert env.rows("id, v, extra") == _source_rows(env, src, "id, v, ts")


# -- cancel -------------------------------------------------------------------------


def _cancel_when(
    env: Env,
    progress: Progress,
    pred: Callable[[RunEvent], bool],
    how: str,
    cancel: threading.Event,
    *,
    also: Callable[[], bool] | None = None,
) -> tuple[threading.Thread, dict[str, float]]:
    """A thread that cancels the run once `pred` holds (and `also`, polled)."""
    stamp: dict[str, float] = {}

    def go() -> None:
        event = progress.wait_for(pred)
        if also is not None:
            wait_until(also, 20, "the statement to start")
        stamp["at"] = time.monotonic()
        if how == "event":
            cancel.set()
        else:  # like `pipekit runs cancel` in another process: its own store
            with Store.open(env.db_path) as other:
                assert other.runs.request_cancel(event.run_id)

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread, stamp


CANCEL_STAGING = [
    ("postgresql", "event"),
    ("postgresql", "request"),
    ("mysql", "request"),
    ("duckdb", "event"),
]


@pytest.mark.parametrize(("kind", "how"), CANCEL_STAGING)
def test_cancel_while_staging(make_env: Callable[[str], Env], kind: str, how: str) -> None:
    env = make_env(kind)
    env.add_module(source_query=fast_query(1000), key_sync=True)
    env.ok()
    before = env.rows()
    # A failure hook must still run on the destination connection the cancel
    # interrupted (a KILL QUERY must not hit the statements after it).
    log = f"hooklog_{env.module}"
    env.dest_sql(f"CREATE TABLE {log} (name varchar(20))")
    env.store.hooks.add(env.module, f"INSERT INTO {log} VALUES ('failed')", run_on="failure")

    env.set_query(SLOW_QUERY)
    progress, cancel = Progress(), threading.Event()
    thread, stamp = _cancel_when(
        env, progress, lambda e: e.phase == "staging" and e.rows > 0, how, cancel
    )
    run = env.run(cancel=cancel, on_event=progress)
    took = time.monotonic() - stamp["at"]
    thread.join()
    env.assert_failed(run, "cancelled", "cancelled")
    assert took < 5, f"the run went on for {took:.1f} s after the cancel"
    assert 0 < progress.max_rows < 999_000
    assert env.rows() == before
    assert "hook 1 (failure): ok" in (run.hook_sql or ""), run.live_log
    with env.dest() as d:
        assert d.query(f"SELECT name FROM {log}") == [("failed",)]

    env.set_query(fast_query(5000, "w"))
    env.ok()
    # incremental on id: ids up to 1000 are not re-read and keep their values
    assert env.rows() == expected(1000) + expected(5000, "w", start=1001)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_cancel_while_merging_a_first_run(make_env: Callable[[str], Env], kind: str) -> None:
    env = make_env(kind)
    env.add_module(source_query=fast_query(2000), merge_strategy="full")
    env.store.checks.add(env.module, "slow", sql=SLEEPING_CHECK[kind].format(secs=20))
    how = "request" if kind in ("mysql", "sqlite") else "event"
    progress, cancel = Progress(), threading.Event()
    if kind in SERVERS:
        running: Callable[[], bool] = lambda: statement_running(env, "pipekit_check")  # noqa: E731
    else:
        running = lambda: time.sleep(0.5) or True  # noqa: E731
    thread, stamp = _cancel_when(
        env, progress, lambda e: e.phase == "merge", how, cancel, also=running
    )
    run = env.run(cancel=cancel, on_event=progress)
    took = time.monotonic() - stamp["at"]
    thread.join()
    env.assert_failed(run, "cancelled", "cancelled")
    assert took < 5, f"the run went on for {took:.1f} s after the cancel"
    assert "merging into" in (run.live_log or "")
    # MariaDB commits DDL at once, so its CREATE TABLE stays (empty); elsewhere the
    # CREATE TABLE was part of the rolled-back transaction.
    assert env.rows() == ([] if kind == "mysql" else None)

    env.store.checks.remove(env.module, "slow")
    env.ok()
    assert env.rows() == expected(2000)


def test_cancel_before_the_source_returns_a_row(make_env: Callable[[str], Env]) -> None:
    """A source query still working on its first row (a sort, a slow plan) is cancelled
    on the server: the run does not wait for it."""
    env = make_env("postgresql")
    env.add_module(source_query=fast_query(100), merge_strategy="full")
    env.ok()
    before = env.rows()
    env.set_query(
        "SELECT g AS id, 'w' || g AS v FROM generate_series(1, 100) g "
        "WHERE (SELECT true FROM pg_sleep(30))"
    )
    progress, cancel = Progress(), threading.Event()
    thread, stamp = _cancel_when(env, progress, lambda e: e.phase == "staging", "event", cancel)
    run = env.run(cancel=cancel, on_event=progress)
    took = time.monotonic() - stamp["at"]
    thread.join()
    env.assert_failed(run, "cancelled", "cancelled")
    assert took < 5, f"the run went on for {took:.1f} s after the cancel"
    assert env.rows() == before


@pytest.mark.parametrize("kind", SERVERS)
def test_cancel_while_staging_key_sync_keys(make_env: Callable[[str], Env], kind: str) -> None:
    env = make_env(kind)
    env.add_module(source_query=fast_query(1000), key_sync=True)
    env.ok()
    before = env.rows()

    # Rows 1..500 are gone from the source; listing the source keys is slow.
    env.set_query(f"SELECT id, v FROM ({fast_query(2000)}) q WHERE id > 500")
    env.store.modules.update(
        env.module,
        key_sync_query=(
            "SELECT g AS id FROM generate_series(501, 1000000) g "
            "WHERE pk_slow(g, 80000, 5000, 0.15)"
        ),
    )
    progress, cancel = Progress(), threading.Event()
    thread, stamp = _cancel_when(env, progress, lambda e: e.phase == "keys", "request", cancel)
    run = env.run(cancel=cancel, on_event=progress)
    took = time.monotonic() - stamp["at"]
    thread.join()
    env.assert_failed(run, "cancelled", "cancelled")
    assert took < 5, f"the run went on for {took:.1f} s after the cancel"
    assert "staged 1,000 rows" in (run.live_log or "")  # ids 1001..2000
    assert env.rows() == before  # neither the new rows nor the key_sync deletes

    env.store.modules.update(env.module, key_sync_query=None)
    env.ok()
    assert env.rows() == expected(2000, start=501)


def test_cancel_stops_a_group_run(make_env: Callable[[str], Env]) -> None:
    from pipekit.engine.run import run_group

    env = make_env("postgresql")
    env.add_module(source_query=fast_query(1000), merge_strategy="full")
    env.ok()
    before = env.rows()
    env.set_query(SLOW_QUERY)
    second = f"{env.module}_b"
    env.store.modules.add(
        second, source="src", dest="dw", dest_table=f"{env.table}_b",
        source_query=fast_query(10), merge_strategy="full",
    )  # fmt: skip
    env.store.groups.add(f"g_{env.module}", members=[env.module, second])

    progress, cancel = Progress(), threading.Event()
    thread, stamp = _cancel_when(
        env, progress, lambda e: e.phase == "staging" and e.rows > 0, "event", cancel
    )
    result = run_group(Engine(env.store), f"g_{env.module}", cancel=cancel, on_event=progress)
    took = time.monotonic() - stamp["at"]
    thread.join()
    assert took < 5
    assert result.group_run.status == "cancelled"
    assert [(r.module_name, r.status) for r in result.runs] == [(env.module, "cancelled")]
    assert env.store.runs.list(module=second) == []  # the member after it never started
    env.assert_released()
    assert env.store.runs.lock_holder(second) is None
    assert env.rows() == before


# -- the process is killed --------------------------------------------------------


def _kill_when(env: Env, needle: str, *, also: Callable[[], bool] | None = None) -> tuple[int, int]:
    """Run the module in a child process and SIGKILL it once its live log shows
    `needle`; returns (pid, run id)."""
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(env.db_path), env.module, "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        run: Run | None = None
        while time.monotonic() < deadline:
            runs = env.store.runs.list(module=env.module, limit=1)
            if runs and runs[0].status == "running" and needle in (runs[0].live_log or ""):
                run = runs[0]
                break
            if proc.poll() is not None:
                out, err = proc.communicate()
                raise AssertionError(f"the child ended before '{needle}': {out!r} {err!r}")
            time.sleep(0.05)
        assert run is not None, f"the live log never showed '{needle}'"
        if also is not None:
            wait_until(also, 20, "the statement to start")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)  # reaped: a zombie would still count as alive
    assert proc.returncode == -signal.SIGKILL
    return proc.pid, run.id


def _assert_killed_then_recovered(env: Env, pid: int, run_id: int) -> Run:
    holder = env.store.runs.lock_holder(env.module)
    assert holder is not None and holder.pid == pid and holder.run_id == run_id
    assert env.store.runs.get(run_id).status == "running"
    run = env.ok()
    dead = env.store.runs.get(run_id)
    assert (dead.status, dead.error) == ("error", "interrupted")
    assert dead.finished_at is not None
    return run


@pytest.mark.parametrize("kind", SERVERS)
def test_killed_while_staging(make_env: Callable[[str], Env], kind: str) -> None:
    env = make_env(kind)
    env.add_module(source_query=fast_query(1000), merge_strategy="full")
    env.ok()
    before = env.rows()

    env.set_query(SLOW_QUERY)
    pid, run_id = _kill_when(env, "rows so far")
    live = env.store.runs.get(run_id).live_log or ""
    # a full refresh stages into the table it swaps in, where the destination can swap
    assert "src into staging table" in live or "src into new table" in live
    wait_until(lambda: dead_sessions_gone(env), 20, "the server to drop the dead sessions")
    assert env.rows() == before

    env.set_query(fast_query(3000, "w"))
    _assert_killed_then_recovered(env, pid, run_id)
    assert env.rows() == expected(3000, "w")


@pytest.mark.parametrize("kind", SERVERS)
def test_killed_while_merging(make_env: Callable[[str], Env], kind: str) -> None:
    env = make_env(kind)
    env.add_module(source_query=fast_query(1000), merge_strategy="full")
    env.ok()
    before = env.rows()

    env.set_query(fast_query(3000, "w"))
    env.store.checks.add(env.module, "slow", sql=SLEEPING_CHECK[kind].format(secs=2))
    pid, run_id = _kill_when(
        env, "merging into", also=lambda: statement_running(env, "pipekit_check")
    )
    # The server ends the dead session (rolling back its merge) once the check's
    # sleep returns and it finds the client gone.
    wait_until(lambda: dead_sessions_gone(env), 20, "the server to drop the dead sessions")
    assert env.rows() == before

    env.store.checks.remove(env.module, "slow")
    _assert_killed_then_recovered(env, pid, run_id)
    assert env.rows() == expected(3000, "w")


# -- a hook fails ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_failing_success_hook(make_env: Callable[[str], Env], kind: str) -> None:
    env = make_env(kind)
    env.add_module(source_query=fast_query(100), merge_strategy="full")
    log = f"hooklog_{env.module}"
    env.dest_sql(f"CREATE TABLE {log} (name varchar(20))")

    def hook(name: str) -> str:
        return f"INSERT INTO {log} (name) VALUES ('{name}')"

    env.store.hooks.add(env.module, hook("h1"), run_on="success")
    bad = env.store.hooks.add(env.module, f"INSERT INTO no_such_table_{env.module} VALUES (1)")
    env.store.hooks.add(env.module, hook("h3"), run_on="success")
    env.store.hooks.add(env.module, hook("h4"), run_on="failure")
    env.store.hooks.add(env.module, hook("h5"), run_on="always")

    def ran() -> list[str]:
        with env.dest() as d:
            return sorted(r[0] for r in d.query(f"SELECT name FROM {log}"))

    run = env.run()
    assert run.status == "error"
    assert run.error and run.error.startswith("hook 2 (success) failed")
    assert "no_such_table" in run.error and "stays committed" in run.error
    assert "(destination unchanged)" not in (run.live_log or "")
    env.assert_released()
    assert env.rows() == expected(100)  # committed before the hooks ran
    assert run.row_count == 100
    assert ran() == ["h1", "h4", "h5"]  # after the failure only failure/always hooks
    hook_sql = run.hook_sql or ""
    assert "hook 2 (success): FAILED" in hook_sql and "hook 4 (failure): ok" in hook_sql
    assert "h3" not in hook_sql

    env.store.hooks.remove(bad.id)
    env.set_query(fast_query(200, "w"))
    env.ok()
    assert env.rows() == expected(200, "w")
    assert ran() == ["h1", "h1", "h3", "h4", "h5", "h5"]
