"""Connection services: validate before storing, and test a stored connection.

The CLI, the REST API and the web pages all go through these functions, so a
connection is checked the same way wherever it is created or tested.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipekit.drivers import connect, kind_for_url, parse_url
from pipekit.drivers.url import absolute_file_url
from pipekit.errors import DriverMissingError
from pipekit.secrets import SecretsFile, resolve
from pipekit.store import Connection, Store

if TYPE_CHECKING:
    from pipekit.drivers.base import Driver


@dataclass(frozen=True)
class ProbeResult:
    """What testing a connection found: the server's version and how long it took."""

    name: str
    kind: str
    server_version: str
    latency_ms: float


def validate_url(url: str) -> str:
    """The driver kind of `url` (or its connector kind: ``rest_json``, ``files``, a named
    connector); ConnectionSpecError / UnknownSchemeError if unusable."""
    from pipekit.connectors.sources import connector_kind, is_connector_url

    if isinstance(url, str) and is_connector_url(url):
        return connector_kind(url)
    return kind_for_url(parse_url(url))


def password_secret_name(connection_name: str) -> str:
    """The secret a prompted password is stored under: ``erp-db`` -> ``ERP_DB_PASSWORD``."""
    base = re.sub(r"[^A-Za-z0-9]+", "_", connection_name).strip("_").upper() or "CONNECTION"
    if base[0].isdigit():
        base = f"C{base}"
    return f"{base}_PASSWORD"


def add_connection(
    store: Store,
    name: str,
    url: str,
    *,
    user: str | None = None,
    password: str | None = None,
    supports_deletes: bool = True,
) -> Connection:
    """Check the URL against the driver registry, then store the connection.

    A relative SQLite/DuckDB path is stored absolute (against the working
    directory), so the server and later commands open the same file.
    """
    validate_url(url)
    url = absolute_file_url(url, Path.cwd())
    return store.connections.add(
        name, url, user=user, password=password, supports_deletes=supports_deletes
    )


def open_driver(connection: Connection, secrets: SecretsFile | None) -> Driver:
    """A driver connected with the connection's resolved password (close it after use).

    Raises SecretError (password reference not set), DriverMissingError,
    ConnectionSpecError or DatabaseError (with the database's `reason`).
    """
    kind = validate_url(connection.url)
    password = resolve(connection.password, secrets)
    try:
        return connect(connection.url, user=connection.user, password=password)
    except ImportError as exc:  # a registered kind whose module is not in this build
        raise DriverMissingError(f"the {kind} driver cannot be loaded: {exc}") from None


def probe(connection: Connection, secrets: SecretsFile | None) -> ProbeResult:
    """Connect with the connection's resolved password and ask for the server version.

    Raises what ``open_driver`` raises.
    """
    kind = validate_url(connection.url)
    start = time.perf_counter()
    from pipekit.connectors.sources import is_connector_url

    if is_connector_url(connection.url):
        from pipekit.engine.connector_source import probe_connector

        version = probe_connector(connection, resolve(connection.password, secrets))
        return ProbeResult(connection.name, kind, version, (time.perf_counter() - start) * 1000)
    driver = open_driver(connection, secrets)
    try:
        version = driver.server_version()
    finally:
        driver.close()
    latency = (time.perf_counter() - start) * 1000
    return ProbeResult(connection.name, kind, version, latency)


def probe_by_name(store: Store, name: str, secrets: SecretsFile | None) -> ProbeResult:
    """`probe` for the stored connection called `name` (NotFoundError if none)."""
    return probe(store.connections.get(name), secrets)
