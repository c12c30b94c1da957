"""seeds/004 §11: capability flags, protocol compliance, Arrow integration."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipekit.connectors import Cap, Connector, Discovers, Reads, Remotes, Streams
from pipekit.connectors.builtin.sample.connector import SampleConnector
from pipekit.connectors.protocol import parse_caps, require
from pipekit.connectors.runtime import ConnectorRuntime
from pipekit.errors import ConnectorError
from tests.connectors.sources import (
    TYPED,
    TYPED_ROWS,
    MemoryConnector,
    RemoteOnlyConnector,
    StreamConnector,
)


class TestCapabilityFlags:
    def test_flags_combine_and_parse_from_yaml_names(self) -> None:
        caps = Cap.DISCOVER | Cap.READ
        assert caps == parse_caps(["discover", "read"]) == parse_caps("read, discover")
        assert caps.names == ["discover", "read"]
        with pytest.raises(ValueError, match=r"unknown capability 'reed'.*discover, read"):
            parse_caps(["reed"])

    def test_membership_per_connector_and_per_table(self) -> None:
        caps = Cap.DISCOVER | Cap.READ | Cap.REMOTE
        table = Cap.READ
        assert Cap.READ in caps and Cap.STREAM not in caps
        assert table & ~caps == Cap(0)  # the table's caps are a subset
        assert Cap.REMOTE not in table

    def test_iterating_gives_the_single_flags(self) -> None:
        caps = Cap.STREAM | Cap.DISCOVER | Cap.WRITE
        assert list(caps) == [Cap.DISCOVER, Cap.STREAM, Cap.WRITE]
        assert list(Cap(0)) == []


class TestProtocolCompliance:
    def test_full_implementation_passes_isinstance(self) -> None:
        c = SampleConnector({})
        assert isinstance(c, Connector)
        assert isinstance(c, Discovers) and isinstance(c, Reads)
        require(c, Cap.READ)  # no error

    def test_partial_implementation_passes_isinstance(self) -> None:
        c = StreamConnector()  # no read(), no remote()
        assert isinstance(c, Connector)
        assert isinstance(c, Streams)
        assert not isinstance(c, Reads) and not isinstance(c, Remotes)
        assert not isinstance(object(), Connector)  # no capabilities: not a connector

    def test_undeclared_capability_is_never_called(self, tmp_path) -> None:
        # RemoteOnlyConnector has a read() that fails the test if called
        stats = ConnectorRuntime(tmp_path).run(RemoteOnlyConnector())
        assert stats.errors == [] and stats.tables_failed == 0

        class DeclaresReadWithoutMethod:
            capabilities = Cap.READ

        with pytest.raises(ConnectorError, match="declares read but has no method read"):
            require(DeclaresReadWithoutMethod(), Cap.READ)
        stats = ConnectorRuntime(tmp_path / "b").run(DeclaresReadWithoutMethod(), ["t"])
        assert stats.tables_failed == 1
        assert "declares read but has no method" in stats.errors[0]


class TestArrowIntegration:
    def test_landed_schema_equals_the_declared_schema(self, tmp_path) -> None:
        c = SampleConnector({"rows": 50})
        ConnectorRuntime(tmp_path).run(c)
        for info in c.discover():
            landed = pq.read_schema(tmp_path / "data" / f"{info.name}.parquet")
            assert landed.equals(info.schema, check_metadata=False)

    def test_batches_are_about_batch_size_and_consumed_lazily(self, tmp_path) -> None:
        c = SampleConnector({"rows": 2_500})
        sizes = [b.num_rows for b in c.read("orders", _options(batch_size=1_000))]
        assert sizes == [1_000, 1_000, 500]
        stats = ConnectorRuntime(tmp_path).run(c, ["orders"], batch_size=700)
        assert stats.rows == {"orders": 2_500}
        row_groups = pq.ParquetFile(tmp_path / "data" / "orders.parquet").metadata.num_row_groups
        assert row_groups == 4  # each batch written as it came: ceil(2500 / 700)

    def test_types_are_kept_through_parquet_and_duckdb(self, tmp_path) -> None:
        c = MemoryConnector({"typed": (TYPED, TYPED_ROWS)})
        ConnectorRuntime(tmp_path).run(c)
        table = pq.read_table(tmp_path / "data" / "typed.parquet")
        assert table.schema.equals(TYPED, check_metadata=False)
        assert table.to_pylist() == TYPED_ROWS
        con = duckdb.connect(str(tmp_path / "extract.duckdb"), read_only=True)
        got = con.execute("SELECT dec, s, tags, d FROM typed ORDER BY i64 DESC").fetchall()
        con.close()
        first = TYPED_ROWS[0]
        assert got[0] == (first["dec"], first["s"], first["tags"], first["d"])


def _options(**kw: object):
    from pipekit.connectors import ReadOptions

    return ReadOptions(**kw)  # type: ignore[arg-type]


def test_arrow_batch_goes_into_duckdb_without_copy_through_python() -> None:
    # DuckDB reads a RecordBatch in place (the reason the Kit speaks Arrow)
    con = duckdb.connect()
    con.register("typed", pa.RecordBatch.from_pylist(TYPED_ROWS, TYPED))
    assert con.execute("SELECT count(*), max(i64) FROM typed").fetchone() == (2, 2**62)
    con.close()
