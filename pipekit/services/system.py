"""The installation itself: `init` (config file, state DB), `doctor` checks, secrets.

These work before there is a usable state store (that is what `init` makes and
what `doctor` diagnoses), so they are functions over a config path or a
secrets file rather than methods of ``Services``. Secrets are names and values
in the secrets file; no function here returns a value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pipekit.errors import ConfigError, NotFoundError, PipekitError, SecretError

if TYPE_CHECKING:
    from pipekit.config import Config
    from pipekit.secrets import SecretsFile
    from pipekit.services.connections import ConnectionView


# -- init --------------------------------------------------------------------------


@dataclass(frozen=True)
class MigrationView:
    version: int
    name: str


@dataclass(frozen=True)
class InitView:
    """What `init` did: the config file (kept or written), the state DB's migrations."""

    config_path: str
    config_written: bool
    database: str
    schema_version: int | None
    applied: list[MigrationView]
    secrets_path: str


def init(config_path: Path | None) -> InitView:
    """Write a default config at `config_path` (else the usual places) if there is
    none, then create or upgrade the state database. Safe to run again."""
    from pipekit.config import (
        default_config_path,
        default_config_text,
        find_config_path,
        load_config,
    )
    from pipekit.services import Services

    path = config_path or find_config_path() or default_config_path()
    written = not path.exists()
    if written:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(default_config_text())
        except OSError as exc:
            raise ConfigError(
                f"cannot write the config file {path}: {exc.strerror}; "
                "choose another place with --config or $PIPEKIT_CONFIG"
            ) from None
    config = load_config(path)  # an existing one is validated before anything else
    with Services.open(config) as sv:
        applied = sv.store.init()
        version = sv.store.schema_version()
        where = sv.store.display()
    return InitView(
        config_path=str(path),
        config_written=written,
        database=where,
        schema_version=version,
        applied=[MigrationView(m.version, m.name) for m in applied],
        secrets_path=str(config.secrets_path),
    )


# -- doctor ------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckView:
    """One doctor line: ``ok``, ``bad`` (a problem to fix) or ``warn``."""

    status: Literal["ok", "bad", "warn"]
    message: str


@dataclass(frozen=True)
class DoctorView:
    ok: bool
    problems: int
    warnings: int
    checks: list[CheckView] = field(default_factory=list)


class _Report:
    def __init__(self) -> None:
        self.checks: list[CheckView] = []

    def ok(self, message: str) -> None:
        self.checks.append(CheckView("ok", message))

    def bad(self, message: str) -> None:
        self.checks.append(CheckView("bad", message))

    def warn(self, message: str) -> None:
        self.checks.append(CheckView("warn", message))

    def view(self) -> DoctorView:
        problems = sum(c.status == "bad" for c in self.checks)
        warnings = sum(c.status == "warn" for c in self.checks)
        return DoctorView(problems == 0, problems, warnings, list(self.checks))


def doctor(config_path: Path | None, *, connect: bool = False) -> DoctorView:
    """Check the config, the state database, the secrets file, every connection's
    password reference and the drivers they need; with `connect`, connect to each.
    A failure is a ``bad`` check, never an exception."""
    from pipekit.config import load_config

    report = _Report()
    conns: list[ConnectionView] = []
    try:
        config: Config | None = load_config(config_path)
    except ConfigError as exc:
        report.bad(f"config: {exc}")
        config = None
    if config is not None:
        where = config.path or "none found, using built-in defaults; `pipekit init` writes one"
        report.ok(f"config: {where}")
        conns = _check_store(config, report)
        sf = _check_secrets(config, report)
        for c in conns:
            _check_password(c, sf, report)
    _check_drivers(conns, report)  # even without a config: what this machine can reach
    if connect and config is not None and conns:
        _check_connect(config, conns, report)
    return report.view()


def _check_store(config: Config, report: _Report) -> list[ConnectionView]:
    from pipekit.files import loose_mode
    from pipekit.services import Services

    try:
        with Services.open(config) as sv:
            version = sv.check()
            conns = sv.connections.list()
            report.ok(f"state database: {sv.store.display()} at schema version {version}")
            if sv.store.target.path is not None:
                loose = loose_mode(sv.store.target.path, "state database")
                if loose:
                    report.warn(loose)
            return conns
    except PipekitError as exc:
        report.bad(f"state database: {exc}")
        return []


def _check_secrets(config: Config, report: _Report) -> SecretsFile | None:
    from pipekit.files import loose_mode
    from pipekit.secrets import SecretsFile

    sf = SecretsFile(config.secrets_path)
    if not sf.path.exists():
        report.ok(f"secrets file: {sf.path} (not created yet)")
        return sf
    problem = sf.mode_problem()
    if problem:
        report.bad(f"secrets file: {problem}")
    try:
        count = len(sf.read())
    except (PipekitError, OSError) as exc:
        report.bad(f"secrets file: {exc}")
        return None
    loose = None if problem else loose_mode(sf.path, "secrets file")
    if loose:
        report.warn(loose)
    elif not problem:
        report.ok(f"secrets file: {sf.path} ({count} secret(s), permissions private)")
    return sf


def _check_password(c: ConnectionView, sf: SecretsFile | None, report: _Report) -> None:
    from pipekit.secrets import resolve

    if not c.password:
        report.ok(f"connection {c.name}: no password needed")
        return
    try:
        resolve(c.password, sf)
    except SecretError as exc:
        report.bad(f"connection {c.name}: {exc}")
        return
    report.ok(f"connection {c.name}: password {c.password} is set")


def _check_drivers(conns: list[ConnectionView], report: _Report) -> None:
    from pipekit.drivers import kind_for_url
    from pipekit.services.drivers import list_drivers

    users: dict[str, list[str]] = {}
    for c in conns:
        try:
            users.setdefault(kind_for_url(c.url), []).append(c.name)
        except PipekitError as exc:
            report.bad(f"connection {c.name}: {exc}")
    for d in list_drivers():
        needed_by = users.get(d.kind, [])
        if d.available:
            report.ok(f"driver {d.kind}: available")
        elif needed_by:
            report.bad(
                f"driver {d.kind}: needed by {', '.join(needed_by)} but "
                f"{', '.join(d.missing)} is not installed; install with: {d.install}"
            )
        else:
            report.warn(
                f"driver {d.kind}: not installed ({', '.join(d.missing)}); no connection "
                f"uses it yet. Install with: {d.install}"
            )


def _check_connect(config: Config, conns: list[ConnectionView], report: _Report) -> None:
    from pipekit.services import Services

    with Services.open(config) as sv:
        for c in conns:
            r = sv.connections.test(c.id)
            if r.ok:
                report.ok(f"connect {c.name}: {r.kind} {r.server_version} ({r.latency_ms:.0f} ms)")
            else:
                report.bad(f"connect {c.name}: {r.error}")


# -- secrets ------------------------------------------------------------------------


@dataclass(frozen=True)
class SecretSetView:
    key: str
    path: str
    replaced: bool


@dataclass(frozen=True)
class SecretsView:
    """The secrets file's names (never values) and what is wrong with its permissions."""

    path: str
    keys: list[str]
    problem: str | None


def check_secret_key(key: str) -> str:
    """SecretError (path ``key``) for a name a ``$VAR`` reference cannot spell."""
    from pipekit.secrets import check_key

    try:
        return check_key(key)
    except SecretError as exc:
        raise SecretError(exc.message, path="key") from None


def set_secret(sf: SecretsFile, key: str, value: str) -> SecretSetView:
    """Add or replace the secret `key`."""
    check_secret_key(key)
    replaced = key in sf.read()
    sf.set(key, value)
    return SecretSetView(key, str(sf.path), replaced)


def list_secrets(sf: SecretsFile) -> SecretsView:
    return SecretsView(str(sf.path), sf.keys(), sf.mode_problem())


def remove_secret(sf: SecretsFile, key: str) -> None:
    """Remove the secret `key`; NotFoundError if it is not set."""
    if not sf.remove(key):
        raise NotFoundError(
            f"secret {key} is not set in {sf.path} (see `pipekit secrets list`)", path="key"
        )
