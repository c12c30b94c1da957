"""The contract tests, importable by any connector's test file: the built-in sample
runs them through the class, and broken connectors fail them with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from pipekit.connectors import Cap, ReadOptions, TableInfo
from pipekit.connectors.builtin.sample.connector import SampleConnector
from pipekit.connectors.contract import run_checks
from pipekit.connectors.contract_tests import ConnectorContract
from tests.connectors.sources import EVENTS, RemoteOnlyConnector, StreamConnector, event_rows


class TestSampleContract(ConnectorContract):
    @pytest.fixture
    def connector(self) -> SampleConnector:
        return SampleConnector({"rows": 95})

    @pytest.fixture
    def manifest_caps(self) -> Cap:
        return Cap.DISCOVER | Cap.READ


class TestRemoteOnlyContract(ConnectorContract):
    @pytest.fixture
    def connector(self) -> RemoteOnlyConnector:
        return RemoteOnlyConnector()


class TestStreamContract(ConnectorContract):
    @pytest.fixture
    def connector(self) -> StreamConnector:
        return StreamConnector()


class IgnoresIncremental:
    """Yields every row whatever incremental_value says, in batches too large."""

    capabilities = Cap.DISCOVER | Cap.READ

    def discover(self) -> list[TableInfo]:
        return [TableInfo("events", EVENTS, Cap.READ | Cap.STREAM, incremental_key="id")]

    def read(self, table: str, options: ReadOptions) -> Iterator[pa.RecordBatch]:
        yield pa.RecordBatch.from_pylist(event_rows(range(1, 100)), EVENTS)


def outcomes(connector: object, tmp_path: Path, **kw: object) -> dict[str, tuple[str, str]]:
    return {
        r.name: (r.outcome, r.detail)
        for r in run_checks(connector, tmp_path, **kw)  # type: ignore[arg-type]
    }


def test_a_broken_connector_fails_the_checks_with_the_reason(tmp_path: Path) -> None:
    got = outcomes(IgnoresIncremental(), tmp_path, manifest_caps=Cap.DISCOVER | Cap.READ)
    assert got["discover"] == ("failed", "events: capabilities ['stream'] are not the connector's")
    assert got["read"][0] == "failed" and "yield batches of about batch_size" in got["read"][1]
    assert got["incremental"][0] == "failed" and "still yields rows" in got["incremental"][1]
    assert got["stream"][0] == got["remote"][0] == "skipped"


def test_capabilities_that_disagree_with_the_manifest_fail(tmp_path: Path) -> None:
    got = outcomes(SampleConnector({}), tmp_path, manifest_caps=Cap.READ)
    assert got["capabilities"] == (
        "failed",
        "the connector declares [discover, read], its manifest [read]",
    )


def test_a_connector_whose_read_raises_fails_with_where(tmp_path: Path) -> None:
    class Raises(SampleConnector):
        def read(self, table: str, options: ReadOptions) -> Iterator[pa.RecordBatch]:
            raise RuntimeError("the API said 500")

    got = outcomes(Raises({}), tmp_path)
    assert got["read"][0] == "failed"
    assert got["read"][1].startswith("RuntimeError: the API said 500 (test_contract.py:")
    assert got["extract"][0] == "failed" and "the API said 500" in got["extract"][1]
