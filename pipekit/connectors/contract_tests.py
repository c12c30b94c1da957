"""The contract checks as pytest tests, for a connector's own test file::

    import pytest

    from pipekit.connectors.contract_tests import ConnectorContract

    from ..connector import WeatherConnector


    class TestContract(ConnectorContract):
        @pytest.fixture
        def connector(self) -> WeatherConnector:
            return WeatherConnector({"city": "Brno"})

Override the ``connector_tables`` fixture when the connector cannot discover
its tables, and ``manifest_caps`` to check the connector against its manifest.
The spec's style works too: ``from pipekit.connectors.contract_tests import *``
beside a module-level ``connector`` fixture. Each test is one check of
``contract.py``; a check that does not apply (an undeclared capability) is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from pipekit.connectors.contract import CHECKS, Subject, run_check
from pipekit.connectors.protocol import Cap

__all__ = [
    "ConnectorContract",
    "connector_tables",
    "manifest_caps",
    *(f"test_connector_{name}" for name in CHECKS),
]

Tables = Sequence[str] | None


def _check(name: str, connector: object, workdir: Path, caps: Cap | None, tables: Tables) -> None:
    result = run_check(name, Subject(connector, workdir, caps, tables))
    if result.outcome == "skipped":
        pytest.skip(result.detail)
    if result.outcome == "failed":
        pytest.fail(f"contract check {name!r}: {result.detail}", pytrace=False)


@pytest.fixture
def connector_tables() -> Tables:
    """The tables to extract when the connector cannot discover them (None: discover)."""
    return None


@pytest.fixture
def manifest_caps() -> Cap | None:
    """The manifest's capabilities, to check the connector against (None: not checked)."""
    return None


def _module_test(name: str) -> Callable[..., None]:
    def test(
        connector: object, tmp_path: Path, manifest_caps: Cap | None, connector_tables: Tables
    ) -> None:
        _check(name, connector, tmp_path, manifest_caps, connector_tables)

    test.__name__ = test.__qualname__ = f"test_connector_{name}"
    test.__doc__ = CHECKS[name].__doc__
    return test


test_connector_capabilities = _module_test("capabilities")
test_connector_discover = _module_test("discover")
test_connector_read = _module_test("read")
test_connector_incremental = _module_test("incremental")
test_connector_extract = _module_test("extract")
test_connector_stream = _module_test("stream")
test_connector_remote = _module_test("remote")


class ConnectorContract:
    """Subclass as ``TestContract`` and give it a ``connector`` fixture."""

    @pytest.fixture
    def connector_tables(self) -> Tables:
        return None

    @pytest.fixture
    def manifest_caps(self) -> Cap | None:
        return None

    def test_capabilities(
        self, connector: object, tmp_path: Path, manifest_caps: Cap | None, connector_tables: Tables
    ) -> None:
        _check("capabilities", connector, tmp_path, manifest_caps, connector_tables)

    def test_discover(
        self, connector: object, tmp_path: Path, manifest_caps: Cap | None, connector_tables: Tables
    ) -> None:
        _check("discover", connector, tmp_path, manifest_caps, connector_tables)

    def test_read(
        self, connector: object, tmp_path: Path, manifest_caps: Cap | None, connector_tables: Tables
    ) -> None:
        _check("read", connector, tmp_path, manifest_caps, connector_tables)

    def test_incremental(
        self, connector: object, tmp_path: Path, manifest_caps: Cap | None, connector_tables: Tables
    ) -> None:
        _check("incremental", connector, tmp_path, manifest_caps, connector_tables)

    def test_extract(
        self, connector: object, tmp_path: Path, manifest_caps: Cap | None, connector_tables: Tables
    ) -> None:
        _check("extract", connector, tmp_path, manifest_caps, connector_tables)

    def test_stream(
        self, connector: object, tmp_path: Path, manifest_caps: Cap | None, connector_tables: Tables
    ) -> None:
        _check("stream", connector, tmp_path, manifest_caps, connector_tables)

    def test_remote(
        self, connector: object, tmp_path: Path, manifest_caps: Cap | None, connector_tables: Tables
    ) -> None:
        _check("remote", connector, tmp_path, manifest_caps, connector_tables)
