"""The spec's way to use the contract tests: a wildcard import beside a fixture."""

from __future__ import annotations

import pytest

from pipekit.connectors.builtin.sample.connector import SampleConnector
from pipekit.connectors.contract_tests import *  # noqa: F403


@pytest.fixture
def connector() -> SampleConnector:
    return SampleConnector({"rows": 30})
