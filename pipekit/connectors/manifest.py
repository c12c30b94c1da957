"""``connector.yaml``: what a connector is, needs and offers, checked before use.

::

    name: weather                     # the folder's name; letters, digits, _
    version: "1.0.0"                  # semantic version, quoted
    description: Daily weather by city
    entrypoint: weather.connector.WeatherConnector   # module.Class (or module:Class)
    capabilities: [discover, read]    # discover, read, stream, remote, write
    auth:
      type: token                     # token | oauth | basic | service_account | none
      env_vars:
        - {name: WEATHER_TOKEN, required: true, description: API token}
    config:                           # the settings `--set key=value` gives
      city: {type: string, required: true, description: City name}
      days: {type: integer, default: 7}
    health_check:                     # optional: one request, run by `connector test`
      endpoint: "${url}/status"       # (see health.py)

Every problem is reported at once, each with the key it concerns and what to
do (``ManifestError``). A settings value of the wrong type, a missing required
one or an unset required environment variable is a ``ValidationError`` naming
the key.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipekit.connectors.protocol import ENV_NAME, SAFE_NAME, Cap, capabilities_of, parse_caps
from pipekit.errors import ConnectorError, ManifestError, Problem, ValidationError

__all__ = ["CONFIG_TYPES", "ConfigField", "ConnectorManifest", "EnvVar"]

FILE_NAME = "connector.yaml"
KEYS = (
    "name",
    "version",
    "description",
    "entrypoint",
    "capabilities",
    "auth",
    "config",
    "health_check",
)
AUTH_TYPES = ("token", "oauth", "basic", "service_account", "none")
#: config field types, JSON-Schema names -> the Python types a value may have
CONFIG_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}
#: records one problem: (dotted path, message)
Report = Callable[[str, str], None]
FIELD_KEYS = ("type", "required", "default", "description", "format", "enum")
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)
ENTRYPOINT = re.compile(r"^[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*[.:][A-Za-z_]\w*$")


@dataclass(frozen=True)
class EnvVar:
    name: str
    required: bool = True
    description: str = ""


@dataclass(frozen=True)
class ConfigField:
    name: str
    type: str
    required: bool = False
    default: Any = None
    description: str = ""
    enum: tuple[Any, ...] | None = None  # the values allowed, when listed


def _is(value: Any, type_name: str) -> bool:
    types = CONFIG_TYPES[type_name]
    # YAML's true/false are bools, which Python also counts as ints
    return isinstance(value, types) and (type_name == "boolean" or not isinstance(value, bool))


@dataclass
class ConnectorManifest:
    """A validated ``connector.yaml``. Make with ``ConnectorManifest.load(path)``."""

    name: str
    version: str
    description: str
    entrypoint: str
    capabilities: Cap
    auth_type: str = "none"
    env_vars: list[EnvVar] = field(default_factory=list)
    config: list[ConfigField] = field(default_factory=list)
    health_check: dict[str, Any] | None = None
    path: Path | None = None  # the connector.yaml it came from
    #: a folder put on sys.path to import the entrypoint (a configured connectors folder)
    import_root: Path | None = None

    # -- loading ---------------------------------------------------------------

    @classmethod
    def load(
        cls, path: Path, *, expected_name: str | None = None, import_root: Path | None = None
    ) -> ConnectorManifest:
        """Read and validate `path`; ManifestError listing every problem.

        `expected_name` is the folder's (or entry point's) name, which ``name`` must equal.
        """
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ManifestError([Problem("", f"cannot read it: {exc}")], str(path)) from None
        except yaml.YAMLError as exc:
            raise ManifestError([Problem("", f"not valid YAML: {exc}")], str(path)) from None
        return cls.parse(
            data, source=str(path), expected_name=expected_name, path=path, import_root=import_root
        )

    @classmethod
    def parse(
        cls,
        data: Any,
        *,
        source: str = "connector.yaml",
        expected_name: str | None = None,
        path: Path | None = None,
        import_root: Path | None = None,
    ) -> ConnectorManifest:
        problems: list[Problem] = []

        def bad(where: str, message: str) -> None:
            problems.append(Problem(where, message))

        if not isinstance(data, dict):
            raise ManifestError(
                [Problem("", "expected a mapping of keys (name, version, ...)")], source
            )
        for key in data:
            if key not in KEYS:
                bad(str(key), f"unknown key; the keys are: {', '.join(KEYS)}")
        for key in ("name", "version", "entrypoint", "capabilities"):
            if key not in data:
                bad(key, "is required")
        name = data.get("name")
        if "name" in data:
            if not isinstance(name, str) or not SAFE_NAME.match(name):
                bad("name", f"{name!r} must be letters, digits and _, not starting with a digit")
            elif expected_name is not None and name != expected_name:
                bad(
                    "name",
                    f"{name!r} must equal the folder's name {expected_name!r}; rename one of them",
                )
        version = data.get("version")
        if "version" in data and (not isinstance(version, str) or not SEMVER.match(version)):
            bad("version", f'{version!r} is not a semantic version; write it quoted, like "1.0.0"')
        description = data.get("description", "")
        if not isinstance(description, str):
            bad("description", "must be a string")
        entrypoint = data.get("entrypoint")
        if "entrypoint" in data and (
            not isinstance(entrypoint, str) or not ENTRYPOINT.match(entrypoint)
        ):
            bad(
                "entrypoint",
                f"{entrypoint!r} must be an import path to the connector class, "
                "like weather.connector.WeatherConnector",
            )
        caps = Cap(0)
        raw_caps = data.get("capabilities")
        if "capabilities" in data:
            if not isinstance(raw_caps, list) or not raw_caps:
                bad("capabilities", "must be a non-empty list, like [discover, read]")
            else:
                for i, c in enumerate(raw_caps):
                    try:
                        caps |= parse_caps([str(c)])
                    except ValueError as exc:
                        bad(f"capabilities[{i}]", str(exc))
        auth_type, env_vars = cls._auth(data.get("auth"), bad)
        config = cls._config(data.get("config"), bad)
        health = data.get("health_check")
        if health is not None and not isinstance(health, dict):
            bad("health_check", "must be a mapping (endpoint, method, expect_status, ...)")
        elif health is not None:
            from pipekit.connectors.health import check_spec

            problems.extend(check_spec(health))
        if problems:
            raise ManifestError(problems, source)
        return cls(
            name=str(name),
            version=str(version),
            description=str(description or ""),
            entrypoint=str(entrypoint),
            capabilities=caps,
            auth_type=auth_type,
            env_vars=env_vars,
            config=config,
            health_check=health,
            path=path,
            import_root=import_root,
        )

    @staticmethod
    def _auth(raw: Any, bad: Report) -> tuple[str, list[EnvVar]]:
        if raw is None:
            return "none", []
        if not isinstance(raw, dict):
            bad("auth", "must be a mapping with type and env_vars")
            return "none", []
        for key in raw:
            if key not in ("type", "env_vars"):
                bad(f"auth.{key}", "unknown key; the keys are: type, env_vars")
        auth_type = raw.get("type", "none")
        if auth_type not in AUTH_TYPES:
            bad("auth.type", f"{auth_type!r} is not one of: {', '.join(AUTH_TYPES)}")
        env_vars: list[EnvVar] = []
        items = raw.get("env_vars") or []
        if not isinstance(items, list):
            bad("auth.env_vars", "must be a list of {name, required, description}")
            items = []
        for i, item in enumerate(items):
            where = f"auth.env_vars[{i}]"
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                bad(where, "must be a mapping with at least a name")
                continue
            if not ENV_NAME.match(item["name"]):
                bad(f"{where}.name", f"{item['name']!r} is not an environment variable name")
            required = item.get("required", True)
            if not isinstance(required, bool):
                bad(f"{where}.required", "must be true or false")
            env_vars.append(EnvVar(item["name"], bool(required), str(item.get("description", ""))))
        return str(auth_type), env_vars

    @staticmethod
    def _config(raw: Any, bad: Report) -> list[ConfigField]:
        if raw is None:
            return []
        if not isinstance(raw, dict):
            bad("config", "must be a mapping of setting name -> {type, required, ...}")
            return []
        fields: list[ConfigField] = []
        for key, spec in raw.items():
            where = f"config.{key}"
            if not isinstance(spec, dict):
                bad(where, "must be a mapping with at least a type")
                continue
            for k in spec:
                if k not in FIELD_KEYS:
                    bad(f"{where}.{k}", f"unknown key; the keys are: {', '.join(FIELD_KEYS)}")
            type_name = spec.get("type")
            if type_name not in CONFIG_TYPES:
                bad(
                    f"{where}.type",
                    f"{type_name!r} is not a type; use one of: {', '.join(CONFIG_TYPES)}",
                )
                continue
            required = spec.get("required", False)
            if not isinstance(required, bool):
                bad(f"{where}.required", "must be true or false")
            enum = spec.get("enum")
            if enum is not None and not isinstance(enum, list):
                bad(f"{where}.enum", "must be a list of the values allowed")
            default = spec.get("default")
            if default is not None and not _is(default, type_name):
                bad(f"{where}.default", f"{default!r} is not of type {type_name}")
            fields.append(
                ConfigField(
                    str(key),
                    type_name,
                    bool(required),
                    default,
                    str(spec.get("description", "")),
                    tuple(enum) if isinstance(enum, list) else None,
                )
            )
        return fields

    # -- using it --------------------------------------------------------------

    def settings(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """`given` checked against ``config``, defaults filled in; ValidationError naming
        each key that is unknown, missing or of the wrong type."""
        declared = {f.name: f for f in self.config}
        problems: list[Problem] = []
        for key, value in given.items():
            f = declared.get(key)
            if f is None:
                known = ", ".join(declared) or "none"
                problems.append(Problem(f"config.{key}", f"unknown setting; settings: {known}"))
            elif f.enum is not None and value not in f.enum:
                allowed = ", ".join(str(v) for v in f.enum)
                problems.append(Problem(f"config.{key}", f"{value!r} is not one of: {allowed}"))
            elif not _is(value, f.type):
                problems.append(
                    Problem(
                        f"config.{key}",
                        f"must be of type {f.type}, got {type(value).__name__} {value!r}",
                    )
                )
        values: dict[str, Any] = {}
        for f in self.config:
            if f.name in given:
                values[f.name] = given[f.name]
            elif f.required:
                problems.append(
                    Problem(
                        f"config.{f.name}",
                        f"is required ({f.description or f.type}); "
                        f"give it with --set {f.name}=VALUE",
                    )
                )
            elif f.default is not None:
                values[f.name] = f.default
        if problems:
            raise ValidationError(problems, f"the settings of connector {self.name}")
        return values

    def parse_settings(self, items: Sequence[str]) -> dict[str, Any]:
        """``KEY=VALUE`` texts (the CLI's ``--set``) as typed values by the declared
        types (YAML spelling for numbers, booleans, lists and mappings), then checked
        like ``settings``."""
        declared = {f.name: f for f in self.config}
        given: dict[str, Any] = {}
        problems: list[Problem] = []
        for item in items:
            key, sep, text = item.partition("=")
            key = key.strip()
            if not sep or not key:
                problems.append(Problem("config", f"{item!r} must be KEY=VALUE"))
                continue
            f = declared.get(key)
            if f is None or f.type == "string":
                given[key] = text
                continue
            try:
                given[key] = yaml.safe_load(text) if text else None
            except yaml.YAMLError:
                given[key] = text  # reported by settings() as the wrong type
        if problems:
            raise ValidationError(problems, f"the settings of connector {self.name}")
        return self.settings(given)

    def check_env(self, environ: Mapping[str, str]) -> None:
        """ValidationError naming every required environment variable that is not set."""
        problems = [
            Problem(
                f"auth.env_vars.{v.name}",
                f"environment variable {v.name} is not set"
                f"{' (' + v.description + ')' if v.description else ''}; "
                f"export it, or store it with `pipekit secrets set {v.name}`",
            )
            for v in self.env_vars
            if v.required and not environ.get(v.name)
        ]
        if problems:
            raise ValidationError(problems, f"connector {self.name}")

    def load_class(self) -> type:
        """Import the entrypoint's class; ManifestError (path ``entrypoint``) if it fails."""
        module_name, _, class_name = self.entrypoint.replace(":", ".").rpartition(".")
        if self.import_root is not None and str(self.import_root) not in sys.path:
            sys.path.insert(0, str(self.import_root))
        source = str(self.path or self.name)
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # an author's module may fail in any way when imported
            raise ManifestError(
                [
                    Problem(
                        "entrypoint", f"cannot import {module_name!r}: {type(exc).__name__}: {exc}"
                    )
                ],
                source,
            ) from None
        cls = getattr(module, class_name, None)
        if not isinstance(cls, type):
            raise ManifestError(
                [Problem("entrypoint", f"module {module_name!r} has no class {class_name!r}")],
                source,
            )
        return cls

    def instantiate(self, settings: Mapping[str, Any]) -> object:
        """The connector, made with checked `settings`; its capabilities must be the
        manifest's (ConnectorError naming both when they differ)."""
        cls = self.load_class()
        try:
            connector = cls(dict(settings))
        except Exception as exc:
            raise ConnectorError(
                f"connector {self.name} could not start: {type(exc).__name__}: {exc}"
            ) from None
        caps = capabilities_of(connector)
        if caps != self.capabilities:
            raise ConnectorError(
                f"connector {self.name} declares capabilities [{', '.join(caps.names)}] but "
                f"its manifest says [{', '.join(self.capabilities.names)}]; make them agree",
                path="capabilities",
            )
        return connector
