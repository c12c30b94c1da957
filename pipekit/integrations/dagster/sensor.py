"""The sensor that reports runs done outside Dagster (the CLI, a Pipekit server and its
scheduler) as materializations of the modules' assets (those that changed the
destination) and the checks they ran as asset check results.

Its cursor (``cursor.RunCursor``) follows the run log by run id, so each finished
outside run is reported once, even when runs end out of id order; runs Dagster
started itself (``triggered_by`` ``dagster:...``) are skipped, their steps reported
them already.

On its first tick the sensor starts at the newest run: history from before it was
turned on is not reported.
"""

# No `from __future__ import annotations`: Dagster reads the decorated functions'
# parameter annotations (config, resources) at definition time, as objects.

from collections.abc import Mapping, Sequence

from dagster import (
    AssetCheckEvaluation,
    AssetKey,
    AssetMaterialization,
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from pipekit.integrations.dagster.assets import check_evaluations
from pipekit.integrations.dagster.cursor import RunCursor
from pipekit.integrations.dagster.outcome import landed, run_metadata
from pipekit.integrations.dagster.resource import PipekitResource

SENSOR_NAME = "pipekit_outside_runs"
#: runs read per tick; the rest on the next ticks
BATCH = 200


def outside_runs_sensor(
    keys: Mapping[str, AssetKey],
    checks: Mapping[str, Sequence[tuple[str, str]]],
    *,
    minimum_interval_seconds: int = 60,
) -> SensorDefinition:
    """The sensor; `keys` maps module names to their assets' keys, `checks` each module's
    (Pipekit check, Dagster check name) pairs."""

    @sensor(
        name=SENSOR_NAME,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=DefaultSensorStatus.RUNNING,
        description="Reports Pipekit runs done outside Dagster (CLI, server) as "
        "materializations and check results, each once",
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
        events: list[AssetMaterialization | AssetCheckEvaluation] = []
        for r in report:
            key = keys.get(r.module_name)
            if key is None:  # a module added since the definitions were loaded
                continue
            # a check that failed outside Dagster shows as a failed asset check here
            events += check_evaluations(r, key, checks.get(r.module_name, ()))
            if landed(r):
                events.append(
                    AssetMaterialization(
                        asset_key=key,
                        metadata=run_metadata(r),
                        description=f"Pipekit run {r.id}, triggered by {r.triggered_by}",
                    )
                )
        return SensorResult(asset_events=events, cursor=cursor.dump())

    return _sensor
