"""PostgreSQL-specific behaviour: server-side streaming and numeric handling."""

from __future__ import annotations

import decimal

import pyarrow as pa

from pipekit.drivers import connect
from pipekit.drivers.base import Driver, TableRef


def _open(pg_url: str) -> Driver:
    return connect(pg_url, user="postgres")


def test_reads_while_the_server_still_produces(pg_url: str) -> None:
    reader_conn, observer = _open(pg_url), _open(pg_url)
    try:
        reader = reader_conn.read(
            "SELECT g::bigint AS id FROM generate_series(1, 5000000) g", batch_rows=10_000
        )
        first = reader.read_next_batch()
        assert first.num_rows <= 10_000
        active = observer.query(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
            "AND query LIKE 'COPY (SELECT g::bigint AS id FROM generate_series(1, 5000000)%'"
        )[0][0]
        # The COPY is still running after the first batch arrived: streamed, not buffered.
        assert active == 1
        reader.close()
    finally:
        reader_conn.close()
        observer.close()


def test_numeric_keeps_precision_and_unconstrained_numeric_stays_exact(pg_url: str) -> None:
    d = _open(pg_url)
    try:
        table = d.read(
            "SELECT 12345678901234567890.1234567890::numeric(38,10) AS fixed, "
            "1.00000000000000000000000000000000000000001::numeric AS free"
        ).read_all()
        assert table.schema.field("fixed").type == pa.decimal128(38, 10)
        assert table.column("fixed")[0].as_py() == decimal.Decimal(
            "12345678901234567890.1234567890"
        )
        # Unconstrained numeric has no scale to map to; it travels as its exact text.
        assert table.column("free")[0].as_py() == "1.00000000000000000000000000000000000000001"
    finally:
        d.close()


def test_timestamptz_arrives_in_utc(pg_url: str) -> None:
    d = _open(pg_url)
    try:
        d.execute("SET TIME ZONE 'America/New_York'")
        table = d.read("SELECT '2024-01-01 12:00:00.000001+05'::timestamptz AS at").read_all()
        assert table.schema.field("at").type == pa.timestamp("us", tz="UTC")
        value = table.column("at")[0].as_py()
        assert (value.hour, value.microsecond) == (7, 1)
    finally:
        d.close()


def test_staging_tables_are_unlogged_and_other_tables_are_not(pg_url: str) -> None:
    """Staged rows are rebuilt by the next run, so they skip the WAL; a table that may
    become the destination (or any other) stays crash-safe."""
    d = _open(pg_url)
    schema = pa.schema([("id", pa.int64()), ("v", pa.string())])
    try:
        d.create_table("pk_staged_t", schema, staging=True)
        d.create_table("pk_plain_t", schema, ["id"])
        kinds = dict(
            d.query(
                "SELECT relname, relpersistence FROM pg_class "
                "WHERE relname IN ('pk_staged_t', 'pk_plain_t')"
            )
        )
        assert kinds == {"pk_staged_t": "u", "pk_plain_t": "p"}
    finally:
        d.drop_table("pk_staged_t")
        d.drop_table("pk_plain_t")
        d.close()


def test_replace_by_key_writes_every_row_and_counts_the_replaced(pg_url: str) -> None:
    """The one-statement incremental merge: new keys inserted, existing ones rewritten,
    and the count tells them apart also for rows written earlier in the transaction."""
    d = _open(pg_url)
    dest, staged = TableRef("pk_rbk_dest"), TableRef("pk_rbk_staged")
    try:
        d.execute("CREATE TABLE pk_rbk_dest (id int PRIMARY KEY, v text)")
        d.execute("INSERT INTO pk_rbk_dest VALUES (1, 'a'), (2, 'b')")
        d.execute("CREATE TABLE pk_rbk_staged (id int, v text)")
        d.execute("INSERT INTO pk_rbk_staged VALUES (2, 'B'), (3, 'C'), (4, 'D')")
        sql = d.dialect.replace_by_key_sql(dest, staged, ["id", "v"], ["id"], {})
        assert sql is not None
        with d.transaction():
            assert d.query(sql) == [(1,)]
            assert d.query(sql) == [(3,)]  # now every staged key is there
        rows = d.query("SELECT id, v FROM pk_rbk_dest ORDER BY id")
        assert rows == [(1, "a"), (2, "B"), (3, "C"), (4, "D")]
        # a table of key columns alone has nothing to rewrite: delete and insert it is
        assert d.dialect.replace_by_key_sql(dest, staged, ["id"], ["id"], {}) is None
    finally:
        d.drop_table("pk_rbk_dest")
        d.drop_table("pk_rbk_staged")
        d.close()


def test_a_deferrable_primary_key_is_not_reported_as_one(pg_url: str) -> None:
    """It checks only at commit and cannot arbitrate ON CONFLICT."""
    d = _open(pg_url)
    try:
        d.execute("CREATE TABLE pk_deferred (id int PRIMARY KEY DEFERRABLE, v text)")
        d.execute("CREATE TABLE pk_immediate (id int PRIMARY KEY, v text)")
        assert [c.primary_key for c in d.list_columns("pk_deferred")] == [False, False]
        assert [c.primary_key for c in d.list_columns("pk_immediate")] == [True, False]
    finally:
        d.drop_table("pk_deferred")
        d.drop_table("pk_immediate")
        d.close()


def test_count_alongside_counts_the_table_as_the_transaction_began_it(pg_url: str) -> None:
    """A second session counts while this one writes: it sees the table as it was
    when the count began, not the rows written meanwhile."""
    d = _open(pg_url)
    table = TableRef("pk_alongside")
    try:
        d.execute("CREATE TABLE pk_alongside (id int PRIMARY KEY)")
        d.execute("INSERT INTO pk_alongside SELECT generate_series(1, 1000)")
        assert d.query("SELECT 1")  # outside a transaction there is nothing to share
        with d.count_alongside(table) as none:
            assert none is None
        with d.transaction(), d.count_alongside(table) as counted:
            assert counted is not None
            d.execute("INSERT INTO pk_alongside SELECT generate_series(1001, 1500)")
            assert counted() == 1000
        assert d.query("SELECT count(*) FROM pk_alongside") == [(1500,)]
    finally:
        d.drop_table("pk_alongside")
        d.close()


def test_count_alongside_gives_up_rather_than_wait_for_a_lock(pg_url: str) -> None:
    """A lock its own transaction holds would make the count wait for the commit that
    waits for the count: it gives up and says so (None), and nothing hangs."""
    d = _open(pg_url)
    try:
        d.execute("CREATE TABLE pk_alongside_locked (id int)")
        with d.transaction():
            d.execute("LOCK TABLE pk_alongside_locked IN ACCESS EXCLUSIVE MODE")
            with d.count_alongside(TableRef("pk_alongside_locked")) as counted:
                assert counted is not None
                assert counted() is None
    finally:
        d.drop_table("pk_alongside_locked")
        d.close()
