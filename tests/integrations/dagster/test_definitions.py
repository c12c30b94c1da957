"""What build_definitions makes of a Pipekit folder (state store on PostgreSQL): one asset
per module with its key, group, kinds and metadata, checks as blocking asset checks, a
job per group, schedules with their cron and zone, who fires them (refused, warned),
the translator, and the code location module."""

from __future__ import annotations

import datetime as dt
import importlib
import sys
import warnings
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
)

from pipekit.errors import ConfigError, ScheduleSpecError
from pipekit.integrations.dagster import (
    Catalog,
    DagsterPipekitTranslator,
    PipekitDagsterWarning,
    PipekitGroup,
    PipekitModule,
    PipekitResource,
    PipekitSchedule,
    SchedulerConflictWarning,
    definitions_from_catalog,
    read_catalog,
)
from pipekit.integrations.dagster.catalog import zone_name
from pipekit.runtime.scheduler import local_zone
from pipekit.services import Services
from tests.helpers import DAGSTER_MODULES

ORDERS = AssetKey(list(DAGSTER_MODULES["orders"]))
CUSTOMERS = AssetKey(list(DAGSTER_MODULES["customers"]))
SCHEDULE = "pipekit_group_nightly_schedule_1"


def test_definitions_load_with_one_asset_per_module(defs: Definitions) -> None:
    Definitions.validate_loadable(defs)
    specs = {s.key: s for s in defs.resolve_all_asset_specs()}
    assert set(specs) == {AssetKey(list(k)) for k in DAGSTER_MODULES.values()}
    orders = specs[ORDERS]
    assert orders.group_name == "nightly"
    assert orders.kinds == {"pipekit", "postgresql", "duckdb"}
    assert specs[CUSTOMERS].kinds == {"pipekit", "sqlite", "duckdb"}
    meta = orders.metadata
    assert meta["pipekit/module"] == "orders"
    assert meta["pipekit/source"] == "shop"
    assert meta["pipekit/strategy"] == "incremental"
    assert meta["pipekit/merge_key"] == "id"
    assert meta["pipekit/watermark_column"] == "updated_at"


def test_each_pipekit_check_is_a_blocking_asset_check(defs: Definitions) -> None:
    checks = list(defs.resolve_assets_def(CUSTOMERS).check_specs)
    assert [(c.name, c.asset_key, c.blocking) for c in checks] == [("no_negative", CUSTOMERS, True)]
    assert not list(defs.resolve_assets_def(ORDERS).check_specs)


def test_a_job_per_group_and_a_schedule_per_schedule(defs: Definitions) -> None:
    assert defs.resolve_job_def("pipekit_group_nightly").name == "pipekit_group_nightly"
    schedule = defs.resolve_schedule_def(SCHEDULE)
    assert schedule.cron_schedule == "30 2 * * *"
    assert schedule.execution_timezone == zone_name(local_zone())
    assert schedule.job_name == "pipekit_group_nightly"
    # stopped unless asked otherwise: Pipekit's own scheduler may fire the group
    assert schedule.default_status == DefaultScheduleStatus.STOPPED
    sensor = defs.resolve_sensor_def("pipekit_outside_runs")
    assert sensor.default_status == DefaultSensorStatus.RUNNING


def _catalog(sv: Services) -> Catalog:
    return read_catalog(sv)


def test_the_zone_can_be_given(sv: Services, resource: PipekitResource) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SchedulerConflictWarning)
        defs = definitions_from_catalog(_catalog(sv), resource, timezone="Europe/Paris")
    assert defs.resolve_schedule_def(SCHEDULE).execution_timezone == "Europe/Paris"


def test_enabled_pipekit_schedules_are_warned_about(
    sv: Services, resource: PipekitResource
) -> None:
    with pytest.warns(SchedulerConflictWarning, match=r"1 \(group nightly, '30 2 \* \* \*'\)"):
        definitions_from_catalog(_catalog(sv), resource, schedules="stopped")


def test_dagster_schedules_are_refused_while_pipekit_fires_them(
    sv: Services, resource: PipekitResource
) -> None:
    now = dt.datetime.now(dt.UTC)
    sv.store.schedules.mark_fired(1, now)
    try:
        with pytest.raises(ScheduleSpecError, match=r"scheduler\.enabled: false") as err:
            definitions_from_catalog(_catalog(sv), resource, schedules="running")
        assert err.value.path == "schedules"
        assert "group nightly" in str(err.value)
    finally:
        sv.store.schedules.mark_fired(1, now - dt.timedelta(days=30))
    # fired a month ago: no scheduler fires it now, so Dagster may (with a warning)
    with pytest.warns(SchedulerConflictWarning, match="every Pipekit server"):
        defs = definitions_from_catalog(_catalog(sv), resource, schedules="running")
    assert defs.resolve_schedule_def(SCHEDULE).default_status == DefaultScheduleStatus.RUNNING


def test_schedules_off_and_a_bad_choice(sv: Services, resource: PipekitResource) -> None:
    catalog = _catalog(sv)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "off" leaves Pipekit in charge: nothing to warn
        defs = definitions_from_catalog(catalog, resource, schedules="off")
    assert not list(defs.schedules or [])
    assert defs.resolve_job_def("pipekit_group_nightly").name == "pipekit_group_nightly"
    with pytest.raises(ScheduleSpecError, match="'sometimes' is not a choice; use one of"):
        definitions_from_catalog(catalog, resource, schedules="sometimes")  # type: ignore[arg-type]


def _module(name: str, **kwargs: object) -> PipekitModule:
    values: dict[str, object] = {
        "source": "src", "source_kind": "postgresql", "dest": "dw", "dest_kind": "duckdb",
        "dest_table": f"main.{name}", "merge_strategy": "full", "merge_key": None,
        "watermark_column": None, "groups": ("g",), "checks": (),
    }  # fmt: skip
    values.update(kwargs)
    return PipekitModule(name=name, **values)  # type: ignore[arg-type]


def test_a_cron_dagster_cannot_read_gets_no_schedule(resource: PipekitResource) -> None:
    catalog = Catalog(
        modules=(_module("a"),),
        groups=(PipekitGroup("g", None, ("a",)),),
        schedules=(PipekitSchedule(7, "g", "every day", False, False),),
        timezone="UTC",
    )
    with pytest.warns(PipekitDagsterWarning, match="Pipekit schedule 7 .*'every day'"):
        defs = definitions_from_catalog(catalog, resource)
    assert not list(defs.schedules or [])
    assert defs.resolve_job_def("pipekit_group_g").name == "pipekit_group_g"


def test_a_translator_subclass_changes_keys_groups_and_metadata(
    sv: Services, resource: PipekitResource
) -> None:
    class Mine(DagsterPipekitTranslator):
        def get_asset_key(self, module: PipekitModule) -> AssetKey:
            return super().get_asset_key(module).with_prefix("warehouse")

        def get_group_name(self, module: PipekitModule) -> str:
            return "sales"

        def get_metadata(self, module: PipekitModule) -> dict[str, str]:
            return {**super().get_metadata(module), "owner": "finance"}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SchedulerConflictWarning)
        defs = definitions_from_catalog(_catalog(sv), resource, translator=Mine())
    specs = {s.key: s for s in defs.resolve_all_asset_specs()}
    spec = specs[ORDERS.with_prefix("warehouse")]
    assert (spec.group_name, spec.metadata["owner"]) == ("sales", "finance")
    checks = list(defs.resolve_assets_def(CUSTOMERS.with_prefix("warehouse")).check_specs)
    assert checks[0].asset_key == CUSTOMERS.with_prefix("warehouse")


def test_names_dagster_refuses_are_made_safe() -> None:
    spec = DagsterPipekitTranslator().get_asset_spec(
        _module("x", dest="dw-1", dest_table="sales.2026 orders", groups=("nightly-eu",))
    )
    assert spec.key == AssetKey(["dw_1", "sales", "_2026_orders"])
    assert spec.group_name == "nightly_eu"


def test_zone_names() -> None:
    assert zone_name(dt.timezone(dt.timedelta(hours=2))) == "Etc/GMT-2"
    assert zone_name(dt.timezone(dt.timedelta(hours=-5))) == "Etc/GMT+5"
    assert zone_name(dt.UTC) == "UTC"
    with pytest.raises(ValueError, match="set TZ to the server's zone"):
        zone_name(dt.timezone(dt.timedelta(hours=5, minutes=30)))


def test_the_code_location_module(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPEKIT_CONFIG", str(site))
    monkeypatch.setenv("PIPEKIT_DAGSTER_SCHEDULES", "off")
    sys.modules.pop("pipekit.integrations.dagster.location", None)
    location = importlib.import_module("pipekit.integrations.dagster.location")
    Definitions.validate_loadable(location.defs)
    assert {s.key for s in location.defs.resolve_all_asset_specs()} >= {ORDERS, CUSTOMERS}
    assert not list(location.defs.schedules or [])
    sys.modules.pop("pipekit.integrations.dagster.location", None)


def test_a_bad_schedules_choice_in_the_environment_is_refused(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPEKIT_CONFIG", str(site))
    monkeypatch.setenv("PIPEKIT_DAGSTER_SCHEDULES", "always")
    sys.modules.pop("pipekit.integrations.dagster.location", None)
    with pytest.raises(ConfigError, match="PIPEKIT_DAGSTER_SCHEDULES='always' is not a choice"):
        importlib.import_module("pipekit.integrations.dagster.location")
    sys.modules.pop("pipekit.integrations.dagster.location", None)


def test_two_modules_loading_one_table_get_two_assets(resource: PipekitResource) -> None:
    catalog = Catalog(
        modules=(_module("eu", dest_table="main.sales"), _module("us", dest_table="main.sales")),
        groups=(PipekitGroup("g", None, ("eu", "us")),),
        schedules=(),
        timezone="UTC",
    )
    with pytest.warns(PipekitDagsterWarning, match="modules eu and us both load dw/main/sales"):
        defs = definitions_from_catalog(catalog, resource)
    Definitions.validate_loadable(defs)
    assert {s.key for s in defs.resolve_all_asset_specs()} == {
        AssetKey(["dw", "main", "sales"]),
        AssetKey(["dw", "main", "sales", "us"]),
    }


def test_the_resource_needs_the_config_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPEKIT_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="PIPEKIT_CONFIG is not set; point it at"):
        PipekitResource.from_env()
    with (
        pytest.raises(ConfigError, match="does not exist"),
        PipekitResource(config_path="/nonexistent/pipekit.yaml").services("dagster"),
    ):
        pass


def test_the_resource_from_the_environment(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "cluster-secrets.env"
    monkeypatch.setenv("PIPEKIT_CONFIG", str(site))
    monkeypatch.setenv("PIPEKIT_SECRETS", str(secrets))
    resource = PipekitResource.from_env()
    with resource.services("dagster:abc") as sv:
        assert (sv.secrets.path, sv.actor) == (secrets, "dagster:abc")
        assert "orders" in {m.name for m in sv.modules.list()}
    monkeypatch.delenv("PIPEKIT_SECRETS")
    with PipekitResource.from_env().services("dagster") as sv:
        assert sv.secrets.path == sv.config.secrets_path  # the config's secrets_file
