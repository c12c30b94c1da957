"""The sensor that reports runs done outside Dagster (the CLI, a Pipekit server and its
scheduler) as materializations of the modules' assets.

Its cursor (``cursor.RunCursor``) follows the run log by run id, so each finished
outside run is reported once, even when runs end out of id order; runs Dagster
started itself (``triggered_by`` ``dagster:...``) are skipped, their steps reported
them already.

On its first tick the sensor starts at the newest run: history from before it was
turned on is not reported.
"""

# No `from __future__ import annotations`: Dagster reads the decorated functions'
# parameter annotations (config, resources) at definition time, as objects.

from collections.abc import Mapping

from dagster import (
    AssetKey,
    AssetMaterialization,
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from pipekit.integrations.dagster.cursor import RunCursor
from pipekit.integrations.dagster.outcome import run_metadata
from pipekit.integrations.dagster.resource import PipekitResource

SENSOR_NAME = "pipekit_outside_runs"
#: runs read per tick; the rest on the next ticks
BATCH = 200


def outside_runs_sensor(
    keys: Mapping[str, AssetKey], *, minimum_interval_seconds: int = 60
) -> SensorDefinition:
    """The sensor; `keys` maps module names to their assets' keys."""

    @sensor(
        name=SENSOR_NAME,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=DefaultSensorStatus.RUNNING,
        description="Reports Pipekit runs done outside Dagster (CLI, server) as "
        "materializations, each once",
    )
    def _sensor(context: SensorEvaluationContext, pipekit: PipekitResource) -> SensorResult:
        cursor = RunCursor.parse(context.cursor)
        with pipekit.services("dagster-sensor") as sv:
            if cursor.last is None:
                newest = sv.runs.list(limit=1)
                cursor = RunCursor(newest[0].id if newest else 0)
                return SensorResult(cursor=cursor.dump())
            runs = sv.runs.after(cursor.last, also=cursor.again(), limit=BATCH)
        cursor, report = cursor.advance(runs)
        events = [
            AssetMaterialization(
                asset_key=keys[r.module_name],
                metadata=run_metadata(r),
                description=f"Pipekit run {r.id}, triggered by {r.triggered_by}",
            )
            for r in report
            if r.module_name in keys
        ]
        return SensorResult(asset_events=events, cursor=cursor.dump())

    return _sensor
