"""Every error Pipekit raises on purpose, in one tree.

::

    PipekitError                  anything Pipekit reports to a user
    ├── ConfigError               bootstrap YAML: unknown key, wrong type, bad path
    ├── SecretError               a `$VAR` that cannot be resolved, a bad secrets file
    ├── StoreError                the state database
    │   ├── SchemaVersionError    the state DB is newer than this code, or not initialised
    │   ├── AlreadyExistsError    a name that is already taken
    │   ├── InUseError            an object others still refer to
    │   └── ModuleBusyError       a module is already running (carries the run id)
    ├── ConnectionSpecError       a connection URL or definition that is malformed
    │   └── UnknownSchemeError    a URL whose scheme no driver handles
    ├── DriverMissingError        the Python package a driver needs is not installed
    ├── NotFoundError             a named object (connection, module, ...) does not exist
    └── DatabaseError             a database said no (connect, query, load)
        ├── TransientDatabaseError   worth retrying: refused connection, timeout, deadlock
        └── TerminalDatabaseError    not worth retrying: bad SQL, wrong password, missing table

Messages say what was wrong and how to fix it, and never carry a secret value.
"""

from __future__ import annotations


class PipekitError(Exception):
    """Base of every error Pipekit raises deliberately."""


class ConfigError(PipekitError):
    """The bootstrap configuration file is invalid."""


class SecretError(PipekitError):
    """A secret reference cannot be resolved, or the secrets file is unusable."""


class StoreError(PipekitError):
    """The state database cannot be used."""


class SchemaVersionError(StoreError):
    """The state database schema is not one this code can work with."""


class AlreadyExistsError(StoreError):
    """An object with that name already exists."""


class InUseError(StoreError):
    """An object cannot be removed because others refer to it."""


class ModuleBusyError(StoreError):
    """A module's lock is held by another run; `run_id` is that run."""

    def __init__(self, message: str, *, run_id: int | None) -> None:
        super().__init__(message)
        self.run_id = run_id


class ConnectionSpecError(PipekitError):
    """A connection URL or definition is malformed."""


class UnknownSchemeError(ConnectionSpecError):
    """No driver handles the URL's scheme."""


class DriverMissingError(PipekitError):
    """A driver's Python package is not installed."""


class NotFoundError(PipekitError):
    """A named object does not exist."""


class DatabaseError(PipekitError):
    """A database refused an operation; `reason` is the database's own words."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class TransientDatabaseError(DatabaseError):
    """A failure that may succeed if retried (network, timeout, deadlock)."""


class TerminalDatabaseError(DatabaseError):
    """A failure that will fail again (bad SQL, authentication, missing object)."""
