"""seeds/004 §11: the manifest (YAML parsing, capability mapping, auth, config schema,
health check), its validation errors, and discovery: built in, a folder, entry points."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest
import yaml

from pipekit.connectors import Cap
from pipekit.connectors.discovery import find, find_all
from pipekit.connectors.manifest import ConnectorManifest
from pipekit.errors import ConnectorError, ManifestError, NotFoundError, ValidationError

GOOD = {
    "name": "weather",
    "version": "1.2.0-rc.1",
    "description": "Weather by city",
    "entrypoint": "weather.connector.WeatherConnector",
    "capabilities": ["discover", "read", "remote"],
    "auth": {
        "type": "token",
        "env_vars": [{"name": "WEATHER_TOKEN", "required": True, "description": "API token"}],
    },
    "config": {
        "city": {"type": "string", "required": True, "description": "City"},
        "days": {"type": "integer", "default": 7},
        "units": {"type": "string", "enum": ["metric", "imperial"], "default": "metric"},
    },
    "health_check": {"endpoint": "${url}/status", "method": "GET", "expect_status": 200},
}

CONNECTOR_PY = """
from pipekit.connectors import Cap, TableInfo


class {cls}:
    capabilities = Cap.DISCOVER

    def __init__(self, config):
        self.config = config

    def discover(self):
        return []
"""


def write_connector(folder: Path, name: str, **overrides: object) -> Path:
    """A connector package `name` in `folder`: connector.yaml + connector.py."""
    pkg = folder / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "connector.py").write_text(CONNECTOR_PY.format(cls="Conn"))
    manifest = {
        "name": name,
        "version": "1.0.0",
        "entrypoint": f"{name}.connector.Conn",
        "capabilities": ["discover"],
    } | overrides
    (pkg / "connector.yaml").write_text(yaml.safe_dump(manifest))
    return pkg


def problems(data: object, **kw: object) -> dict[str, str]:
    with pytest.raises(ManifestError) as exc:
        ConnectorManifest.parse(data, **kw)  # type: ignore[arg-type]
    return {p.path: p.message for p in exc.value.problems}


class TestManifestValidation:
    def test_yaml_is_parsed(self, tmp_path: Path) -> None:
        path = tmp_path / "weather" / "connector.yaml"
        path.parent.mkdir()
        path.write_text(yaml.safe_dump(GOOD))
        m = ConnectorManifest.load(path, expected_name="weather")
        assert (m.name, m.version, m.description) == ("weather", "1.2.0-rc.1", "Weather by city")
        assert m.entrypoint == "weather.connector.WeatherConnector" and m.path == path

    def test_capabilities_map_to_flags(self) -> None:
        m = ConnectorManifest.parse(GOOD)
        assert m.capabilities == Cap.DISCOVER | Cap.READ | Cap.REMOTE

    def test_auth_env_vars_are_read_and_checked(self) -> None:
        m = ConnectorManifest.parse(GOOD)
        assert m.auth_type == "token" and [v.name for v in m.env_vars] == ["WEATHER_TOKEN"]
        m.check_env({"WEATHER_TOKEN": "x"})
        with pytest.raises(ValidationError, match=r"WEATHER_TOKEN is not set .API token.") as exc:
            m.check_env({})
        assert exc.value.path == "auth.env_vars.WEATHER_TOKEN"

    def test_config_schema_types_defaults_and_required(self) -> None:
        m = ConnectorManifest.parse(GOOD)
        assert m.parse_settings(["city=Brno"]) == {"city": "Brno", "days": 7, "units": "metric"}
        assert m.parse_settings(["city=Brno", "days=3"])["days"] == 3
        with pytest.raises(ValidationError) as exc:
            m.parse_settings(["days=three", "colour=red", "units=kelvin"])
        got = {p.path: p.message for p in exc.value.problems}
        assert got["config.days"] == "must be of type integer, got str 'three'"
        assert got["config.colour"].startswith("unknown setting; settings: city, days, units")
        assert got["config.units"] == "'kelvin' is not one of: metric, imperial"
        assert "is required" in got["config.city"] and "--set city=VALUE" in got["config.city"]

    def test_health_check_is_kept(self) -> None:
        m = ConnectorManifest.parse(GOOD)
        assert m.health_check == GOOD["health_check"]
        assert ConnectorManifest.parse(GOOD | {"health_check": None}).health_check is None


def test_every_problem_is_reported_with_its_key_and_fix() -> None:
    bad = GOOD | {
        "name": "weather",
        "version": 1.0,
        "capabilities": ["read", "fly"],
        "entrypoint": "not an import path",
        "auth": {"type": "magic", "env_vars": [{"name": "NOT-A-NAME"}]},
        "config": {"days": {"type": "int"}, "city": {"type": "string", "default": 3}},
        "colour": "blue",
    }
    got = problems(bad, expected_name="forecast")
    assert got["name"] == "'weather' must equal the folder's name 'forecast'; rename one of them"
    assert "not a semantic version" in got["version"] and '"1.0.0"' in got["version"]
    assert got["capabilities[1]"].startswith("unknown capability 'fly'; valid: discover, read")
    assert "import path to the connector class" in got["entrypoint"]
    assert "'magic' is not one of: token, oauth" in got["auth.type"]
    assert "not an environment variable name" in got["auth.env_vars[0].name"]
    assert got["config.days.type"].startswith("'int' is not a type; use one of: string, integer")
    assert got["config.city.default"] == "3 is not of type string"
    assert got["colour"].startswith("unknown key; the keys are: name, version")


def test_missing_keys_and_non_mapping() -> None:
    assert set(problems({"description": "x"})) == {"name", "version", "entrypoint", "capabilities"}
    assert problems(["a list"]) == {"": "expected a mapping of keys (name, version, ...)"}


def test_entrypoint_that_does_not_import_names_the_fix(tmp_path: Path) -> None:
    name = f"conn_{uuid.uuid4().hex[:8]}"
    write_connector(tmp_path, name, entrypoint=f"{name}.nowhere.Conn")
    m = find(name, tmp_path)
    with pytest.raises(ManifestError, match=r"cannot import .*nowhere.*ModuleNotFoundError") as e:
        m.instantiate({})
    assert e.value.path == "entrypoint"
    m2 = ConnectorManifest.parse(
        {**GOOD, "entrypoint": f"{name}.connector.Missing", "name": name},
        import_root=tmp_path,
    )
    with pytest.raises(ManifestError, match="has no class 'Missing'"):
        m2.load_class()


def test_connector_whose_capabilities_disagree_with_its_manifest(tmp_path: Path) -> None:
    name = f"conn_{uuid.uuid4().hex[:8]}"
    write_connector(tmp_path, name, capabilities=["discover", "read"])
    with pytest.raises(
        ConnectorError, match=r"declares capabilities \[discover\] but its manifest"
    ):
        find(name, tmp_path).instantiate({})


def test_discovery_finds_builtin_folder_and_entry_point_connectors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder_name = f"conn_{uuid.uuid4().hex[:8]}"
    write_connector(tmp_path / "connectors", folder_name)
    ep_name = f"ep_{uuid.uuid4().hex[:8]}"
    site = tmp_path / "site"
    write_connector(site, ep_name)
    dist = site / f"{ep_name}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {ep_name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[pipekit.connectors]\n{ep_name} = {ep_name}\n")
    monkeypatch.syspath_prepend(str(site))

    found = {f.name: f for f in find_all(tmp_path / "connectors")}
    assert found["sample"].source == "builtin" and found["sample"].manifest is not None
    assert found[folder_name].source == "folder"
    assert found[ep_name].source == "entry point"
    connector = find(ep_name, tmp_path / "connectors").instantiate({})
    assert connector.capabilities == Cap.DISCOVER  # type: ignore[attr-defined]
    assert find(folder_name, tmp_path / "connectors").instantiate({}).config == {}  # type: ignore[attr-defined]


def test_a_broken_or_duplicate_connector_is_listed_with_its_problem(tmp_path: Path) -> None:
    write_connector(tmp_path, "sample")  # the built-in's name
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "connector.yaml").write_text("name: [unclosed\n")
    found = {(f.name, f.source): f for f in find_all(tmp_path)}
    assert (
        "already taken by the builtin connector" in found[("sample", "folder")].problems[0].message
    )
    assert "not valid YAML" in found[("broken", "folder")].problems[0].message
    assert find("sample", tmp_path).entrypoint.startswith("pipekit.")  # the first one wins
    with pytest.raises(ManifestError, match="not valid YAML"):
        find("broken", tmp_path)


def test_unknown_connector_suggests_the_closest(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"no connector named 'sampel'.*did you mean 'sample'"):
        find("sampel", tmp_path)


def test_manifest_file_text_round_trip(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        name: mini
        version: "0.1.0"
        entrypoint: mini.connector:Mini
        capabilities: [stream]
        """
    )
    (tmp_path / "mini").mkdir()
    (tmp_path / "mini" / "connector.yaml").write_text(text)
    m = ConnectorManifest.load(tmp_path / "mini" / "connector.yaml", expected_name="mini")
    assert m.capabilities == Cap.STREAM and m.auth_type == "none" and m.config == []
