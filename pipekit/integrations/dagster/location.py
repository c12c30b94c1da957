"""A Dagster code location of everything Pipekit defines, configured from the environment:

    PIPEKIT_CONFIG=/etc/pipekit/pipekit.yaml dagster dev -m pipekit.integrations.dagster.location

``PIPEKIT_CONFIG`` (required) and ``PIPEKIT_SECRETS`` locate Pipekit, as for the CLI;
``PIPEKIT_DAGSTER_SCHEDULES`` chooses who fires the schedules: ``stopped`` (default),
``running`` or ``off`` (see ``pipekit.integrations.dagster.schedules``).
"""

from __future__ import annotations

import os
from typing import cast

from pipekit.errors import ConfigError
from pipekit.integrations.dagster.definitions import build_definitions
from pipekit.integrations.dagster.resource import PipekitResource
from pipekit.integrations.dagster.schedules import SCHEDULE_MODES, ScheduleMode

ENV_SCHEDULES = "PIPEKIT_DAGSTER_SCHEDULES"

_mode = os.environ.get(ENV_SCHEDULES, "stopped").strip().lower()
if _mode not in SCHEDULE_MODES:
    raise ConfigError(
        f"{ENV_SCHEDULES}={_mode!r} is not a choice; set it to one of "
        f"{', '.join(SCHEDULE_MODES)} (who fires the schedules: see docs/scale-out.md)"
    )

defs = build_definitions(PipekitResource.from_env(), schedules=cast(ScheduleMode, _mode))
