"""Fixtures of the Dagster integration's tests: one Pipekit folder (state store on
PostgreSQL) and one set of Definitions per test module, since loading Dagster is slow."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import Definitions

from pipekit.config import load_config
from pipekit.integrations.dagster import (
    PipekitResource,
    SchedulerConflictWarning,
    build_definitions,
)
from pipekit.services import Services
from tests.helpers import make_dagster_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, pg_url: str) -> Path:
    """The config file of a Pipekit folder made by `make_dagster_site`."""
    return make_dagster_site(tmp_path_factory.mktemp("dagster"), pg_url)


@pytest.fixture(scope="module")
def resource(site: Path) -> PipekitResource:
    return PipekitResource(config_path=str(site))


@pytest.fixture(scope="module")
def defs(resource: PipekitResource) -> Definitions:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SchedulerConflictWarning)  # asserted on its own
        return build_definitions(resource)


@pytest.fixture
def sv(site: Path) -> Iterator[Services]:
    """Pipekit's services on the site, acting as the CLI does (runs outside Dagster)."""
    with Services.open(load_config(site)) as services:
        yield services
