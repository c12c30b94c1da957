"""Connectors: list, discover, test, scaffold and extract, for every face.

Nothing here needs the state database: a connector is found in the install,
the configured ``connectors_dir`` or an installed package's entry point, and
extracts into a folder of files. Settings come as ``KEY=VALUE`` texts, typed by
the manifest; a ``$VAR`` value is resolved from the secrets file, then the
environment; a variable the manifest's ``auth.env_vars`` declares may live in
the secrets file too (it is put into this process's environment for the
connector to read).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipekit.errors import AlreadyExistsError, InvalidError
from pipekit.redact import redact

if TYPE_CHECKING:
    from pipekit.config import Config
    from pipekit.connectors.manifest import ConnectorManifest
    from pipekit.connectors.protocol import TableInfo
    from pipekit.secrets import SecretsFile

__all__ = [
    "CheckView",
    "ColumnView",
    "ConnectorService",
    "ConnectorView",
    "ContractView",
    "ExtractView",
    "ScaffoldView",
    "TableView",
]


@dataclass(frozen=True)
class ConnectorView:
    name: str
    version: str | None
    description: str
    source: str  # builtin, folder, entry point
    location: str
    capabilities: list[str]
    valid: bool
    problems: list[str]


@dataclass(frozen=True)
class ColumnView:
    name: str
    type: str
    nullable: bool


@dataclass(frozen=True)
class TableView:
    name: str
    description: str
    capabilities: list[str]
    primary_key: list[str]
    incremental_key: str | None
    columns: list[ColumnView]


@dataclass(frozen=True)
class CheckView:
    name: str
    outcome: str  # passed, failed, skipped
    detail: str


@dataclass(frozen=True)
class ContractView:
    connector: str
    passed: bool
    checks: list[CheckView]


@dataclass(frozen=True)
class ScaffoldView:
    name: str
    path: str
    capabilities: list[str]
    files: list[str]
    #: whether `connector list|test|extract` find it (it is in connectors_dir)
    found: bool


@dataclass(frozen=True)
class ExtractView:
    connector: str
    out: str
    database: str
    tables_extracted: int
    tables_failed: int
    total_rows: int
    rows: dict[str, int]
    schema_changes: list[str]
    errors: list[str]


@dataclass
class _Opened:
    manifest: ConnectorManifest
    connector: Any
    values: dict[str, Any]  # the checked settings
    secrets: list[str]  # values to mask in what is reported


def _table_view(t: TableInfo) -> TableView:
    return TableView(
        name=t.name,
        description=t.description,
        capabilities=t.capabilities.names,
        primary_key=list(t.primary_key or []),
        incremental_key=t.incremental_key,
        columns=[ColumnView(f.name, str(f.type), f.nullable) for f in t.schema],
    )


class ConnectorService:
    """Reached as ``sv.connectors``; needs only the config and the secrets file."""

    def __init__(self, config: Config, secrets: SecretsFile | None = None) -> None:
        self.config = config
        self.secrets = secrets

    @property
    def folder(self) -> Path:
        """The configured ``connectors_dir`` (absolute)."""
        return Path(self.config.values["connectors_dir"])

    def manifest(self, name: str) -> ConnectorManifest:
        from pipekit.connectors.discovery import find

        return find(name, self.folder)

    def open(self, name: str, settings: Sequence[str] = ()) -> tuple[ConnectorManifest, Any]:
        """The manifest and a connector made with `settings` (``KEY=VALUE`` texts)."""
        opened = self._open(name, settings)
        return opened.manifest, opened.connector

    def _open(self, name: str, settings: Sequence[str]) -> _Opened:
        """Also the checked settings, and the secret values it was given (to mask)."""
        from pipekit.secrets import is_reference, resolve

        manifest = self.manifest(name)
        values = manifest.parse_settings(settings)
        secrets: list[str] = []
        for key, value in values.items():
            if isinstance(value, str) and is_reference(value):
                values[key] = resolve(value, self.secrets)
                secrets.append(values[key])
        stored = self.secrets.read() if self.secrets and self.secrets.path.exists() else {}
        for var in manifest.env_vars:
            if not os.environ.get(var.name) and stored.get(var.name):
                os.environ[var.name] = stored[var.name]
            secrets.append(os.environ.get(var.name, ""))
        manifest.check_env(os.environ)
        connector = manifest.instantiate(values)
        return _Opened(manifest, connector, values, [s for s in secrets if s])

    def discover(self, name: str, settings: Sequence[str] = ()) -> list[TableView]:
        """The tables connector `name` offers, with their columns."""
        from pipekit.connectors.protocol import Cap, require
        from pipekit.errors import ConnectorError

        opened = self._open(name, settings)
        connector, secrets = opened.connector, opened.secrets
        if Cap.DISCOVER not in connector.capabilities:
            raise ConnectorError(
                f"connector {name} cannot discover its tables (no discover capability)",
                path="capabilities",
            )
        require(connector, Cap.DISCOVER)
        try:
            tables = connector.discover()
        except Exception as exc:  # the connector's own failure, as one clear error
            raise ConnectorError(
                f"connector {name}: discover() failed: {type(exc).__name__}: "
                + redact(str(exc), secrets)
            ) from exc
        return [_table_view(t) for t in tables]

    def test(
        self, name: str, settings: Sequence[str] = (), tables: Sequence[str] = ()
    ) -> ContractView:
        """The contract checks against connector `name` (a scratch extract in a temp dir)."""
        from pipekit.connectors.contract import run_checks
        from pipekit.connectors.health import run_health_check

        o = self._open(name, settings)
        checks = []
        if o.manifest.health_check is not None:
            try:
                detail = run_health_check(o.manifest.health_check, o.values, os.environ)
                checks.append(CheckView("health", "passed", detail))
            except AssertionError as exc:
                checks.append(CheckView("health", "failed", str(exc)))
        else:
            checks.append(CheckView("health", "skipped", "the manifest has no health_check"))
        with tempfile.TemporaryDirectory(prefix="pipekit-contract-") as tmp:
            results = run_checks(
                o.connector, Path(tmp), manifest_caps=o.manifest.capabilities, tables=tables or None
            )
        checks += [CheckView(r.name, r.outcome, redact(r.detail, o.secrets)) for r in results]
        return ContractView(name, all(c.outcome != "failed" for c in checks), checks)

    def new(self, name: str, caps: str | None = None, folder: Path | None = None) -> ScaffoldView:
        """Write a new connector `name` into `folder` (default: ``connectors_dir``)."""
        from pipekit.connectors.discovery import find_all
        from pipekit.connectors.protocol import parse_caps
        from pipekit.connectors.scaffold import DEFAULT_CAPS, scaffold

        try:
            flags = parse_caps(caps) if caps else DEFAULT_CAPS
        except ValueError as exc:
            raise InvalidError(str(exc), path="caps") from None
        taken = {f.name: f for f in find_all(self.folder)}
        if name in taken:
            raise AlreadyExistsError(
                f"a connector named {name!r} already exists ({taken[name].source}, "
                f"{taken[name].location}); choose another name",
                path="name",
            )
        parent = (folder or self.folder).absolute()
        target = scaffold(name, flags, parent)
        files = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
        found = parent.resolve() == self.folder.absolute().resolve()
        return ScaffoldView(name, str(target), flags.names, files, found)

    def extract(
        self,
        name: str,
        out: Path,
        *,
        tables: Sequence[str] = (),
        settings: Sequence[str] = (),
        full: bool = False,
        batch_size: int = 10_000,
        on_progress: Callable[[str, int], None] | None = None,
    ) -> ExtractView:
        """Extract connector `name` into `out`: ``data/*.parquet`` and ``extract.duckdb``;
        `on_progress(table, rows_so_far)` is called after every batch."""
        from pipekit.connectors.runtime import ConnectorRuntime

        if batch_size < 1:
            raise InvalidError(
                f"batch size must be at least 1, got {batch_size}", path="batch_size"
            )
        opened = self._open(name, settings)
        connector = opened.connector
        runtime = ConnectorRuntime(out.absolute(), secrets=opened.secrets)
        stats = runtime.run(
            connector,
            list(tables) or None,
            full=full,
            batch_size=batch_size,
            on_progress=on_progress,
        )
        return ExtractView(
            connector=name,
            out=str(runtime.output_dir),
            database=str(runtime.db_path),
            tables_extracted=stats.tables_extracted,
            tables_failed=stats.tables_failed,
            total_rows=stats.total_rows,
            rows=dict(stats.rows),
            schema_changes=list(stats.schema_changes),
            errors=list(stats.errors),
        )

    # last in the class: the name `list` would shadow the builtin in later annotations
    def list(self) -> list[ConnectorView]:
        """Every connector found, valid or not (a broken one with its problems)."""
        from pipekit.connectors.discovery import find_all

        views = []
        for f in find_all(self.folder):
            m = f.manifest
            views.append(
                ConnectorView(
                    name=f.name,
                    version=m.version if m else None,
                    description=m.description if m else "",
                    source=f.source,
                    location=f.location,
                    capabilities=m.capabilities.names if m else [],
                    valid=m is not None,
                    problems=[str(p) for p in f.problems],
                )
            )
        return views
