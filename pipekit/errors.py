"""Every error Pipekit raises on purpose, in one tree.

::

    PipekitError                    anything Pipekit reports to a user
    ├── ConfigError                 bootstrap YAML: unknown key, wrong type, bad path
    ├── SecretError                 a `$VAR` that cannot be resolved, a literal password
    ├── StoreError                  the state database
    │   ├── SchemaVersionError      the state DB is newer than this code, or not initialised
    │   ├── AlreadyExistsError      a name that is already taken
    │   │   └── QuickstartExistsError  the quickstart folder is already there
    │   ├── InUseError              an object others still refer to
    │   └── ModuleBusyError         a module is already running (carries the run id)
    ├── InvalidError                a value or definition that is refused (ValueError too)
    │   ├── ValidationError         several problems at once, each with its path
    │   │   └── ManifestError       a YAML manifest that cannot be applied
    │   ├── ConnectionSpecError     a connection URL or definition that is malformed
    │   │   ├── UnknownSchemeError  a URL whose scheme no driver handles
    │   │   └── PathNotAllowedError a file outside the allowed folders, or one Pipekit keeps
    │   ├── ModuleSpecError         a module, watermark, hook or check definition
    │   ├── GroupSpecError          a group definition
    │   ├── ScheduleSpecError       a schedule (its cron expression)
    │   ├── UserSpecError           a user name or password
    │   ├── ConnectorSpecError      a connector's settings, or a table it does not offer
    │   └── RequestTooLargeError    a request body over the server's api.max_request_bytes
    ├── DriverMissingError          the Python package a driver needs is not installed
    ├── ConnectorError              a connector broke its contract or failed (discover, remote)
    ├── NotFoundError               a named object (connection, module, ...) does not exist
    ├── NotRunningError             a run that is not running was asked to stop
    ├── UnavailableError            a part of the server this request needs is not running
    │   └── UnreachableError        an API client cannot reach the server at all
    ├── AuthenticationError         an API client's user or password was refused
    ├── PermissionDeniedError       the user's role does not allow this (HTTP 403)
    ├── UnsupportedMediaError       a request body of a type the API does not take (HTTP 415)
    ├── RunError                    a run could not do what its module says
    │   ├── ColumnMappingError      the source query cannot be mapped to destination columns
    │   ├── WatermarkError          a watermark setting or value cannot be used
    │   ├── MergeError              the merge cannot be planned for this destination
    │   ├── CheckFailedError        a check returned rows: the merge was rolled back
    │   ├── HookFailedError         a hook failed after the commit
    │   └── RunCancelled            the run was asked to stop
    └── DatabaseError               a database said no (connect, query, load)
        ├── TransientDatabaseError     worth retrying: refused connection, timeout, deadlock
        └── TerminalDatabaseError      not worth retrying: bad SQL, wrong password, missing table

Messages say what was wrong and how to fix it, and never carry a secret value:
every message passes through ``pipekit.redact.redact`` when the error is made.
An error about one field carries its dotted ``path`` (``merge_key``,
``watermarks.since``, ``connections.erp.url``); a ``ValidationError`` carries
every ``Problem``. Faces map errors to exit codes and HTTP statuses by class
(``pipekit.api.errors``), never by the words of the message.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipekit.redact import redact

__all__ = [
    "AlreadyExistsError",
    "AuthenticationError",
    "CheckFailedError",
    "ColumnMappingError",
    "ConfigError",
    "ConnectionSpecError",
    "ConnectorError",
    "ConnectorSpecError",
    "DatabaseError",
    "DriverMissingError",
    "GroupSpecError",
    "HookFailedError",
    "InUseError",
    "InvalidError",
    "ManifestError",
    "MergeError",
    "ModuleBusyError",
    "ModuleSpecError",
    "NotFoundError",
    "NotRunningError",
    "PathNotAllowedError",
    "PermissionDeniedError",
    "PipekitError",
    "Problem",
    "QuickstartExistsError",
    "RequestTooLargeError",
    "RunCancelled",
    "RunError",
    "ScheduleSpecError",
    "SchemaVersionError",
    "SecretError",
    "StoreError",
    "TerminalDatabaseError",
    "TransientDatabaseError",
    "UnavailableError",
    "UnknownSchemeError",
    "UnreachableError",
    "UnsupportedMediaError",
    "UserSpecError",
    "ValidationError",
    "WatermarkError",
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition: where (a dotted path) and what to do about it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class PipekitError(Exception):
    """Base of every error Pipekit raises deliberately.

    `path` is the dotted path of the one field the error concerns, if any.
    """

    def __init__(self, message: str = "", *, path: str | None = None) -> None:
        super().__init__(redact(str(message)))
        self.path = path

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    @property
    def problems(self) -> list[Problem]:
        """The error as problems with paths (one, unless a ValidationError has several)."""
        return [Problem(self.path or "", self.message)]


class ConfigError(PipekitError):
    """The bootstrap configuration file is invalid."""


class SecretError(PipekitError):
    """A secret reference cannot be resolved, or a literal was given where one belongs."""


class StoreError(PipekitError):
    """The state database cannot be used."""


class SchemaVersionError(StoreError):
    """The state database schema is not one this code can work with."""


class AlreadyExistsError(StoreError):
    """An object with that name already exists."""


class QuickstartExistsError(AlreadyExistsError):
    """The folder already holds a quickstart (and --force was not given)."""


class InUseError(StoreError):
    """An object cannot be removed because others refer to it."""


class ModuleBusyError(StoreError):
    """A module's lock is held by another run; `run_id` is that run."""

    def __init__(self, message: str, *, run_id: int | None) -> None:
        super().__init__(message)
        self.run_id = run_id

    def __reduce__(self) -> tuple[object, ...]:
        return (_busy, (self.message, self.run_id))


def _busy(message: str, run_id: int | None) -> ModuleBusyError:
    return ModuleBusyError(message, run_id=run_id)


class InvalidError(PipekitError, ValueError):
    """A value or definition that is refused; nothing was changed."""


class ValidationError(InvalidError):
    """Several problems found at once, each with its path; nothing was changed."""

    def __init__(self, problems: list[Problem], what: str = "the definition") -> None:
        self._problems = list(problems)
        self.what = what
        if len(self._problems) == 1:
            text = f"{what}: {self._problems[0]}"
        else:
            lines = "\n".join(f"  {p}" for p in self._problems)
            text = f"{what} has {len(self._problems)} problems; nothing was changed:\n{lines}"
        first = self._problems[0].path if len(self._problems) == 1 else None
        super().__init__(text, path=first or None)

    @property
    def problems(self) -> list[Problem]:
        return list(self._problems)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self._problems, self.what))


class ManifestError(ValidationError):
    """A YAML manifest that cannot be applied; `problems` holds every one, with its path."""

    def __init__(self, problems: list[Problem], source: str = "the file") -> None:
        self.source = source
        super().__init__(problems, source)
        lines = "\n".join(f"  {p}" for p in problems)
        self.args = (
            redact(f"{source}: {len(problems)} problem(s), nothing was changed:\n{lines}"),
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self._problems, self.source))


class ConnectionSpecError(InvalidError):
    """A connection URL or definition is malformed."""


class UnknownSchemeError(ConnectionSpecError):
    """No driver handles the URL's scheme."""


class PathNotAllowedError(ConnectionSpecError):
    """A file a connection names is outside ``files.allowed_directories``, or is one
    Pipekit keeps to itself (state database, secrets file, config, system files)."""


class ModuleSpecError(InvalidError):
    """A module, watermark, hook or check definition the store refuses."""


class GroupSpecError(InvalidError):
    """A group name or member list the store refuses."""


class ScheduleSpecError(InvalidError):
    """A schedule the store refuses (its cron expression)."""


class UserSpecError(InvalidError):
    """A user name or password the store refuses."""


class ConnectorSpecError(InvalidError):
    """A connector's settings (``--set key=value``), or a table it does not offer."""


class RequestTooLargeError(InvalidError):
    """A request body larger than the server takes (``api.max_request_bytes``)."""


class DriverMissingError(PipekitError):
    """A driver's Python package is not installed."""


class ConnectorError(PipekitError):
    """A connector broke the Kit's contract (a capability without its method, a token
    where an env-var name belongs) or failed where the whole operation depends on it."""


class NotFoundError(PipekitError):
    """A named object does not exist."""


class NotRunningError(PipekitError):
    """A run was asked to stop, but it is not running."""


class UnavailableError(PipekitError):
    """A part of the server that this request needs (the run pool) is not running."""


class UnreachableError(UnavailableError):
    """An API client cannot reach the server (refused, timed out, not HTTP)."""


class AuthenticationError(PipekitError):
    """The server refused an API client's user name or password (HTTP 401)."""


class PermissionDeniedError(PipekitError):
    """The user is known, but their role does not allow this (HTTP 403); the message
    names the role needed and the role held."""


class UnsupportedMediaError(PipekitError):
    """A request body of a type the API does not accept (HTTP 415): only JSON, and
    YAML for ``/api/apply`` under its own media type."""


class RunError(PipekitError):
    """A run could not do what its module says."""


class ColumnMappingError(RunError):
    """The source query cannot be mapped to destination columns."""


class WatermarkError(RunError):
    """A watermark setting or value cannot be used."""


class MergeError(RunError):
    """The merge cannot be planned for this module and destination."""


class CheckFailedError(RunError):
    """A check returned rows, so the merge was rolled back."""


class HookFailedError(RunError):
    """A hook failed after the commit (the committed data stays)."""


class RunCancelled(RunError):
    """The run was asked to stop."""


class DatabaseError(PipekitError):
    """A database refused an operation; `reason` is the database's own words."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = redact(reason) if reason else reason

    def __reduce__(self) -> tuple[object, ...]:
        return (_database_error, (type(self), self.message, self.reason))


def _database_error(cls: type[DatabaseError], message: str, reason: str | None) -> DatabaseError:
    return cls(message, reason=reason)


class TransientDatabaseError(DatabaseError):
    """A failure that may succeed if retried (network, timeout, deadlock)."""


class TerminalDatabaseError(DatabaseError):
    """A failure that will fail again (bad SQL, authentication, missing object)."""


#: the HTTP status each error answers with, in the API and the web console alike
#: (error class, status), most specific first; anything else answers 400
HTTP_STATUS_BY_CLASS: tuple[tuple[type[PipekitError], int], ...] = (
    (PermissionDeniedError, 403),
    (UnsupportedMediaError, 415),
    (NotFoundError, 404),
    (ModuleBusyError, 409),
    (AlreadyExistsError, 409),
    (InUseError, 409),
    (NotRunningError, 409),
    (RequestTooLargeError, 413),
    (InvalidError, 422),
    (SecretError, 422),
    (DriverMissingError, 422),
    (UnavailableError, 503),
    (StoreError, 503),
)


def http_status(exc: PipekitError) -> int:
    for cls, status in HTTP_STATUS_BY_CLASS:
        if isinstance(exc, cls):
            return status
    return 400
