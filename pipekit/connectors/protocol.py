"""The Connector Kit's contract: capability flags, the data types, the protocols.

A connector is any object with a ``capabilities`` attribute (a ``Cap``) and the
methods its capabilities call for; no base class is needed::

    class Weather:
        capabilities = Cap.DISCOVER | Cap.READ

        def discover(self) -> list[TableInfo]: ...
        def read(self, table: str, options: ReadOptions) -> Iterator[pa.RecordBatch]: ...

``Connector`` asks for ``capabilities`` only, so partial implementations (a
stream-only connector has no ``read``) pass ``isinstance``; the protocols of
the single capabilities (``Discovers``, ``Reads``, ``Streams``, ``Remotes``)
say what each capability needs. The runtime calls a method only when its
capability is declared (``require`` checks the method is there).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from enum import Flag, auto
from typing import Literal, Protocol, runtime_checkable

import pyarrow as pa

from pipekit.errors import ConnectorError

__all__ = [
    "Cap",
    "Connector",
    "Discovers",
    "ExtractStats",
    "ReadOptions",
    "Reads",
    "RemoteAttachInfo",
    "Remotes",
    "Streams",
    "TableInfo",
    "parse_caps",
    "require",
]

#: what a table name must look like: it becomes a DuckDB view and a file name
SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
#: what `RemoteAttachInfo.token_env` must look like: the *name* of a variable
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


class Cap(Flag):
    """Capabilities a connector (or one of its tables) declares.

    Combine with ``|``, test with ``in``, iterate with ``list(caps)``; in YAML they
    are the lower-case names (``[discover, read]``).
    """

    DISCOVER = auto()  # lists its tables and their Arrow schemas
    READ = auto()  # yields a table's rows in batches, full or incremental
    STREAM = auto()  # yields changes as they come (webhooks, CDC)
    REMOTE = auto()  # names a DuckDB extension that queries the source in place
    WRITE = auto()  # pushes data back (declared only; the runtime does not write)

    @property
    def names(self) -> list[str]:
        """The single flags as the manifest spells them: ``['discover', 'read']``."""
        return [c.name.lower() for c in self if c.name]


def parse_caps(names: list[str] | str) -> Cap:
    """``['discover', 'read']`` or ``"discover,read"`` as a ``Cap``; ValueError names the
    unknown one and the valid ones."""
    if isinstance(names, str):
        names = [n for n in (p.strip() for p in names.split(",")) if n]
    caps = Cap(0)
    valid = [c.name.lower() for c in Cap if c.name]
    for name in names:
        flag = Cap.__members__.get(str(name).upper())
        if flag is None:
            raise ValueError(f"unknown capability {name!r}; valid: {', '.join(valid)}")
        caps |= flag
    return caps


@dataclass
class TableInfo:
    """A table the source offers."""

    name: str  # view name in extract.duckdb, file name under data/
    schema: pa.Schema  # Arrow types and nullability of every batch read() yields
    capabilities: Cap  # this table's capabilities, a subset of the connector's
    primary_key: list[str] | None = None  # an incremental run replaces rows by this key
    description: str = ""  # stored in _meta
    #: the column whose maximum an incremental run resumes from (None: always full)
    incremental_key: str | None = None


@dataclass
class ReadOptions:
    """What the runtime asks of ``read()``: built from the last run's state."""

    columns: list[str] | None = None  # projection (None: every column)
    filter: dict[str, dict[str, object]] | None = None  # {"date": {">=": "2026-01-01"}}
    incremental_key: str | None = None  # the column incremental runs resume from
    #: the largest value of that column seen so far, as text (ISO 8601 for dates and
    #: times, digits for numbers); None on a first or full run
    incremental_value: str | None = None
    #: yield rows whose key is `incremental_op` incremental_value: ">" after a run that
    #: has no primary key (no row twice), ">=" with one (rows that share the last value
    #: but arrived later are not lost; the key replaces the ones read twice)
    incremental_op: Literal[">", ">="] = ">"
    batch_size: int = 10_000  # rows per RecordBatch, about


@dataclass
class RemoteAttachInfo:
    """A DuckDB extension that queries the source in place (``ATTACH url``)."""

    extension: str  # DuckDB extension name
    url: str  # what ATTACH is given (never with a password in it)
    token_env: str  # the NAME of the environment variable holding the token
    alias: str = ""  # DuckDB alias; the extension name if empty

    def check(self) -> None:
        """ConnectorError if a secret would be written: a token instead of a variable
        name, or a password inside the URL."""
        from pipekit.redact import redact

        if not self.extension or not SAFE_NAME.match(self.extension):
            raise ConnectorError(
                f"remote(): extension {self.extension!r} is not a DuckDB extension name",
                path="remote.extension",
            )
        if self.token_env and not ENV_NAME.match(self.token_env):
            raise ConnectorError(
                "remote(): token_env must be the name of an environment variable "
                "(like KEBOOLA_TOKEN), never the token itself",
                path="remote.token_env",
            )
        if redact(self.url) != self.url:
            raise ConnectorError(
                "remote(): the URL carries a password; give it through token_env instead",
                path="remote.url",
            )
        if self.alias and not SAFE_NAME.match(self.alias):
            raise ConnectorError(
                f"remote(): alias {self.alias!r} is not a valid name", path="remote.alias"
            )


@dataclass
class ExtractStats:
    """What one ``ConnectorRuntime.run`` did."""

    tables_extracted: int = 0
    tables_failed: int = 0
    total_rows: int = 0
    schema_changes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: rows written per table this run
    rows: dict[str, int] = field(default_factory=dict)


@runtime_checkable
class Connector(Protocol):
    """Any connector: it declares its capabilities; the rest depends on them."""

    @property
    def capabilities(self) -> Cap: ...


@runtime_checkable
class Discovers(Protocol):
    """Cap.DISCOVER: the tables and their Arrow schemas."""

    def discover(self) -> list[TableInfo]: ...


@runtime_checkable
class Reads(Protocol):
    """Cap.READ: a table's rows as RecordBatches of about ``options.batch_size`` rows,
    each with the table's schema; only rows past ``options.incremental_value`` when set."""

    def read(self, table: str, options: ReadOptions) -> Iterator[pa.RecordBatch]: ...


@runtime_checkable
class Streams(Protocol):
    """Cap.STREAM: changes as they arrive, each batch with the table's schema."""

    def stream(self, table: str) -> AsyncIterator[pa.RecordBatch]: ...


@runtime_checkable
class Remotes(Protocol):
    """Cap.REMOTE: the DuckDB extension pass-through (an env-var name, never a token)."""

    def remote(self) -> RemoteAttachInfo: ...


_NEEDS: dict[Cap, tuple[type, str]] = {
    Cap.DISCOVER: (Discovers, "discover(self) -> list[TableInfo]"),
    Cap.READ: (Reads, "read(self, table, options) -> Iterator[pa.RecordBatch]"),
    Cap.STREAM: (Streams, "async stream(self, table) -> AsyncIterator[pa.RecordBatch]"),
    Cap.REMOTE: (Remotes, "remote(self) -> RemoteAttachInfo"),
}


def capabilities_of(connector: object) -> Cap:
    """The connector's declared capabilities; ConnectorError when it declares none."""
    caps = getattr(connector, "capabilities", None)
    if not isinstance(caps, Cap):
        raise ConnectorError(
            f"{type(connector).__name__} has no `capabilities` of type Cap; "
            "declare e.g. `capabilities = Cap.DISCOVER | Cap.READ`",
            path="capabilities",
        )
    return caps


def require(connector: object, cap: Cap) -> None:
    """ConnectorError unless `connector` declares `cap` and has the method it needs."""
    caps = capabilities_of(connector)
    name = cap.name.lower() if cap.name else str(cap)
    if cap not in caps:
        raise ConnectorError(
            f"{type(connector).__name__} does not declare the {name} capability",
            path="capabilities",
        )
    need = _NEEDS.get(cap)
    if need and not isinstance(connector, need[0]):
        raise ConnectorError(
            f"{type(connector).__name__} declares {name} but has no method {need[1]}",
            path="capabilities",
        )
