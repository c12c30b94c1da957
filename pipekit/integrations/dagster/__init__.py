"""Pipekit on Dagster (extra ``pipekit[dagster]``): modules as assets, groups as jobs,
schedules, and a sensor for runs done elsewhere, so any number of machines (Kubernetes
pods launched by Dagster's run launcher) run the same modules. See docs/scale-out.md.

    from pipekit.integrations.dagster import PipekitResource, build_definitions

    defs = build_definitions(PipekitResource.from_env())

Like a face, it calls the service layer only; ``location`` is a ready code location
(``dagster dev -m pipekit.integrations.dagster.location``).
"""

from __future__ import annotations

from pipekit.integrations.dagster.assets import PipekitRunConfig
from pipekit.integrations.dagster.catalog import (
    Catalog,
    PipekitGroup,
    PipekitModule,
    PipekitSchedule,
    read_catalog,
)
from pipekit.integrations.dagster.cursor import RunCursor
from pipekit.integrations.dagster.definitions import build_definitions, definitions_from_catalog
from pipekit.integrations.dagster.resource import PipekitResource
from pipekit.integrations.dagster.schedules import (
    PipekitDagsterWarning,
    ScheduleMode,
    SchedulerConflictWarning,
)
from pipekit.integrations.dagster.translator import DagsterPipekitTranslator

__all__ = [
    "Catalog",
    "DagsterPipekitTranslator",
    "PipekitDagsterWarning",
    "PipekitGroup",
    "PipekitModule",
    "PipekitResource",
    "PipekitRunConfig",
    "PipekitSchedule",
    "RunCursor",
    "ScheduleMode",
    "SchedulerConflictWarning",
    "build_definitions",
    "definitions_from_catalog",
    "read_catalog",
]
