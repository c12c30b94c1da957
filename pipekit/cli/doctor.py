"""`pipekit doctor`: check the installation and say what to fix.

One ✓ / ✗ / ! line per check. ✗ lines make the command exit 1; ! lines are
warnings (for example a driver that no connection needs is not installed).
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

from pipekit.cli._context import BAD, OK, WARN, check_line, say, secrets_file

if TYPE_CHECKING:
    from pipekit.config import Config
    from pipekit.secrets import SecretsFile
    from pipekit.store import Connection


@dataclass
class _Report:
    problems: int = 0
    warnings: int = 0

    def ok(self, message: str) -> None:
        check_line(OK, message)

    def bad(self, message: str) -> None:
        self.problems += 1
        check_line(BAD, message)

    def warn(self, message: str) -> None:
        self.warnings += 1
        check_line(WARN, message)


def doctor(
    ctx: typer.Context,
    connections: bool = typer.Option(
        False, "--connections", help="Also connect to every connection and report its version."
    ),
) -> None:
    """Check config, state database, secrets, password references and drivers."""
    report = _Report()
    config = _check_config(ctx, report)
    conns = _check_store(config, report) if config else []
    sf = _check_secrets(ctx, report) if config else None
    for c in conns:
        _check_password(c, sf, report)
    _check_drivers(conns, report)
    if connections:
        for c in conns:
            _check_connect(c, sf, report)
    if report.problems:
        say(f"{report.problems} problem(s) found; fix the ✗ lines above", style="red")
        raise typer.Exit(1)
    extra = f" ({report.warnings} warning(s))" if report.warnings else ""
    say(f"all checks passed{extra}", style="green")


def _check_config(ctx: typer.Context, report: _Report) -> "Config | None":
    from pipekit.cli._context import load
    from pipekit.errors import ConfigError

    try:
        config = load(ctx)
    except ConfigError as exc:
        report.bad(f"config: {exc}")
        return None
    where = config.path or "none found, using built-in defaults; `pipekit init` writes one"
    report.ok(f"config: {where}")
    return config


def _check_store(config: "Config", report: _Report) -> "list[Connection]":
    from pipekit.errors import PipekitError
    from pipekit.store import Store

    try:
        with Store.open(config) as store:
            version = store.check()
            conns = store.connections.list()
            report.ok(f"state database: {store.display()} at schema version {version}")
            return conns
    except PipekitError as exc:
        report.bad(f"state database: {exc}")
        return []


def _check_secrets(ctx: typer.Context, report: _Report) -> "SecretsFile | None":
    from pipekit.errors import PipekitError

    try:
        sf = secrets_file(ctx)
    except PipekitError as exc:
        report.bad(f"secrets file: {exc}")
        return None
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
    if not problem:
        report.ok(f"secrets file: {sf.path} ({count} secret(s), permissions private)")
    return sf


def _check_password(c: "Connection", sf: "SecretsFile | None", report: _Report) -> None:
    from pipekit.errors import SecretError
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


def _check_drivers(conns: "list[Connection]", report: _Report) -> None:
    from pipekit.drivers import driver_status, kind_for_url
    from pipekit.errors import PipekitError

    users: dict[str, list[str]] = {}
    for c in conns:
        try:
            users.setdefault(kind_for_url(c.url), []).append(c.name)
        except PipekitError as exc:
            report.bad(f"connection {c.name}: {exc}")
    for st in driver_status():
        needed_by = users.get(st.kind, [])
        if st.available:
            report.ok(f"driver {st.kind}: available")
        elif needed_by:
            report.bad(
                f"driver {st.kind}: needed by {', '.join(needed_by)} but "
                f"{', '.join(st.missing)} is not installed; install with: {st.install}"
            )
        else:
            report.warn(
                f"driver {st.kind}: not installed ({', '.join(st.missing)}); no connection "
                f"uses it yet. Install with: {st.install}"
            )


def _check_connect(c: "Connection", sf: "SecretsFile | None", report: _Report) -> None:
    from pipekit.engine.connections import probe
    from pipekit.errors import PipekitError

    try:
        result = probe(c, sf)
    except PipekitError as exc:
        report.bad(f"connect {c.name}: {exc}")
        return
    report.ok(
        f"connect {c.name}: {result.kind} {result.server_version} ({result.latency_ms:.0f} ms)"
    )
