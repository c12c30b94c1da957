"""A Dagster code location of everything Pipekit defines, configured from the environment:

    PIPEKIT_CONFIG=/etc/pipekit/pipekit.yaml dagster dev -m pipekit.integrations.dagster.location

``PIPEKIT_CONFIG`` (required) and ``PIPEKIT_SECRETS`` locate Pipekit, as for the CLI;
``PIPEKIT_DAGSTER_SCHEDULES`` chooses who fires the schedules: ``stopped`` (default),
``running`` or ``off`` (see ``pipekit.integrations.dagster.schedules``).
"""

from __future__ import annotations

import os

from pipekit.integrations.dagster.definitions import build_definitions
from pipekit.integrations.dagster.resource import PipekitResource

ENV_SCHEDULES = "PIPEKIT_DAGSTER_SCHEDULES"

defs = build_definitions(
    PipekitResource.from_env(),
    schedules=os.environ.get(ENV_SCHEDULES, "stopped"),  # type: ignore[arg-type]  # checked
)
