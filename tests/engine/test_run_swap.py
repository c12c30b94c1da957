"""Full refreshes into PostgreSQL by load-and-swap: the new table takes the old one's
place with its grants, comment and key name; anything a swap would lose or break
(a view, a trigger, an extra index) keeps the table merging through staging; a
failure at any step leaves the old table as it was."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from pipekit.engine.run import Engine, RunEvent
from pipekit.store import Store
from tests.helpers import Setup, ok, open_db


@pytest.fixture
def role(run_servers: dict[str, str]) -> Iterator[str]:
    """A login-less role to grant to (roles are per cluster: a unique name)."""
    name = f"pk_reader_{uuid.uuid4().hex[:8]}"
    with open_db(run_servers["postgresql"]) as d:
        d.execute(f"CREATE ROLE {name}")
    yield name
    with open_db(run_servers["postgresql"]) as d:
        d.execute(f"DROP OWNED BY {name}")
        d.execute(f"DROP ROLE {name}")


def _q(s: Setup, sql: str) -> list[tuple[Any, ...]]:
    with open_db(s.dest_url) as d:
        return d.query(sql.replace("{d}", d.table_sql(s.dest)).replace("{name}", s.dest))


def _pk_name(s: Setup) -> str | None:
    rows = _q(
        s, "SELECT conname FROM pg_constraint WHERE conrelid = '{d}'::regclass AND contype = 'p'"
    )
    return rows[0][0] if rows else None


def test_full_refresh_swaps_in_a_new_table_keeping_grants_comment_and_key(
    run_store: Store, run_urls: dict[str, str], role: str
) -> None:
    s = Setup(run_store, run_urls, rows=50, merge_strategy="full", audit_columns=True)
    first = ok(s.run())
    assert "RENAME TO" in (first.merge_sql or "") and "TRUNCATE" not in (first.merge_sql or "")
    assert s.dest_rows() == s.source_rows()
    assert _pk_name(s) == f"{s.dest.split('.')[-1]}_pkey"

    s.dest_sql(f"GRANT SELECT, INSERT ON {{d}} TO {role} WITH GRANT OPTION")
    s.dest_sql("GRANT SELECT ON {d} TO PUBLIC")
    s.dest_sql("COMMENT ON TABLE {d} IS 'orders, refreshed nightly'")
    s.dest_sql("ALTER TABLE {d} RENAME CONSTRAINT " + f"{_pk_name(s)} TO my_key")
    old_oid = _q(s, "SELECT '{d}'::regclass::oid")[0][0]

    s.sql("DELETE FROM {t} WHERE id <= 10")
    s.sql("UPDATE {t} SET v = 'changed' WHERE id = 20")
    s.sql("INSERT INTO {t} VALUES (99, 'new', 990)")
    run = ok(s.run())

    assert s.dest_rows() == s.source_rows()
    assert (
        run.rows_read,
        run.rows_inserted,
        run.rows_replaced,
        run.rows_deleted,
        run.rows_cleared,
        run.row_count,
    ) == (41, 41, 0, 0, 50, 41)
    assert _q(s, "SELECT '{d}'::regclass::oid")[0][0] != old_oid  # a new table, swapped in
    assert "new table" in (run.live_log or "")
    grants = _q(
        s,
        "SELECT grantee, privilege_type, is_grantable FROM information_schema.role_table_grants "
        f"WHERE table_name = '{s.dest.split('.')[-1]}' AND grantee IN ('{role}', 'PUBLIC') "
        "ORDER BY 1, 2",
    )
    assert grants == [
        ("PUBLIC", "SELECT", "NO"),
        (role, "INSERT", "YES"),
        (role, "SELECT", "YES"),
    ]
    assert _q(s, "SELECT obj_description('{d}'::regclass, 'pg_class')") == [
        ("orders, refreshed nightly",)
    ]
    assert _pk_name(s) == "my_key"
    audit = _q(s, "SELECT DISTINCT _pipekit_run_id FROM {d}")
    assert audit == [(run.id,)]
    # the audit values came from column defaults during the load: none may remain
    assert _q(s, "SELECT count(*) FROM pg_attrdef WHERE adrelid = '{d}'::regclass") == [(0,)]
    with open_db(s.dest_url) as d:
        assert not d.table_exists("pipekit_staging.m")


def test_a_view_on_the_table_keeps_it_merging_through_staging(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    s = Setup(run_store, run_urls, rows=20, merge_strategy="full")
    ok(s.run())
    schema, name = s.dest.split(".")
    s.dest_sql(f"CREATE VIEW {schema}.v_{name} AS SELECT id, v FROM {{d}} WHERE id > 5")
    s.dest_sql(f"CREATE INDEX i_{name} ON {{d}} (v)")
    s.sql("DELETE FROM {t} WHERE id > 15")

    run = ok(s.run())
    assert "TRUNCATE" in (run.merge_sql or "") and "RENAME" not in (run.merge_sql or "")
    log = run.live_log or ""
    assert "refreshed through staging, not swapped" in log
    assert f"views or rules depend on it: {schema}.v_{name}" in log
    assert f"indexes besides its primary key: {schema}.i_{name}" in log
    assert s.dest_rows() == s.source_rows()
    assert _q(s, f"SELECT count(*) FROM {schema}.v_{name}") == [(10,)]


def test_duplicate_keys_fail_the_key_build_and_change_nothing(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    s = Setup(run_store, run_urls, rows=30, merge_strategy="full")
    ok(s.run())
    before = s.dest_rows()
    run_store.modules.update(
        "m", source_query=f"SELECT id, v, n FROM {s.src} UNION ALL SELECT 7, 'again', 0"
    )
    run = s.run()
    assert run.status == "error"
    assert "the source returned the merge key (id) more than once: (7) x2" in (run.error or "")
    assert s.dest_rows() == before
    assert "destination unchanged" in (run.live_log or "")


def test_a_failing_check_rolls_the_swap_back(
    run_store: Store, run_urls: dict[str, str], role: str
) -> None:
    s = Setup(run_store, run_urls, rows=10, merge_strategy="full")
    ok(s.run())
    s.dest_sql(f"GRANT SELECT ON {{d}} TO {role}")
    old_oid = _q(s, "SELECT '{d}'::regclass::oid")[0][0]
    before = s.dest_rows()
    s.sql("DELETE FROM {t} WHERE id > 2")
    run_store.checks.add("m", "enough_rows", sql=f"SELECT 1 FROM {s.dest} HAVING count(*) < 5")
    run = s.run()
    assert run.status == "error" and "enough_rows" in (run.error or "")
    assert s.dest_rows() == before
    assert _q(s, "SELECT '{d}'::regclass::oid")[0][0] == old_oid
    assert _q(s, f"SELECT has_table_privilege('{role}', '{{d}}', 'SELECT')") == [(True,)]


def test_a_new_source_column_is_added_by_the_swap(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    s = Setup(run_store, run_urls, rows=5, merge_strategy="full")
    ok(s.run())
    run_store.modules.update("m", source_query=f"SELECT id, v, n, n * 2 AS n2 FROM {s.src}")
    run = ok(s.run())
    assert "added column n2" in (run.schema_changes or "")
    cols = _q(
        s,
        "SELECT attname FROM pg_attribute WHERE attrelid = '{d}'::regclass AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum",
    )
    assert [c[0] for c in cols] == ["id", "v", "n", "n2"]
    assert _q(s, "SELECT sum(n2) FROM {d}") == [(300,)]


def test_a_table_that_changes_during_the_load_is_not_swapped(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    s = Setup(run_store, run_urls, rows=10, merge_strategy="full")
    ok(s.run())
    before = s.dest_rows()
    # the source takes about 3 s, long enough to create a view on the old table meanwhile
    run_store.modules.update(
        "m",
        source_query=(f"SELECT id, v, n FROM {s.src} WHERE pg_sleep(0.3) IS NOT NULL AND id > 1"),
    )
    schema, name = s.dest.split(".")
    made = threading.Event()

    def on_event(event: RunEvent) -> None:
        if event.message and "with binary COPY" in event.message and not made.is_set():
            made.set()
            s.dest_sql(f"CREATE VIEW {schema}.late_{name} AS SELECT id FROM {{d}}")

    run = Engine(run_store).run_module("m", on_event=on_event)
    assert made.is_set()
    assert run.status == "error"
    assert "changed during the run (views or rules depend on it" in (run.error or "")
    assert s.dest_rows() == before
    assert _q(s, f"SELECT count(*) FROM {schema}.late_{name}") == [(10,)]

    # the next run sees the view and merges through staging
    run_store.modules.update("m", source_query=f"SELECT id, v, n FROM {s.src} WHERE id > 1")
    run = ok(s.run())
    assert "TRUNCATE" in (run.merge_sql or "")
    assert _q(s, f"SELECT count(*) FROM {schema}.late_{name}") == [(9,)]


def test_dry_run_plans_the_swap_and_touches_nothing(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    s = Setup(run_store, run_urls, rows=5, merge_strategy="full")
    ok(s.run())
    before = s.dest_rows()
    s.sql("DELETE FROM {t}")
    run = s.run(dry_run=True)
    assert run.status == "dry_run"
    sql = run.merge_sql or ""
    assert "(LIKE" in sql and "ADD CONSTRAINT" in sql and "RENAME TO" in sql
    assert s.dest_rows() == before
    with open_db(s.dest_url) as d:
        assert not d.table_exists("pipekit_staging.m")


def test_types_that_do_not_line_up_stage_through_arrow(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    # name is no type whose binary COPY bytes Pipekit passes on (nor one a destination
    # keeps), so staging has a text column and the rows go through Arrow
    s = Setup(run_store, run_urls, rows=3, query="SELECT id, v, n::text::name AS n FROM {src}")
    run = ok(s.run())
    log = run.live_log or ""
    assert "through Arrow (column n is name at the source and text" in log, log
    assert _q(s, "SELECT n FROM {d} ORDER BY id") == [("10",), ("20",), ("30",)]


def test_numeric_without_precision_keeps_its_type_and_copies_in_binary(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    # the staging and destination columns get the source's declared numeric, so the
    # binary COPY bytes line up and every digit of the scale is kept
    s = Setup(
        run_store,
        run_urls,
        rows=5,
        query="SELECT id, v, n::numeric / 4 AS n FROM {src}",
    )
    run = ok(s.run())
    assert "with binary COPY" in (run.live_log or "")
    assert _q(s, "SELECT n::text FROM {d} ORDER BY id") == [
        (v,)
        for v in (
            "2.5000000000000000",
            "5.0000000000000000",
            "7.5000000000000000",
            "10.0000000000000000",
            "12.5000000000000000",
        )
    ]
    assert _q(s, "SELECT pg_typeof(n)::text FROM {d} LIMIT 1") == [("numeric",)]


@pytest.mark.parametrize("strategy", ["incremental", "upsert", "append"])
def test_a_first_load_of_any_strategy_is_a_swap(
    run_store: Store, run_urls: dict[str, str], strategy: str
) -> None:
    s = Setup(run_store, run_urls, rows=10, merge_strategy=strategy)
    first = ok(s.run())
    assert first.merge_strategy == strategy
    assert "RENAME TO" in (first.merge_sql or "")
    assert s.dest_rows() == s.source_rows()
    # append keeps every version of a row: no key; the others are keyed on merge_key
    expected_pk = None if strategy == "append" else f"{s.dest.split('.')[-1]}_pkey"
    assert _pk_name(s) == expected_pk

    s.sql("UPDATE {t} SET v = 'later' WHERE id = 4")
    s.sql("INSERT INTO {t} VALUES (11, 'v11', 110)")
    if strategy == "append":
        run_store.modules.update("m", source_query=f"SELECT id, v, n FROM {s.src} WHERE id > 10")
    second = ok(s.run())
    assert "RENAME" not in (second.merge_sql or "")  # the table exists: a merge now
    rows = s.dest_rows()
    assert (11, "v11", 110) in rows
    # incremental without watermark_column reads keys above the highest: 4 is not re-read
    assert ((4, "later", 40) in rows) == (strategy == "upsert")


def test_key_sync_keys_pass_through_by_position_under_other_names(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    s = Setup(run_store, run_urls, rows=20, merge_strategy="upsert", key_sync=True)
    ok(s.run())
    # the key query names its column differently: keys are taken by position
    run_store.modules.update("m", key_sync_query=f"SELECT id AS source_id FROM {s.src}")
    s.sql("DELETE FROM {t} WHERE id IN (3, 4, 5)")
    run = ok(s.run())
    assert "copying the keys with binary COPY" in (run.live_log or "")
    assert "17 source keys staged" in (run.live_log or "")
    assert s.dest_rows() == s.source_rows()


def test_tables_named_like_the_module_or_the_key_are_not_in_the_way(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    s = Setup(run_store, run_urls, rows=8, merge_strategy="full")
    schema, name = s.dest.split(".")
    with open_db(s.dest_url) as d:
        d.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        # the staging table is pipekit_staging.m: a table m in the destination schema,
        # and a table taking the name the new key would get
        d.execute(f"CREATE TABLE {schema}.m (x int)")
        d.execute(f"CREATE TABLE {schema}.{name}_pkey (y int)")
    run = ok(s.run())
    assert s.dest_rows() == s.source_rows()
    assert _pk_name(s) == f"pipekit_swap_{run.id}_pkey"  # the free name it kept
    s.sql("DELETE FROM {t} WHERE id = 1")
    ok(s.run())
    assert s.dest_rows() == s.source_rows()
    assert _pk_name(s) == f"pipekit_swap_{run.id}_pkey"  # the old key's name, carried over
    with open_db(s.dest_url) as d:
        assert d.query(f"SELECT count(*) FROM {schema}.m") == [(0,)]
        assert d.table_exists(f"{schema}.{name}_pkey")
