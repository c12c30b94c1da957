"""``build_definitions``: Pipekit's modules, groups and schedules as Dagster ``Definitions``.

    >>> defs = build_definitions(PipekitResource.from_env())

gives one asset per enabled module (its checks as asset checks), one job per group,
one schedule per Pipekit schedule (see ``schedules.py`` for who fires them) and the
sensor that reports runs done outside Dagster. The definitions are read from the
state store through the services when the code location loads.
"""

from __future__ import annotations

import warnings

from dagster import AssetKey, Definitions, JobDefinition

from pipekit.integrations.dagster.assets import group_job, module_asset
from pipekit.integrations.dagster.catalog import Catalog, read_catalog
from pipekit.integrations.dagster.resource import RESOURCE_KEY, PipekitResource
from pipekit.integrations.dagster.schedules import (
    PipekitDagsterWarning,
    ScheduleMode,
    build_schedules,
)
from pipekit.integrations.dagster.sensor import outside_runs_sensor
from pipekit.integrations.dagster.translator import DagsterPipekitTranslator, dagster_name


def build_definitions(
    resource: PipekitResource | None = None,
    *,
    translator: DagsterPipekitTranslator | None = None,
    schedules: ScheduleMode = "stopped",
    timezone: str | None = None,
    sensor: bool = True,
    sensor_interval_seconds: int = 60,
) -> Definitions:
    """Dagster definitions of everything Pipekit has defined.

    `resource`: where Pipekit is (default ``PipekitResource.from_env()``);
    `translator`: a ``DagsterPipekitTranslator`` subclass instance to change keys,
    groups, kinds and metadata; `schedules`: ``"stopped"``, ``"running"`` or ``"off"``
    (who fires the schedules); `timezone`: the IANA zone of the cron expressions
    (default: the zone Pipekit's scheduler reads them in, this machine's);
    `sensor`: include the sensor reporting runs done outside Dagster.
    """
    resource = resource or PipekitResource.from_env()
    with resource.services("dagster") as sv:
        catalog = read_catalog(sv)
    return definitions_from_catalog(
        catalog,
        resource,
        translator=translator,
        schedules=schedules,
        timezone=timezone,
        sensor=sensor,
        sensor_interval_seconds=sensor_interval_seconds,
    )


def _owner(keys: dict[str, AssetKey], key: AssetKey) -> str:
    return next(name for name, k in keys.items() if k == key)


def definitions_from_catalog(
    catalog: Catalog,
    resource: PipekitResource,
    *,
    translator: DagsterPipekitTranslator | None = None,
    schedules: ScheduleMode = "stopped",
    timezone: str | None = None,
    sensor: bool = True,
    sensor_interval_seconds: int = 60,
) -> Definitions:
    """``build_definitions`` from definitions already read (``read_catalog``)."""
    translator = translator or DagsterPipekitTranslator()
    assets = []
    keys: dict[str, AssetKey] = {}
    checks: dict[str, list[tuple[str, str]]] = {}
    for module in catalog.modules:
        spec = translator.get_asset_spec(module)
        if spec.key in keys.values():
            # Dagster refuses two assets with one key; Pipekit lets two modules load
            # one table (two sources appended, say)
            key = AssetKey([*spec.key.path, dagster_name(module.name)])
            warnings.warn(
                f"modules {_owner(keys, spec.key)} and {module.name} both load "
                f"{spec.key.to_user_string()}; module {module.name}'s asset is "
                f"{key.to_user_string()} (a translator's get_asset_key can choose)",
                PipekitDagsterWarning,
                stacklevel=2,
            )
            spec = spec.replace_attributes(key=key)
        check_specs = [translator.get_check_spec(module, c, spec.key) for c in module.checks]
        assets.append(module_asset(module, spec, check_specs))
        keys[module.name] = spec.key
        checks[module.name] = [(c, s.name) for c, s in zip(module.checks, check_specs, strict=True)]
    jobs: dict[str, JobDefinition] = {g.name: group_job(g, keys, checks) for g in catalog.groups}
    return Definitions(
        assets=assets,
        jobs=list(jobs.values()),
        schedules=build_schedules(catalog.schedules, jobs, schedules, timezone or catalog.timezone),
        sensors=(
            [outside_runs_sensor(keys, checks, minimum_interval_seconds=sensor_interval_seconds)]
            if sensor
            else []
        ),
        resources={RESOURCE_KEY: resource},
    )
