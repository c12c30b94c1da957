"""PostgreSQL-specific behaviour: server-side streaming and numeric handling."""

from __future__ import annotations

import decimal

import pyarrow as pa

from pipekit.drivers import connect
from pipekit.drivers.base import Driver


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
