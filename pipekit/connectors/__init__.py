"""The Connector Kit: non-database sources as Arrow batches, into Parquet and DuckDB.

A connector declares capabilities (``Cap``) and implements the methods they
call for (``protocol.py``); ``connector.yaml`` describes it (``manifest.py``);
connectors are found built in, in the configured folder and through the
``pipekit.connectors`` entry points (``discovery.py``); ``ConnectorRuntime``
extracts one into ``data/*.parquet`` and ``extract.duckdb`` (``runtime.py``);
``contract.py`` checks one against the contract, ``contract_tests.py`` makes
those checks pytest tests for a connector's own test file, and ``scaffold.py``
writes a new one. See docs/connectors.md.

This layer sits between the drivers and the engine: it imports neither.
"""

from pipekit.connectors.protocol import (
    Cap,
    Connector,
    Discovers,
    ExtractStats,
    ReadOptions,
    Reads,
    RemoteAttachInfo,
    Remotes,
    Streams,
    TableInfo,
)

__all__ = [
    "Cap",
    "Connector",
    "Discovers",
    "ExtractStats",
    "ReadOptions",
    "Reads",
    "RemoteAttachInfo",
    "Remotes",
    "Streams",
    "TableInfo",
]
