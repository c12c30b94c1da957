"""seeds/004 §11: the runtime (full, selective, incremental, empty, a failing table),
remote-only connectors, discover -> read -> query, large tables in bounded memory;
and the spec's defects, fixed: the incremental value stored, earlier data kept,
the swap by os.replace, schema_json as JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from pipekit.connectors import Cap, ReadOptions, TableInfo
from pipekit.connectors.builtin.sample.connector import SampleConnector
from pipekit.connectors.runtime import ConnectorRuntime
from pipekit.connectors.state import writer_lock
from pipekit.errors import ConnectorError, ConnectorSpecError, InvalidError
from tests.connectors.sources import EVENTS, MemoryConnector, RemoteOnlyConnector, event_rows


def query(out: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(out / "extract.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def state(out: Path) -> dict:
    return json.loads((out / ".pipekit" / "state.json").read_text())


def events(ids: range | list[int], **kw: object) -> MemoryConnector:
    return MemoryConnector({"events": (EVENTS, event_rows(ids))}, **kw)  # type: ignore[arg-type]


class TestConnectorRuntime:
    def test_full_run_lands_every_table_with_meta_and_views(self, tmp_path: Path) -> None:
        stats = ConnectorRuntime(tmp_path).run(SampleConnector({"rows": 300, "customers": 7}))
        assert (stats.tables_extracted, stats.tables_failed, stats.total_rows) == (2, 0, 307)
        assert query(tmp_path, "SELECT count(*), max(id) FROM orders") == [(300, 300)]
        meta = query(tmp_path, "SELECT table_name, rows, query_mode FROM _meta ORDER BY 1")
        assert meta == [("customers", 7, "local"), ("orders", 300, "local")]
        assert query(tmp_path, "SELECT count(*) FROM _remote_attach") == [(0,)]

    def test_selective_run_extracts_only_the_named_tables(self, tmp_path: Path) -> None:
        rt = ConnectorRuntime(tmp_path)
        c = SampleConnector({"rows": 10})
        stats = rt.run(c, ["customers"])
        assert stats.rows == {"customers": 100}
        assert not (tmp_path / "data" / "orders.parquet").exists()
        rt.run(c, ["orders"])  # a later run of another table keeps the first one's view
        assert query(tmp_path, "SELECT table_name FROM _meta ORDER BY 1") == [
            ("customers",),
            ("orders",),
        ]

    def test_incremental_run_reads_only_new_rows_and_keeps_the_earlier(
        self, tmp_path: Path
    ) -> None:
        rt = ConnectorRuntime(tmp_path)
        first = events(range(1, 101), incremental={"events": "id"})
        rt.run(first)
        assert state(tmp_path)["tables"]["events"]["incremental_value"] == "100"
        second = events(range(1, 151), incremental={"events": "id"})
        stats = rt.run(second)
        options = second.reads[0][1]
        assert (options.incremental_key, options.incremental_value, options.incremental_op) == (
            "id",
            "100",
            ">",  # no primary key: strictly past, so no row twice
        )
        assert stats.rows == {"events": 50}
        assert query(tmp_path, "SELECT count(*), count(DISTINCT id), max(id) FROM events") == [
            (150, 150, 150)
        ]
        assert state(tmp_path)["tables"]["events"]["incremental_value"] == "150"
        rt.run(second, full=True)  # --full reads everything again and replaces
        assert second.reads[-1][1].incremental_value is None
        assert query(tmp_path, "SELECT count(*) FROM events") == [(150,)]

    def test_empty_table_lands_as_an_empty_view(self, tmp_path: Path) -> None:
        stats = ConnectorRuntime(tmp_path).run(events([]))
        assert stats.rows == {"events": 0} and stats.tables_failed == 0
        assert query(tmp_path, "SELECT count(*) FROM events") == [(0,)]
        assert query(tmp_path, "SELECT rows FROM _meta") == [(0,)]

    def test_a_failing_table_is_counted_while_the_others_land(self, tmp_path: Path) -> None:
        rt = ConnectorRuntime(tmp_path)
        tables = {"a": (EVENTS, event_rows(range(3))), "b": (EVENTS, event_rows(range(5)))}
        rt.run(MemoryConnector(tables))
        stats = rt.run(MemoryConnector(tables | {"c": (EVENTS, [])}, fail={"a"}))
        assert (stats.tables_extracted, stats.tables_failed) == (2, 1)
        assert stats.errors == ["a: the source refused a: password=***"]  # redacted
        # the failed table keeps its earlier data and state; the others landed
        assert query(tmp_path, "SELECT count(*) FROM a") == [(3,)]
        assert state(tmp_path)["tables"]["a"]["last_error"].startswith("the source refused")
        assert query(tmp_path, "SELECT count(*) FROM b UNION ALL SELECT count(*) FROM c") == [
            (5,),
            (0,),
        ]


class TestRemoteOnlyConnector:
    def test_remote_tables_get_meta_and_attach_info_without_data(self, tmp_path: Path) -> None:
        stats = ConnectorRuntime(tmp_path).run(RemoteOnlyConnector())
        assert stats.tables_extracted == 1 and stats.total_rows == 0
        assert not list((tmp_path / "data").iterdir())
        assert query(tmp_path, "SELECT table_name, rows, query_mode FROM _meta") == [
            ("sales", 0, "remote")
        ]
        assert query(tmp_path, "SELECT * FROM _remote_attach") == [
            ("bq", "bigquery", "project=demo", "WAREHOUSE_TOKEN")
        ]


@pytest.mark.parametrize(
    ("token_env", "url", "fragment"),
    [
        ("sk-live-1234567890abcdef", "project=demo", "never the token itself"),
        ("WAREHOUSE_TOKEN", "https://etl:hunter2@warehouse.example", "carries a password"),
    ],
)
def test_remote_info_with_a_secret_is_refused(
    tmp_path: Path, token_env: str, url: str, fragment: str
) -> None:
    stats = ConnectorRuntime(tmp_path).run(RemoteOnlyConnector(token_env, url))
    assert len(stats.errors) == 1 and fragment in stats.errors[0]
    assert "hunter2" not in stats.errors[0]
    assert query(tmp_path, "SELECT count(*) FROM _remote_attach") == [(0,)]


class TestDiscoveryToReadPipeline:
    def test_discover_then_read_then_query(self, tmp_path: Path) -> None:
        c = SampleConnector({"rows": 1_000, "customers": 10})
        names = [t.name for t in c.discover()]
        ConnectorRuntime(tmp_path).run(c, names)
        rows = query(
            tmp_path,
            "SELECT c.country, count(*) FROM orders o JOIN customers c ON c.id = o.customer_id "
            "GROUP BY 1 ORDER BY 1",
        )
        assert sum(n for _, n in rows) == 1_000 and len(rows) == 5


class TestLargeDataBatching:
    @pytest.mark.slow
    def test_memory_stays_bounded_by_a_batch_not_the_table(self, tmp_path: Path) -> None:
        peak = 0

        class Counting(SampleConnector):
            def read(self, table: str, options: ReadOptions):  # type: ignore[override]
                nonlocal peak
                for batch in super().read(table, options):
                    peak = max(peak, pa.total_allocated_bytes())
                    yield batch

        c = Counting({"rows": 200_000})
        before = pa.total_allocated_bytes()
        stats = ConnectorRuntime(tmp_path).run(c, ["orders"], batch_size=5_000)
        table_bytes = pa.Table.from_batches(
            list(SampleConnector({"rows": 200_000}).read("orders", ReadOptions(batch_size=5_000)))
        ).nbytes
        assert stats.rows == {"orders": 200_000}
        # 40 batches went through; never more than a few were alive at once
        assert peak - before < table_bytes / 8, (peak - before, table_bytes)


class TestSpecDefects:
    def test_state_stores_the_max_of_the_key_over_all_batches(self, tmp_path: Path) -> None:
        # rows out of order: the largest key is in the first batch, not the last
        rows = event_rows([5, 900, 7, 3, 12, 8])
        c = MemoryConnector({"events": (EVENTS, rows)}, incremental={"events": "updated_at"})
        ConnectorRuntime(tmp_path).run(c, batch_size=2)
        value = state(tmp_path)["tables"]["events"]["incremental_value"]
        assert value == "2026-01-01T15:00:00+00:00"  # id 900 -> 900 minutes

    def test_incremental_run_with_a_key_replaces_rows_and_keeps_the_rest(
        self, tmp_path: Path
    ) -> None:
        rt = ConnectorRuntime(tmp_path)
        rows = event_rows(range(1, 11))
        c = MemoryConnector(
            {"events": (EVENTS, rows)}, incremental={"events": "id"}, keys={"events": ["id"]}
        )
        rt.run(c)
        rows[9]["name"] = "changed"  # id 10, the boundary row, changed at the source
        rows += event_rows([11])
        c2 = MemoryConnector(
            {"events": (EVENTS, rows)}, incremental={"events": "id"}, keys={"events": ["id"]}
        )
        rt.run(c2)
        assert c2.reads[0][1].incremental_op == ">="  # with a key, the boundary is re-read
        got = query(tmp_path, "SELECT id, name FROM events ORDER BY id")
        assert len(got) == 11 and got[9] == (10, "changed") and got[0] == (1, "e1")

    def test_swap_is_an_atomic_replace_and_an_open_reader_keeps_working(
        self, tmp_path: Path
    ) -> None:
        rt = ConnectorRuntime(tmp_path)
        rt.run(events(range(10)))
        db = tmp_path / "extract.duckdb"
        old_inode = db.stat().st_ino
        reader = duckdb.connect(str(db), read_only=True)
        try:
            assert reader.execute("SELECT count(*) FROM _meta").fetchone() == (1,)
            rt.run(MemoryConnector({"events": (EVENTS, []), "more": (EVENTS, [])}))
            # the old file is still open and readable through the swap
            assert reader.execute("SELECT table_name FROM _meta").fetchall() == [("events",)]
            assert reader.execute("SELECT count(*) FROM events").fetchone() == (0,)
        finally:
            reader.close()
        assert db.stat().st_ino != old_inode  # a new file moved into place
        assert query(tmp_path, "SELECT count(*) FROM _meta") == [(2,)]
        assert not list(tmp_path.glob(".extract.duckdb.*")) and not list(tmp_path.glob("*.wal"))

    def test_schema_json_is_json(self, tmp_path: Path) -> None:
        ConnectorRuntime(tmp_path).run(events(range(2)))
        (text,) = query(tmp_path, "SELECT schema_json FROM _meta")[0]
        assert json.loads(text) == [
            {"name": "id", "type": "int64", "nullable": False},
            {"name": "name", "type": "string", "nullable": True},
            {"name": "updated_at", "type": "timestamp[us, tz=UTC]", "nullable": True},
        ]


class TestBadInput:
    def test_invalid_table_name_is_refused_and_nothing_is_written(self, tmp_path: Path) -> None:
        with pytest.raises(InvalidError, match="not valid") as exc:
            ConnectorRuntime(tmp_path).run(events(range(2)), ["events; DROP TABLE x"])
        assert exc.value.path == "tables[0]"
        assert not tmp_path.joinpath("extract.duckdb").exists()

    def test_unknown_table_says_which_exist(self, tmp_path: Path) -> None:
        with pytest.raises(ConnectorSpecError, match=r"no table 'event'.*did you mean 'events'"):
            ConnectorRuntime(tmp_path).run(events(range(2)), ["event"])

    def test_batch_with_another_schema_fails_the_table_clearly(self, tmp_path: Path) -> None:
        wrong = pa.schema([("id", pa.int64()), ("name", pa.string()), ("updated_at", pa.string())])
        c = MemoryConnector(
            {"events": (EVENTS, [{"id": 1, "name": "x", "updated_at": "now"}])},
            yielded_schema={"events": wrong},
        )
        stats = ConnectorRuntime(tmp_path).run(c)
        assert stats.tables_failed == 1
        assert "updated_at: timestamp[us, tz=UTC] -> string" in stats.errors[0]
        assert not (tmp_path / "data" / "events.parquet").exists()
        assert not list((tmp_path / "data").glob(".*.tmp"))  # no temporary file left

    def test_read_yielding_dicts_fails_the_table(self, tmp_path: Path) -> None:
        class Dicts:
            capabilities = Cap.DISCOVER | Cap.READ

            def discover(self) -> list[TableInfo]:
                return [TableInfo("t", EVENTS, Cap.READ)]

            def read(self, table: str, options: ReadOptions):  # type: ignore[no-untyped-def]
                yield {"id": 1}

        stats = ConnectorRuntime(tmp_path).run(Dicts())
        assert "must yield pyarrow.RecordBatch" in stats.errors[0]

    def test_a_held_lock_is_reported_not_waited_on_forever(self, tmp_path: Path) -> None:
        rt = ConnectorRuntime(tmp_path, lock_timeout_s=0)
        with (
            writer_lock(rt.lock_path, 0),
            pytest.raises(ConnectorError, match="another extract or stream is writing"),
        ):
            rt.run(events(range(2)))
        assert not (tmp_path / "extract.duckdb").exists()

    def test_connector_without_discover_needs_table_names(self, tmp_path: Path) -> None:
        class Reader:
            capabilities = Cap.READ

            def read(self, table: str, options: ReadOptions):  # type: ignore[no-untyped-def]
                yield pa.RecordBatch.from_pylist(event_rows([1, 2]), EVENTS)

        with pytest.raises(ConnectorSpecError, match="--table"):
            ConnectorRuntime(tmp_path).run(Reader())
        stats = ConnectorRuntime(tmp_path).run(Reader(), ["events"])
        assert stats.rows == {"events": 2}
        assert os.path.exists(tmp_path / "data" / "events.parquet")


def test_incremental_merge_by_a_composite_key(tmp_path: Path) -> None:
    schema = pa.schema([("region", pa.string()), ("id", pa.int64()), ("v", pa.int64())])
    rows = [
        {"region": "eu", "id": 1, "v": 0},
        {"region": "eu", "id": 2, "v": 1},
        {"region": "us", "id": 1, "v": 3},
        {"region": "us", "id": 2, "v": 2},
    ]
    opts = {"incremental": {"t": "v"}, "keys": {"t": ["region", "id"]}}
    rt = ConnectorRuntime(tmp_path)
    rt.run(MemoryConnector({"t": (schema, rows)}, **opts))  # type: ignore[arg-type]
    rows[1]["v"] = 5  # eu/2 changed: the next run reads v >= 3, so us/1 and eu/2 only
    c = MemoryConnector({"t": (schema, rows)}, **opts)  # type: ignore[arg-type]
    assert rt.run(c).rows == {"t": 2}
    # eu/1 and us/2 were not read again and stay: only the composite keys read are replaced
    assert query(tmp_path, "SELECT region, id, v FROM t ORDER BY region, id") == [
        ("eu", 1, 0),
        ("eu", 2, 5),
        ("us", 1, 3),
        ("us", 2, 2),
    ]


def test_a_corrupt_state_file_says_how_to_start_afresh(tmp_path: Path) -> None:
    rt = ConnectorRuntime(tmp_path)
    rt.run(events(range(3)))
    rt.state_path.write_text("{not json")
    before = (tmp_path / "extract.duckdb").stat().st_ino
    with pytest.raises(ConnectorError, match="move it away to start the folder afresh"):
        rt.run(events(range(5)))
    assert (tmp_path / "extract.duckdb").stat().st_ino == before  # nothing swapped
    assert query(tmp_path, "SELECT count(*) FROM events") == [(3,)]


def test_a_discovered_table_with_an_unsafe_name_is_refused(tmp_path: Path) -> None:
    c = MemoryConnector({'x"; DROP': (EVENTS, [])})
    with pytest.raises(ConnectorError, match="every table must be a TableInfo whose name"):
        ConnectorRuntime(tmp_path).run(c)
    assert not (tmp_path / "extract.duckdb").exists()


def test_a_failing_discover_is_one_clear_error_with_secrets_masked(tmp_path: Path) -> None:
    class Broken(SampleConnector):
        def discover(self) -> list[TableInfo]:
            raise OSError("GET https://api.example/tables?api_key=abc123 failed with tok-998877")

    with pytest.raises(ConnectorError, match=r"discover\(\) failed: OSError") as exc:
        ConnectorRuntime(tmp_path, secrets=["tok-998877"]).run(Broken({}))
    assert "abc123" not in str(exc.value) and "tok-998877" not in str(exc.value)
