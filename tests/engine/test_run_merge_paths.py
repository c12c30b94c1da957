"""Which statements an incremental merge into PostgreSQL runs, and that each way
leaves the rows a delete-and-insert would: one ``INSERT … ON CONFLICT DO UPDATE``
when the table's primary key is the merge key and the merge writes every column,
the DELETE and INSERT pair otherwise."""

from __future__ import annotations

from typing import Any

from pipekit.store import Store
from tests.helpers import Setup, ok


def _second_run(s: Setup) -> Any:
    """Change rows 2 and 3, add 6 and 7, and run the module again."""
    s.sql("UPDATE {t} SET v = 'changed', n = n + 1000 WHERE id IN (2, 3)")
    s.sql("INSERT INTO {t} VALUES (6, 'v6', 60), (7, 'v7', 70)")
    return ok(s.run())


def test_keyed_table_is_merged_in_one_statement_with_exact_counts(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    s = Setup(run_store, run_urls, watermark_column="n")
    ok(s.run())
    run = _second_run(s)
    assert "ON CONFLICT" in (run.merge_sql or "")
    assert "DELETE" not in (run.merge_sql or "")
    # rows 2 and 3 replaced (n moved past the watermark), 6 and 7 new
    assert (
        run.rows_read,
        run.rows_inserted,
        run.rows_replaced,
        run.rows_deleted,
        run.rows_cleared,
        run.row_count,
    ) == (4, 4, 2, 0, 0, 7)
    assert s.dest_rows() == s.source_rows()
    assert "read 4, inserted 4, replaced 2, deleted 0, cleared 0, total 7" in (run.live_log or "")


def test_a_rerun_of_the_same_rows_counts_them_all_as_replaced(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    """`>=` re-reads the rows at the watermark: they replace themselves, none is new."""
    s = Setup(run_store, run_urls, watermark_column="n", watermark_op=">=")
    ok(s.run())
    run = ok(s.run())
    assert (
        run.rows_read,
        run.rows_inserted,
        run.rows_replaced,
        run.rows_deleted,
        run.rows_cleared,
        run.row_count,
    ) == (1, 1, 1, 0, 0, 5)
    assert s.dest_rows() == s.source_rows()


def test_a_column_the_merge_does_not_write_keeps_delete_and_insert(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    """A column only the destination has (a source column dropped since, say) is NULL
    on a re-inserted row; an in-place update would have kept its old value."""
    s = Setup(run_store, run_urls, watermark_column="n")
    ok(s.run())
    s.dest_sql("ALTER TABLE {d} ADD COLUMN note varchar(10)")
    s.dest_sql("UPDATE {d} SET note = 'old'")
    run = _second_run(s)
    assert "DELETE" in (run.merge_sql or "") and "ON CONFLICT" not in (run.merge_sql or "")
    assert (run.rows_inserted, run.rows_replaced, run.rows_deleted, run.row_count) == (4, 2, 0, 7)
    assert s.dest_rows() == s.source_rows()
    from tests.helpers import table_rows

    notes = dict(table_rows(s.dest_url, s.dest, ["id", "note"]))
    assert notes == {1: "old", 2: None, 3: None, 4: "old", 5: "old", 6: None, 7: None}


def test_a_table_keyed_otherwise_or_deferrably_keeps_delete_and_insert(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    """ON CONFLICT needs a key that checks at once on exactly the merge key."""
    s = Setup(run_store, run_urls, watermark_column="n")
    s.dest_sql(
        "CREATE TABLE {d} (id int, v varchar(20), n int, "
        "PRIMARY KEY (id) DEFERRABLE INITIALLY DEFERRED)"
    )
    ok(s.run())
    run = _second_run(s)
    assert "DELETE" in (run.merge_sql or "") and "ON CONFLICT" not in (run.merge_sql or "")
    assert (run.rows_inserted, run.rows_replaced, run.rows_deleted, run.row_count) == (4, 2, 0, 7)
    assert s.dest_rows() == s.source_rows()


def test_a_new_key_staged_twice_is_refused_and_worded(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    """Two rows of one new key: the second conflicts with the first inside the
    statement, the merge rolls back, and the error names the key."""
    s = Setup(
        run_store,
        run_urls,
        query="SELECT id, v, n FROM {src} UNION ALL SELECT id, 'again', n FROM {src} WHERE n > 60",
        watermark_column="n",
    )
    ok(s.run())
    before = s.dest_rows()
    s.sql("INSERT INTO {t} VALUES (8, 'v8', 80)")
    run = s.run()
    assert run.status == "error"
    assert "the source returned the merge key (id) more than once: (8) x2" in (run.error or "")
    assert s.dest_rows() == before


def _duckdb_key(s: Setup) -> list[str]:
    from tests.helpers import open_db

    with open_db(s.dest_url) as d:
        return [c.name for c in d.list_columns(s.dest) if c.primary_key]


def test_duckdb_tables_are_created_without_a_key_and_upsert_merges_by_join(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    """DuckDB holds a primary key's index wholly in memory, so Pipekit's tables there
    have none; upsert is a MERGE INTO that matches by the keys and still replaces
    rows in place rather than adding a second row per key."""
    s = Setup(run_store, run_urls, "duckdb", merge_strategy="upsert")
    ok(s.run())
    assert _duckdb_key(s) == []
    run = _second_run(s)
    assert "MERGE INTO" in (run.merge_sql or "")
    assert (run.rows_read, run.rows_inserted, run.row_count) == (7, 7, 7)
    assert s.dest_rows() == s.source_rows()


def test_duckdb_upsert_keeps_a_key_the_user_declared_and_columns_it_does_not_write(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    s = Setup(run_store, run_urls, "duckdb", merge_strategy="upsert")
    s.dest_sql("CREATE SCHEMA IF NOT EXISTS sync")
    s.dest_sql("CREATE TABLE {d} (id int PRIMARY KEY, v varchar(20), n int, note varchar(10))")
    s.dest_sql("INSERT INTO {d} VALUES (1, 'v1', 10, 'mine')")
    ok(s.run())
    run = _second_run(s)
    assert run.row_count == 7
    assert _duckdb_key(s) == ["id"]
    assert s.dest_rows() == s.source_rows()
    from tests.helpers import table_rows

    notes = dict(table_rows(s.dest_url, s.dest, ["id", "note"]))
    assert notes == {1: "mine", 2: None, 3: None, 4: None, 5: None, 6: None, 7: None}


def test_duckdb_upsert_refuses_a_key_staged_twice_before_changing_anything(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    """Without a key in the table nothing else would stop the second row, so the
    staged rows are grouped by key first."""
    s = Setup(
        run_store,
        run_urls,
        "duckdb",
        query="SELECT id, v, n FROM {src} UNION ALL SELECT id, 'again', n FROM {src} WHERE n > 60",
        merge_strategy="upsert",
    )
    ok(s.run())
    before = s.dest_rows()
    s.sql("INSERT INTO {t} VALUES (8, 'v8', 80)")
    run = s.run()
    assert run.status == "error"
    assert "the source returned the merge key (id) more than once: (8) x2" in (run.error or "")
    assert s.dest_rows() == before


#: a check (they run inside the merge transaction) that fails unless DuckDB's memory
#: limit there is the load's 64 MB cap
CAPPED = "SELECT current_setting('memory_limit') AS m WHERE m <> '61.0 MiB'"


def test_duckdb_merges_that_insert_and_delete_run_under_the_memory_cap(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    """Capped, DuckDB spills the INSERT of every staged row to the file."""
    s = Setup(run_store, run_urls, "duckdb", watermark_column="n")
    run_store.checks.add("m", "capped", sql=CAPPED)
    ok(s.run())
    _second_run(s)
    assert s.dest_rows() == s.source_rows()


def test_duckdb_upserts_run_with_the_memory_duckdb_wants(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    """DuckDB holds an UPDATE's new values in memory: a cap would fail it."""
    s = Setup(run_store, run_urls, "duckdb", merge_strategy="upsert")
    ok(s.run())  # a first load: a new table renamed into place, capped
    run_store.checks.add("m", "uncapped", sql=CAPPED.replace("<>", "="))
    _second_run(s)
    assert s.dest_rows() == s.source_rows()
