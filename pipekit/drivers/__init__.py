"""Database drivers: one module per kind, registered here by name and URL scheme.

Driver modules are imported lazily, so a heavy client library loads only when a
connection of its kind is used (``pipekit --help`` stays fast).

    >>> drv = connect("postgresql://127.0.0.1:5432/test", user="postgres")
    >>> reader = drv.read("SELECT 1 AS x")      # a pyarrow.RecordBatchReader
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipekit.drivers.url import ConnectionURL, parse_url
from pipekit.errors import DriverMissingError, UnknownSchemeError

if TYPE_CHECKING:
    from pipekit.drivers.base import Driver
    from pipekit.drivers.dialect import Dialect
    from pipekit.files import FilePolicy

__all__ = [
    "REGISTRY",
    "ConnectionURL",
    "DriverStatus",
    "connect",
    "dialect_for",
    "dialect_for_url",
    "driver_class",
    "driver_status",
    "kind_for_url",
    "parse_url",
]


@dataclass(frozen=True)
class DriverEntry:
    """Where a driver class lives and what it needs, known without importing it."""

    kind: str
    module: str
    cls: str
    schemes: tuple[str, ...]
    packages: tuple[str, ...]
    install: str
    #: the kind's Dialect class, ``module:Class``; it imports no client library
    dialect: str


REGISTRY: dict[str, DriverEntry] = {
    e.kind: e
    for e in (
        DriverEntry(
            "postgresql",
            "pipekit.drivers.postgresql",
            "PostgresDriver",
            ("postgresql", "postgres", "pg"),
            ("adbc_driver_postgresql", "psycopg"),
            "pip install 'pipekit[postgresql]'",
            dialect="pipekit.drivers.postgresql_dialect:PostgresDialect",
        ),
        DriverEntry(
            "mysql",
            "pipekit.drivers.mysql",
            "MySQLDriver",
            ("mysql", "mariadb"),
            ("pymysql", "numpy"),
            "pip install 'pipekit[mysql]'",
            dialect="pipekit.drivers.mysql_dialect:MySQLDialect",
        ),
        DriverEntry(
            "sqlite",
            "pipekit.drivers.sqlite",
            "SQLiteDriver",
            ("sqlite",),
            (),
            "",
            dialect="pipekit.drivers.sqlite_dialect:SQLiteDialect",
        ),
        DriverEntry(
            "duckdb",
            "pipekit.drivers.duckdb",
            "DuckDBDriver",
            ("duckdb",),
            ("duckdb",),
            "pip install duckdb",
            dialect="pipekit.drivers.duckdb_dialect:DuckDBDialect",
        ),
        DriverEntry(
            "jdbc",
            "pipekit.drivers.jdbc",
            "JdbcDriver",
            ("jdbc",),
            ("jpype", "jaydebeapiarrow"),
            "pip install 'pipekit[jdbc]' (and a Java runtime: apt-get install "
            "default-jdk-headless)",
            dialect="pipekit.drivers.jdbc_dialect:JdbcDialect",
        ),
        DriverEntry(
            "mssql",
            "pipekit.drivers.mssql",
            "MssqlDriver",
            ("mssql", "sqlserver"),
            ("pymssql",),
            "pip install 'pipekit[mssql]'",
            dialect="pipekit.drivers.mssql_dialect:MssqlDialect",
        ),
    )
}
_BY_SCHEME = {scheme: e for e in REGISTRY.values() for scheme in e.schemes}


@dataclass(frozen=True)
class DriverStatus:
    """Whether a driver kind can be used on this machine."""

    kind: str
    schemes: tuple[str, ...]
    packages: tuple[str, ...]
    missing: tuple[str, ...]
    install: str

    @property
    def available(self) -> bool:
        return not self.missing


def driver_status() -> list[DriverStatus]:
    """Every registered kind and which of its Python packages are importable."""
    out = []
    for e in REGISTRY.values():
        missing = tuple(p for p in e.packages if importlib.util.find_spec(p) is None)
        out.append(DriverStatus(e.kind, e.schemes, e.packages, missing, e.install))
    return out


def _entry_for(url: ConnectionURL) -> DriverEntry:
    if url.scheme == "jdbc":
        return REGISTRY["jdbc"]
    entry = _BY_SCHEME.get(url.scheme)
    if entry is None:
        known = ", ".join(sorted(s for s in _BY_SCHEME if s != "jdbc"))
        raise UnknownSchemeError(
            f"no driver handles URLs starting '{url.scheme}://' (known schemes: {known}, "
            "and jdbc:<subprotocol>: for JDBC jars)"
        )
    return entry


def kind_for_url(url: str | ConnectionURL) -> str:
    """The driver kind a URL selects (``postgresql``, ``mysql``, ``sqlite``, ``duckdb``)."""
    parsed = parse_url(url) if isinstance(url, str) else url
    return _entry_for(parsed).kind


def driver_class(kind: str) -> type[Driver]:
    """Import and return the driver class of `kind`; a clear error if its package is missing."""
    entry = REGISTRY.get(kind)
    if entry is None:
        raise UnknownSchemeError(f"unknown driver kind {kind!r} (known: {', '.join(REGISTRY)})")
    missing = [p for p in entry.packages if importlib.util.find_spec(p) is None]
    if missing:
        raise DriverMissingError(
            f"the {kind} driver needs the Python package(s) {', '.join(missing)}, "
            f"which are not installed; install with: {entry.install}"
        )
    return getattr(importlib.import_module(entry.module), entry.cls)


def dialect_for(kind: str) -> Dialect:
    """The dialect of `kind` with its defaults, without its client library: what the
    kind says in SQL when no connection is at hand (planning, golden SQL tests)."""
    entry = REGISTRY.get(kind)
    if entry is None:
        raise UnknownSchemeError(f"unknown driver kind {kind!r} (known: {', '.join(REGISTRY)})")
    module, name = entry.dialect.split(":")
    cls: type[Dialect] = getattr(importlib.import_module(module), name)
    return cls()


def dialect_for_url(url: str | ConnectionURL) -> Dialect:
    """What the database behind `url` says in SQL: its kind's dialect, or for a JDBC
    URL the profile of its subprotocol (``jdbc_dialect.py``). Imports the kind's
    client library (a clear error when it is missing), as a connection would."""
    parsed = parse_url(url) if isinstance(url, str) else url
    if parsed.scheme == "jdbc":
        driver_class("jdbc")  # the same error as a connection when JPype is missing
        from pipekit.drivers.jdbc_dialect import profile_for

        return profile_for(parsed.options.get("subprotocol"))()
    return driver_class(_entry_for(parsed).kind).dialect


def connect(
    url: str | ConnectionURL,
    user: str | None = None,
    password: str | None = None,
    *,
    files: FilePolicy | None = None,
    **options: object,
) -> Driver:
    """Open a connection with the driver the URL's scheme selects.

    `password` is the resolved value (see ``pipekit.secrets.resolve``); `files` the
    folders a file-based connection may use (``FilePolicy.from_config``; none: any but
    the protected ones), checked before the file is opened; `options` are the kind's
    own (a JDBC driver's ``jars`` and ``driver_class``).
    """
    parsed = parse_url(url) if isinstance(url, str) else url
    cls = driver_class(_entry_for(parsed).kind)
    return cls.connect(parsed, user=user, password=password, files=files, **options)
