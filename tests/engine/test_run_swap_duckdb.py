"""Full refreshes into DuckDB by load-and-swap: the rows land in a new table beside the
old one (DuckDB cannot move a table between schemas), which one transaction renames
into place with the old table's NOT NULLs, defaults, comments and primary key. A
table a swap would change (an index) is cleared and refilled instead; a
failure at any step leaves the old table as it was."""

from __future__ import annotations

from typing import Any

from pipekit.store import Store
from tests.helpers import Setup, ok, open_db

#: a check (it runs inside the merge transaction) that fails while DuckDB's memory
#: limit is the 64 MB cap of capped statements
UNCAPPED = "SELECT current_setting('memory_limit') AS m WHERE m = '61.0 MiB'"


def _q(s: Setup, sql: str) -> list[tuple[Any, ...]]:
    with open_db(s.dest_url) as d:
        return d.query(sql.replace("{d}", d.table_sql(s.dest)))


def _tables(s: Setup) -> list[str]:
    with open_db(s.dest_url) as d:
        return d.list_tables(s.dest.split(".")[0])


def test_a_first_load_lands_in_a_new_table_renamed_into_place(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    s = Setup(run_store, run_urls, "duckdb", rows=20, merge_strategy="full")
    run = ok(s.run())
    sql = run.merge_sql or ""
    assert 'CREATE TABLE "sync"."pipekit_staging__m"' in sql
    assert 'ALTER TABLE "sync"."pipekit_staging__m" RENAME TO' in sql
    assert "INSERT INTO" not in sql and "DELETE FROM" not in sql
    assert "new table sync.pipekit_staging__m" in (run.live_log or "")
    assert s.dest_rows() == s.source_rows()
    assert _tables(s) == [s.dest.split(".")[1]]  # nothing left beside it


def test_full_refresh_swaps_keeping_not_nulls_defaults_comments_key_and_views(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    s = Setup(run_store, run_urls, "duckdb", rows=30, merge_strategy="full")
    ok(s.run())
    schema, name = s.dest.split(".")
    s.dest_sql("ALTER TABLE {d} ALTER COLUMN v SET NOT NULL")
    s.dest_sql("ALTER TABLE {d} ADD COLUMN note VARCHAR DEFAULT 'kept'")
    s.dest_sql("ALTER TABLE {d} ADD PRIMARY KEY (id)")
    s.dest_sql("COMMENT ON TABLE {d} IS 'orders, refreshed nightly'")
    s.dest_sql(f"COMMENT ON COLUMN {schema}.{name}.v IS 'the v'")
    s.dest_sql(f"CREATE VIEW {schema}.v_{name} AS SELECT id, note FROM {{d}} WHERE id > 5")
    s.sql("DELETE FROM {t} WHERE id > 20")
    s.sql("UPDATE {t} SET v = 'changed' WHERE id = 3")

    run = ok(s.run())
    sql = run.merge_sql or ""
    assert f'DROP TABLE "{schema}"."{name}"' in sql and "DELETE FROM" not in sql
    assert "building the primary key" in (run.live_log or "")
    assert (
        run.rows_read,
        run.rows_inserted,
        run.rows_replaced,
        run.rows_deleted,
        run.rows_cleared,
        run.row_count,
    ) == (20, 20, 0, 0, 30, 20)
    assert s.dest_rows() == s.source_rows()
    columns = _q(
        s,
        "SELECT column_name, is_nullable, column_default, comment FROM duckdb_columns() "
        f"WHERE schema_name = '{schema}' AND table_name = '{name}' ORDER BY column_index",
    )
    assert columns == [
        ("id", False, None, None),
        ("v", False, None, "the v"),
        ("n", True, None, None),
        ("note", True, "'kept'", None),
    ]
    assert _q(
        s,
        "SELECT constraint_column_names FROM duckdb_constraints() WHERE constraint_type = "
        f"'PRIMARY KEY' AND schema_name = '{schema}' AND table_name = '{name}'",
    ) == [(["id"],)]
    assert _q(
        s,
        f"SELECT comment FROM duckdb_tables() WHERE schema_name = '{schema}' "
        f"AND table_name = '{name}'",
    ) == [("orders, refreshed nightly",)]
    # the column only the destination has took its default; the view reads the new table
    assert _q(s, f"SELECT count(*), min(note), max(note) FROM {schema}.v_{name}") == [
        (15, "kept", "kept")
    ]
    assert sorted(_tables(s)) == [name, f"v_{name}"]  # the view; nothing else left


def test_an_index_keeps_the_table_cleared_and_refilled_without_the_cap(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    s = Setup(run_store, run_urls, "duckdb", rows=20, merge_strategy="full")
    ok(s.run())
    name = s.dest.split(".")[1]
    s.dest_sql(f"CREATE INDEX i_{name} ON {{d}} (v)")
    s.sql("DELETE FROM {t} WHERE id > 12")
    # clearing a table holds every deleted row's id in memory: no cap for that merge
    run_store.checks.add("m", "uncapped", sql=UNCAPPED)

    run = ok(s.run())
    sql = run.merge_sql or ""
    assert "DELETE FROM" in sql and "RENAME" not in sql
    log = run.live_log or ""
    assert "refreshed through staging, not swapped" in log
    assert f"it has indexes besides its primary key: i_{name}" in log
    assert s.dest_rows() == s.source_rows()
    assert run.row_count == 12


def test_a_failing_check_leaves_the_old_table(run_store: Store, run_urls: dict[str, str]) -> None:
    s = Setup(run_store, run_urls, "duckdb", rows=10, merge_strategy="full")
    ok(s.run())
    s.dest_sql("COMMENT ON TABLE {d} IS 'old'")
    before = s.dest_rows()
    s.sql("DELETE FROM {t} WHERE id > 2")
    run_store.checks.add("m", "enough_rows", sql=f"SELECT 1 FROM {s.dest} HAVING count(*) < 5")
    run = s.run()
    assert run.status == "error" and "enough_rows" in (run.error or "")
    assert s.dest_rows() == before
    schema, name = s.dest.split(".")
    assert _q(
        s,
        f"SELECT comment FROM duckdb_tables() WHERE schema_name = '{schema}' "
        f"AND table_name = '{name}'",
    ) == [("old",)]
    # the new table stays for a look until the next run, which drops it first
    assert sorted(_tables(s)) == sorted([name, "pipekit_staging__m"])
    run_store.checks.remove("m", "enough_rows")
    ok(s.run())
    assert s.dest_rows() == s.source_rows()
    assert _tables(s) == [name]


def test_duplicate_keys_of_long_strings_are_named_and_change_nothing(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    """The check groups a hash of the key first; the keys it names are the real ones."""
    s = Setup(
        run_store,
        run_urls,
        "duckdb",
        rows=40,
        merge_strategy="full",
        merge_key="v, n",
        query="SELECT id, repeat(v, 50) AS v, n FROM {src}",
    )
    ok(s.run())
    before = s.dest_rows()
    run_store.modules.update(
        "m",
        source_query=f"SELECT id, repeat(v, 50) AS v, n FROM {s.src} "
        f"UNION ALL SELECT 99, repeat('v7', 50), 70 UNION ALL SELECT 98, repeat('v7', 50), 70",
    )
    run = s.run()
    assert run.status == "error"
    assert f"more than once: ({'v7' * 50}, 70) x3" in (run.error or "")
    assert "nothing was changed" in (run.error or "")
    assert s.dest_rows() == before
