"""Bootstrap configuration: one YAML file that says where everything else lives.

The file is found at ``$PIPEKIT_CONFIG``, else ``./pipekit.yaml``, else the
per-user default (``$XDG_CONFIG_HOME/pipekit/pipekit.yaml``), else
``/etc/pipekit/pipekit.yaml``. Each setting is declared once in ``SETTINGS``
with its type, default and help text; loading, ``pipekit doctor`` and the docs
all read that table. Relative paths in the file are relative to the file.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipekit.errors import ConfigError
from pipekit.files import FilePolicy

ENV_CONFIG = "PIPEKIT_CONFIG"
ENV_SECRETS = "PIPEKIT_SECRETS"
FILE_NAME = "pipekit.yaml"


@dataclass(frozen=True)
class Setting:
    """One key of the bootstrap file: dotted name, accepted type, default, help."""

    key: str
    type: type | tuple[type, ...]
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "database",
        str,
        "pipekit.db",
        "State database: a SQLite file path, or a postgresql:// URL.",
    ),
    Setting("secrets_file", str, "secrets.env", "KEY=value file that `$VAR` references read."),
    Setting("driver_dir", str, "drivers", "Folder holding JDBC driver jars."),
    Setting(
        "jdbc.max_heap",
        str,
        "256m",
        "Heap limit of the Java VM a process starts for JDBC connections (`-Xmx`: "
        "a number with k, m or g); read when the first JDBC connection opens.",
    ),
    Setting(
        "jdbc.class_cache",
        (str, type(None)),
        "jdbc-cache",
        "Folder where the JDBC bridge keeps class-data sharing archives of its Java VM, "
        "built in the background after the first JDBC read, so later processes start "
        "reading sooner; none turns them off. An unwritable folder only turns them off.",
    ),
    Setting(
        "connectors_dir",
        str,
        "connectors",
        "Folder of your own connectors: one sub-folder with a connector.yaml each.",
    ),
    Setting(
        "files.allowed_directories",
        (list, type(None)),
        None,
        "Folders SQLite/DuckDB database files (and other file-based connections) may be in, "
        "and the only ones SQL inside DuckDB may read or write; none: database files anywhere "
        "but Pipekit's own, and no file access from SQL. Relative to this file.",
    ),
    Setting("staging_schema", str, "pipekit_staging", "Schema for staging tables."),
    Setting("api.host", str, "127.0.0.1", "Address `pipekit serve` listens on."),
    Setting("api.port", int, 8100, "Port `pipekit serve` listens on."),
    Setting(
        "api.max_request_bytes",
        int,
        10 * 1024 * 1024,
        "Largest request body `pipekit serve` accepts, in bytes; a larger one is answered "
        "413 before it is read whole.",
    ),
    Setting("max_concurrent_runs", int, 4, "Runs the server executes at the same time."),
    Setting("smtp.host", (str, type(None)), None, "SMTP server for failure emails."),
    Setting("smtp.port", int, 587, "SMTP port."),
    Setting("smtp.user", (str, type(None)), None, "SMTP user name."),
    Setting("smtp.password", (str, type(None)), None, "SMTP password, as a `$VAR` reference."),
    Setting("smtp.starttls", bool, True, "Use STARTTLS."),
    Setting("smtp.sender", (str, type(None)), None, "From address of failure emails."),
    Setting("smtp.recipients", list, [], "Addresses that receive failure emails."),
    Setting(
        "notify.webhook_url",
        (str, type(None)),
        None,
        "URL that receives a JSON POST (Slack-compatible) when a run fails.",
    ),
    Setting(
        "notify.cli_runs",
        bool,
        True,
        "Send failure notifications for runs started from the command line (`pipekit run`, "
        "`run-group`, cron) too, not only for the server's.",
    ),
    Setting(
        "server.base_url",
        (str, type(None)),
        None,
        "Public URL of the server, for links to runs in notifications.",
    ),
    Setting(
        "server.trusted_proxies",
        list,
        [],
        "Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto headers are believed; from any other peer they are ignored, so "
        "a client cannot pick the address the login throttle counts it under.",
    ),
    Setting("scheduler.interval_s", (int, float), 60, "Seconds between scheduler passes."),
    Setting(
        "scheduler.enabled",
        bool,
        True,
        "Run the scheduler in this `pipekit serve`; false on the extra servers when several "
        "share one state store (each slot fires once either way).",
    ),
    Setting(
        "runs.lease_s",
        (int, float),
        60,
        "Seconds a module's lock (lease) lasts without a heartbeat; the run renews it every "
        "third of that. A run whose process died is recovered once its lease expired.",
    ),
    Setting(
        "runs.retention_days",
        (int, type(None)),
        None,
        "Days `pipekit serve` keeps finished runs in the run log (pruned at start and daily); "
        "none keeps them for ever.",
    ),
)
_BY_KEY = {s.key: s for s in SETTINGS}
_PATH_KEYS = ("database", "secrets_file", "driver_dir", "connectors_dir", "jdbc.class_cache")


@dataclass(frozen=True)
class Config:
    """The loaded bootstrap configuration (paths already made absolute)."""

    path: Path | None
    values: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else _user_data_dir()

    @property
    def database(self) -> str:
        return self.values["database"]

    @property
    def secrets_path(self) -> Path:
        override = os.environ.get(ENV_SECRETS)
        return Path(override) if override else Path(self.values["secrets_file"])

    @property
    def staging_schema(self) -> str:
        return self.values["staging_schema"]

    def file_policy(self) -> FilePolicy:
        """The files connections may open: ``files.allowed_directories``, and never the
        files Pipekit keeps its own state in (state database, secrets, this config)."""
        protected: list[str | Path] = [self.secrets_path]
        if "://" not in self.database:
            protected.append(self.database)
        if self.path is not None:
            protected.append(self.path)
        return FilePolicy.make(self.values.get("files.allowed_directories") or (), protected)


def _user_config_dir() -> Path:
    # platformdirs is imported only when a user directory is really needed: most
    # commands run with $PIPEKIT_CONFIG or ./pipekit.yaml, and start-up counts.
    from platformdirs import user_config_path

    return user_config_path("pipekit")


def _user_data_dir() -> Path:
    from platformdirs import user_data_path  # lazily, as in _user_config_dir

    return user_data_path("pipekit")


def candidate_paths() -> Iterator[Path]:
    """Where a config file is looked for, in order (without ``$PIPEKIT_CONFIG``).

    A generator, so a config found in the working directory spares the lookup of
    the user directory.
    """
    yield Path.cwd() / FILE_NAME
    yield _user_config_dir() / FILE_NAME
    yield Path("/etc/pipekit") / FILE_NAME


def find_config_path() -> Path | None:
    """The config file in effect: ``$PIPEKIT_CONFIG`` even if missing, else the first found."""
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env).expanduser().absolute()
    return next((p for p in candidate_paths() if p.is_file()), None)


def default_config_path() -> Path:
    """Where `pipekit init` writes a config when none exists."""
    env = os.environ.get(ENV_CONFIG)
    return Path(env).expanduser().absolute() if env else _user_config_dir() / FILE_NAME


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        is_section = any(k.startswith(name + ".") for k in _BY_KEY)
        if isinstance(value, dict) and is_section:
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _type_name(t: type | tuple[type, ...]) -> str:
    types = t if isinstance(t, tuple) else (t,)
    if float in types:
        types = tuple(x for x in types if x is not int)
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "a list",
    }
    return " or ".join(names.get(x, "null") for x in types)


def parse_config(data: Any, path: Path | None) -> Config:
    """Validate raw YAML data; every problem is reported, each naming its key."""
    if data is None:
        data = {}
    where = str(path) if path else "configuration"
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of settings at the top level")
    problems: list[str] = []
    values = {s.key: s.default for s in SETTINGS}
    for key, value in _flatten(data).items():
        setting = _BY_KEY.get(key)
        if setting is None:
            known = ", ".join(s.key for s in SETTINGS)
            problems.append(f"unknown key '{key}' (known keys: {known})")
            continue
        types = setting.type if isinstance(setting.type, tuple) else (setting.type,)
        ok = isinstance(value, setting.type) and not (isinstance(value, bool) and bool not in types)
        if not ok:
            problems.append(
                f"'{key}' must be {_type_name(setting.type)}, got {type(value).__name__} {value!r}"
            )
            continue
        values[key] = value
    for key in ("api.port",):
        if isinstance(values[key], int) and not 0 < values[key] < 65536:
            problems.append(f"'{key}' must be between 1 and 65535, got {values[key]}")
    if isinstance(values["api.max_request_bytes"], int) and values["api.max_request_bytes"] < 1:
        problems.append("'api.max_request_bytes' must be at least 1")
    if isinstance(values["max_concurrent_runs"], int) and values["max_concurrent_runs"] < 1:
        problems.append("'max_concurrent_runs' must be at least 1")
    for key in ("notify.webhook_url", "server.base_url"):
        url = values[key]
        if isinstance(url, str) and not url.startswith(("http://", "https://")):
            problems.append(f"'{key}' must be an http:// or https:// URL, got {url!r}")
    for entry in (
        values["server.trusted_proxies"]
        if isinstance(values["server.trusted_proxies"], list)
        else []
    ):
        try:
            ipaddress.ip_network(str(entry), strict=False)
        except ValueError:
            problems.append(
                f"'server.trusted_proxies' holds {entry!r}, which is not an IP address or "
                "network (like 10.0.0.5 or 10.0.0.0/24)"
            )
    folders = values["files.allowed_directories"]
    if isinstance(folders, list) and not all(isinstance(f, str) and f.strip() for f in folders):
        problems.append("'files.allowed_directories' must be a list of folder paths")
    heap = values["jdbc.max_heap"]
    if isinstance(heap, str) and not re.fullmatch(r"[1-9][0-9]*[kKmMgG]?", heap):
        problems.append(
            f"'jdbc.max_heap' must be a size such as 256m or 2g (Java's -Xmx), got {heap!r}"
        )
    lease = values["runs.lease_s"]
    if isinstance(lease, int | float) and lease <= 0:
        problems.append(f"'runs.lease_s' must be more than 0, got {lease}")
    interval = values["scheduler.interval_s"]
    if isinstance(interval, int | float) and not interval > 0:
        problems.append(f"'scheduler.interval_s' must be more than 0, got {interval}")
    if problems:
        raise ConfigError(f"{where}: " + "; ".join(problems))
    base = path.parent if path else _user_data_dir()
    for key in _PATH_KEYS:
        value = values[key]
        if value is None or (key == "database" and "://" in value):
            continue
        p = Path(value).expanduser()
        values[key] = str(p if p.is_absolute() else base / p)
    folders = values["files.allowed_directories"]
    if folders is not None:
        values["files.allowed_directories"] = [
            str((base / Path(f).expanduser()).resolve()) for f in folders
        ]
    return Config(path=path, values=values)


def load_config(path: Path | None = None) -> Config:
    """Load the bootstrap config from `path`, or from wherever it is found."""
    path = path or find_config_path()
    if path is None:
        return parse_config({}, None)
    if not path.is_file():
        raise ConfigError(
            f"config file {path} does not exist; run `pipekit init` to create it "
            f"or point {ENV_CONFIG} at an existing file"
        )
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(data, path)


def default_config_text() -> str:
    """The commented config file `pipekit init` writes."""
    lines = ["# Pipekit bootstrap configuration. Relative paths are relative to this file."]
    sections: dict[str, list[Setting]] = {}
    for s in SETTINGS:
        head, _, rest = s.key.partition(".")
        if rest:
            sections.setdefault(head, []).append(s)
        else:
            lines.append(f"# {s.help}")
            lines.append(yaml.safe_dump({s.key: s.default}).strip())
    for head, items in sections.items():
        lines.append(f"{head}:")
        for s in items:
            lines.append(f"  # {s.help}")
            dumped = yaml.safe_dump({s.key.split(".", 1)[1]: s.default}).strip()
            lines.append(f"  {dumped}")
    return "\n".join(lines) + "\n"
