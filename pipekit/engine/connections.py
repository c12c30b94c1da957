"""Connection services: validate before storing, and test a stored connection.

The CLI, the REST API and the web pages all go through these functions, so a
connection is checked the same way wherever it is created or tested.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from pipekit.drivers import connect, kind_for_url, parse_url
from pipekit.drivers.url import absolute_file_url
from pipekit.errors import DriverMissingError
from pipekit.files import FilePolicy, check_path
from pipekit.secrets import SecretsFile, resolve
from pipekit.store import Connection, Store

if TYPE_CHECKING:
    from pipekit.config import Config
    from pipekit.drivers.base import Driver


@dataclass(frozen=True)
class ProbeResult:
    """What testing a connection found: the server's version and how long it took."""

    name: str
    kind: str
    server_version: str
    latency_ms: float


def validate_url(url: str, files: FilePolicy | None = None) -> str:
    """The driver kind of `url` (or its connector kind: ``rest_json``, ``files``, a named
    connector); ConnectionSpecError / UnknownSchemeError if unusable, PathNotAllowedError
    if it names a file outside `files`' folders (or one Pipekit keeps)."""
    from pipekit.connectors.sources import connector_kind, is_connector_url

    if isinstance(url, str) and is_connector_url(url):
        kind = connector_kind(url)
        if files is not None and url.lower().startswith("file://"):
            check_path(unquote(urlsplit(url).path), files)
        return kind
    parsed = parse_url(url)
    kind = kind_for_url(parsed)
    if files is not None and parsed.path is not None:
        check_path(parsed.path, files)
    return kind


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


def configure_jvm(config: Config) -> None:
    """Give the JDBC bridge's JVM (started later, if ever) its heap limit, jar folder
    and class-data sharing folder."""
    from pipekit.drivers import jvm

    jvm.configure(
        max_heap=config["jdbc.max_heap"],
        driver_dir=config["driver_dir"],
        class_cache=config["jdbc.class_cache"] or False,
    )


def jdbc_options(connection: Connection, store: Store | None) -> dict[str, Any]:
    """The registered driver a JDBC connection uses: its own (``driver_id``), else the
    one whose URL template has the URL's subprotocol; none: the built-in profiles'
    jars and ``driver_dir`` are on the JVM's class path."""
    if store is None or not connection.url.lower().startswith("jdbc:"):
        return {}
    sub = parse_url(connection.url).options.get("subprotocol")
    found = (
        store.drivers.get_by_id(connection.driver_id)
        if connection.driver_id is not None
        else next((d for d in store.drivers.list() if d.subprotocol == sub), None)
    )
    if found is None:
        return {}
    return {"jars": found.jars, "driver_class": found.class_name}


def open_driver(
    connection: Connection,
    secrets: SecretsFile | None,
    files: FilePolicy | None = None,
    store: Store | None = None,
) -> Driver:
    """A driver connected with the connection's resolved password (close it after use),
    held to `files` (see ``pipekit.files``; the driver checks it again as it opens).

    `store` finds the registered JDBC driver of a ``jdbc:`` URL. Raises SecretError
    (password reference not set), DriverMissingError, ConnectionSpecError
    (PathNotAllowedError) or DatabaseError (with the database's `reason`).
    """
    kind = validate_url(connection.url, files)
    password = resolve(connection.password, secrets)
    options = jdbc_options(connection, store)
    try:
        return connect(
            connection.url, user=connection.user, password=password, files=files, **options
        )
    except ImportError as exc:  # a registered kind whose module is not in this build
        raise DriverMissingError(f"the {kind} driver cannot be loaded: {exc}") from None


def probe(
    connection: Connection,
    secrets: SecretsFile | None,
    files: FilePolicy | None = None,
    store: Store | None = None,
) -> ProbeResult:
    """Connect with the connection's resolved password and ask for the server version.

    Raises what ``open_driver`` raises.
    """
    kind = validate_url(connection.url, files)
    start = time.perf_counter()
    from pipekit.connectors.sources import is_connector_url

    if is_connector_url(connection.url):
        from pipekit.engine.connector_source import probe_connector

        version = probe_connector(connection, resolve(connection.password, secrets), files)
        return ProbeResult(connection.name, kind, version, (time.perf_counter() - start) * 1000)
    driver = open_driver(connection, secrets, files, store)
    try:
        version = driver.server_version()
    finally:
        driver.close()
    latency = (time.perf_counter() - start) * 1000
    return ProbeResult(connection.name, kind, version, latency)


def probe_by_name(
    store: Store, name: str, secrets: SecretsFile | None, files: FilePolicy | None = None
) -> ProbeResult:
    """`probe` for the stored connection called `name` (NotFoundError if none)."""
    return probe(store.connections.get(name), secrets, files, store)
