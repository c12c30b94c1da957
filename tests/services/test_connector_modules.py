"""Connector connections and modules reading them, through the services every face
calls: options stored with the connection, exactly one of source_query and
source_table (the same refusal from the services and from a YAML apply), and the
YAML round trip of both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipekit.config import parse_config
from pipekit.errors import ConnectionSpecError, ManifestError, ValidationError
from pipekit.services import Services

OPTIONS = {"tables": {"orders": {"path": "/orders", "records": "data"}}}


@pytest.fixture
def sv(tmp_path: Path) -> Iterator[Services]:
    config = parse_config({"database": str(tmp_path / "state.db")}, tmp_path / "pipekit.yaml")
    with Services.open(config) as services:
        services.store.init()
        services.connections.add("api", "rest+https://api.example.com/v1", options=OPTIONS)
        services.connections.add("dst", f"duckdb:///{tmp_path / 'dst.duckdb'}?create=true")
        yield services


def paths(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [p.path for p in exc.value.problems]


def test_a_module_reads_a_connector_table(sv: Services) -> None:
    m = sv.modules.add(
        "orders", source="api", dest="dst", dest_table="main.orders", source_table="orders"
    )
    assert (m.source_table, m.source_query) == ("orders", None)
    assert sv.store.connections.get("api").options == OPTIONS


def test_exactly_one_of_query_and_table(sv: Services) -> None:
    base = {"source": "api", "dest": "dst", "dest_table": "t"}
    with pytest.raises(ValidationError) as neither:
        sv.modules.add("m", **base)
    assert paths(neither) == ["source_query"]
    assert "or instead source_table" in str(neither.value)
    with pytest.raises(ValidationError) as both:
        sv.modules.add("m", **base, source_table="orders", source_query="SELECT 1 AS x")
    assert paths(both) == ["source_table"] and "not both" in str(both.value)
    with pytest.raises(ValidationError) as query:
        sv.modules.add("m", **base, source_query="SELECT 1 AS x")
    assert paths(query) == ["source_query"] and "runs no SQL" in str(query.value)
    with pytest.raises(ValidationError) as table:
        sv.modules.add("m", **{**base, "source": "dst"}, source_table="orders")
    assert paths(table) == ["source_table"] and "is a database" in str(table.value)
    assert sv.modules.list() == []


def test_options_only_on_connector_connections(sv: Services, tmp_path: Path) -> None:
    with pytest.raises(ConnectionSpecError, match="only connector connections"):
        sv.connections.add("db", f"sqlite:///{tmp_path / 'x.db'}", options={"a": 1})
    with pytest.raises(ConnectionSpecError, match="expected rest\\+https://host"):
        sv.connections.add("bad", "rest+ftp://x", options=OPTIONS)


def test_yaml_round_trip_and_the_same_refusal(sv: Services) -> None:
    sv.modules.add("orders", source="api", dest="dst", dest_table="t", source_table="orders")
    text = sv.manifest.export()
    assert "source_table: orders" in text and "options:" in text
    sv.manifest.apply(text)  # applying what was exported changes nothing
    assert sv.manifest.export() == text
    bad = text.replace("source_table: orders", "source_query: SELECT 1 AS x")
    with pytest.raises(ManifestError) as caught:
        sv.manifest.apply(bad)
    assert [p.path for p in caught.value.problems] == ["modules.orders.source_query"]
