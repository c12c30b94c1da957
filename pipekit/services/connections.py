"""Connections: named databases, their test, and what they hold (browse and propose).

``sv.connections`` checks a connection the same way whichever face creates,
changes or tests it: the name rule (path ``name``), the URL against the
installed drivers (``url``), the password as a ``$VAR`` reference only
(``password``). Browsing opens the database with the connection's resolved
password: its schemas, a schema's tables with the catalog's row estimates, a
table's columns, and a module drafted from a table (``propose``), which
``proposal_yaml`` renders as a file ``pipekit apply`` takes as it is.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipekit.errors import (
    ConnectionSpecError,
    DatabaseError,
    ModuleSpecError,
    NotFoundError,
    PipekitError,
    Problem,
    SecretError,
    ValidationError,
)
from pipekit.services.audit import audited
from pipekit.services.introspect import (
    ColumnView,
    ProposalView,
    ProposedColumnView,
    SchemaView,
    TableView,
    known_schema,
    no_table,
    proposal_view,
    proposal_yaml,
    table_ref,
    with_path,
)
from pipekit.services.lookup import find

__all__ = [
    "ColumnView",
    "ConnectionService",
    "ConnectionView",
    "ProbeView",
    "ProposalView",
    "ProposedColumnView",
    "SchemaView",
    "StoredSecret",
    "TableView",
]

if TYPE_CHECKING:
    from pipekit.drivers.base import Driver
    from pipekit.files import FilePolicy
    from pipekit.services import Services
    from pipekit.services.drivers import DriverView
    from pipekit.store import Connection

FIX = "add one with `pipekit connections add NAME URL`"
#: the fields `update` takes
FIELDS = ("name", "url", "user", "password", "supports_deletes")
NOT_NULL = ("name", "url", "supports_deletes")


# -- views -------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionView:
    """A connection. `password` is the ``$VAR`` reference, never a value."""

    id: int
    name: str
    url: str
    user: str | None
    password: str | None
    supports_deletes: bool
    driver_id: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class StoredSecret:
    """A password kept in the secrets file for a connection (never its value)."""

    key: str
    path: str
    replaced: bool


@dataclass(frozen=True)
class ProbeView:
    """A connection test: the server's version and latency, or why it failed."""

    ok: bool
    kind: str | None = None
    server_version: str | None = None
    latency_ms: float | None = None
    error: str | None = None


def connection_view(c: Connection) -> ConnectionView:
    return ConnectionView(
        id=c.id,
        name=c.name,
        url=c.url,
        user=c.user,
        password=c.password,
        supports_deletes=c.supports_deletes,
        driver_id=c.driver_id,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


# -- checks --------------------------------------------------------------------


def _literal_password() -> SecretError:
    # Never repeat the value: it is probably the real password.
    return SecretError(
        "a connection password is a secret reference such as '$ERP_PW', not the password "
        "itself: store the value with `pipekit secrets set ERP_PW` and give '$ERP_PW' (in "
        "single quotes, so the shell does not expand it), or use --password-prompt",
        path="password",
    )


def _raise(errors: list[PipekitError], what: str) -> None:
    """One error as it is; several as one ValidationError naming every field."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ValidationError([Problem(e.path or "", e.message) for e in errors], what)


def _check_url(url: Any, errors: list[PipekitError], files: FilePolicy) -> str | None:
    """The URL to store (a relative file path made absolute), or None after an error
    (a file outside the allowed folders among them)."""
    from pipekit.drivers.url import absolute_file_url
    from pipekit.engine.connections import validate_url

    if isinstance(url, str) and "\x00" in url:
        errors.append(
            ConnectionSpecError("the URL contains a NUL character (\\0); remove it", path="url")
        )
        return None
    try:
        validate_url(url)
        stored = absolute_file_url(url.strip(), Path.cwd())
        validate_url(stored, files)
        return stored
    except ConnectionSpecError as exc:
        errors.append(with_path(exc, "url"))
    return None


def check_options(url: str, options: dict[str, Any] | None) -> None:
    """Options belong to connector connections; a connector's are checked by making it
    (nothing is requested: the connectors only read their options when made)."""
    from pipekit.connectors.sources import is_connector_url

    if not options:
        return
    if not isinstance(options, dict):
        raise ConnectionSpecError(
            "connection options must be a mapping (key: value)", path="options"
        )
    if not is_connector_url(url):
        raise ConnectionSpecError(
            "only connector connections (rest+https://, file:///, s3://, connector://) take "
            "options; a database's settings go into its URL",
            path="options",
        )


def _check_name(name: Any, errors: list[PipekitError], what: str = "connection") -> None:
    from pipekit.store.repo import check_name

    error = ConnectionSpecError if what == "connection" else ModuleSpecError
    try:
        check_name(what, name, error)
    except PipekitError as exc:
        errors.append(exc)


def _check_password(password: str | None, errors: list[PipekitError]) -> None:
    from pipekit.secrets import is_reference

    if password not in (None, "") and not is_reference(password):
        errors.append(_literal_password())


def password_secret_name(name: str) -> str:
    """The secret a prompted password is kept under: ``erp-db`` -> ``ERP_DB_PASSWORD``."""
    from pipekit.engine.connections import password_secret_name as secret_name

    return secret_name(name)


# -- the service -----------------------------------------------------------------


class ConnectionService:
    def __init__(self, sv: Services) -> None:
        self._sv = sv
        self._repo = sv.store.connections

    # lookups
    def _get(self, key: str | int) -> Connection:
        return find(self._repo.list(), key, "connection", FIX)

    def _find(self, key: str | int, path: str) -> Connection:
        """`_get`, with the NotFoundError naming the field the key came from."""
        try:
            return self._get(key)
        except NotFoundError as exc:
            raise NotFoundError(exc.message, path=path) from None

    def list(self) -> list[ConnectionView]:
        return [connection_view(c) for c in self._repo.list()]

    def show(self, key: str | int) -> ConnectionView:
        return connection_view(self._get(key))

    @staticmethod
    def kind(url: str) -> str:
        """The driver kind a stored URL selects (or its connector kind), ``?`` if none does."""
        from pipekit.engine.connections import validate_url

        try:
            return validate_url(url)
        except PipekitError:
            return "?"

    def missing_secret(self, view: ConnectionView) -> str | None:
        """The name of the secret `view`'s password refers to, if it is not set."""
        from pipekit.secrets import reference_name, resolve

        if not view.password:
            return None
        try:
            resolve(view.password, self._sv.secrets)
        except SecretError:
            return reference_name(view.password)
        return None

    def drivers(self) -> builtins.list[DriverView]:
        """Native kinds, built-in JDBC profiles and registered drivers (``sv.drivers``)."""
        return self._sv.drivers.list()

    # writes
    def check_new(
        self, name: str, url: str, *, password: str | None = None, prompted: bool = False
    ) -> str:
        """Every check `add` makes, writing nothing; returns the driver kind.

        Lets a face refuse bad input before it asks for a password.
        """
        errors: list[PipekitError] = []
        _check_name(name, errors)
        stored = _check_url(url, errors, self._sv.files)
        if password is not None and prompted:
            errors.append(
                ConnectionSpecError(
                    "give either --password '$VAR' or --password-prompt, not both",
                    path="password",
                )
            )
        else:
            _check_password(password, errors)
        _raise(errors, f"connection {name!r}")
        self._repo.ensure_absent(name)
        return self.kind(stored or url)

    @audited("connection", "add")
    def add(
        self,
        name: str,
        url: str,
        *,
        user: str | None = None,
        password: str | None = None,
        supports_deletes: bool = True,
        options: dict[str, Any] | None = None,
    ) -> ConnectionView:
        """Store a connection after every check (a relative file URL is stored absolute).

        `options` are a connector connection's (its tables, pagination, auth kind)."""
        self.check_new(name, url, password=password)
        stored = _check_url(url, [], self._sv.files)
        assert stored is not None
        check_options(stored, options)
        c = self._repo.add(
            name,
            stored,
            user=user,
            password=password,
            supports_deletes=supports_deletes,
            driver_id=self._registered_driver(stored),
            options=options,
        )
        return connection_view(c)

    def _registered_driver(self, url: str) -> int | None:
        """The id of the registered JDBC driver whose template has `url`'s subprotocol
        (so the driver cannot be removed while the connection uses it)."""
        from pipekit.drivers.url import parse_url

        if not url.lower().startswith("jdbc:"):
            return None
        sub = parse_url(url).options.get("subprotocol")
        found = [d for d in self._sv.store.drivers.list() if d.subprotocol == sub]
        return found[0].id if found else None

    def add_with_secret(
        self,
        name: str,
        url: str,
        *,
        value: str,
        user: str | None = None,
        supports_deletes: bool = True,
    ) -> tuple[ConnectionView, StoredSecret]:
        """`add` with a typed password: kept in the secrets file as ``<NAME>_PASSWORD``
        and stored as its reference. If the connection cannot be stored, the secrets
        file is put back as it was."""
        self.check_new(name, url)
        key = password_secret_name(name)
        secrets = self._sv.secrets
        previous = secrets.read().get(key)
        secrets.set(key, value)
        try:
            view = self.add(
                name, url, user=user, password=f"${key}", supports_deletes=supports_deletes
            )
        except BaseException:
            if previous is None:
                secrets.remove(key)
            else:
                secrets.set(key, previous)
            raise
        return view, StoredSecret(key, str(secrets.path), previous is not None)

    @audited("connection", "update")
    def update(self, key: str | int, **changes: Any) -> ConnectionView:
        """Change the given fields (``name``, ``url``, ``user``, ``password``,
        ``supports_deletes``); the others stay. Every problem is reported at once."""
        c = self._get(key)
        errors: list[PipekitError] = []
        for field in changes:
            if field not in FIELDS:
                errors.append(
                    ConnectionSpecError(
                        f"unknown field {field!r}; a connection has {', '.join(FIELDS)}",
                        path=field,
                    )
                )
        for field in NOT_NULL:
            if field in changes and changes[field] is None:
                errors.append(
                    ConnectionSpecError(
                        f"{field} may not be null; leave it out to keep it", path=field
                    )
                )
        values = {k: v for k, v in changes.items() if k in FIELDS and v is not None}
        if "name" in values:
            _check_name(values["name"], errors)
        if "url" in values:
            values["url"] = _check_url(values["url"], errors, self._sv.files)
        if "password" in changes:
            _check_password(changes["password"], errors)
            values["password"] = changes["password"]
        if "user" in changes:
            values["user"] = changes["user"]
        _raise(errors, f"connection {c.name!r}")
        if "name" in values:
            values["new_name"] = values.pop("name")
        return connection_view(self._repo.update(c.name, **values))

    @audited("connection", "remove")
    def remove(self, key: str | int) -> ConnectionView:
        """Delete a connection (InUseError while modules use it); returns what it was.
        Its secret stays in the secrets file."""
        c = self._get(key)
        self._repo.remove(c.name)
        return connection_view(c)

    # the database behind it
    @contextmanager
    def _driver(self, c: Connection) -> Iterator[Driver]:
        from pipekit.engine.connections import open_driver

        driver = open_driver(c, self._sv.secrets, self._sv.files, self._sv.store)
        try:
            yield driver
        finally:
            driver.close()

    def test(self, key: str | int, *, strict: bool = False) -> ProbeView:
        """Connect and ask the server's version. A failure is ``ok=False`` with the
        (redacted) reason; with `strict`, it is raised instead, naming the connection."""
        from pipekit.engine.connections import probe

        c = self._get(key)
        try:
            r = probe(c, self._sv.secrets, self._sv.files, self._sv.store)
        except PipekitError as exc:
            if not strict:
                return ProbeView(ok=False, error=exc.message)
            message = f"connection '{c.name}' failed: {exc.message}"
            if isinstance(exc, DatabaseError):
                raise type(exc)(message, reason=exc.reason) from None
            raise type(exc)(message, path=exc.path) from None
        return ProbeView(
            ok=True, kind=r.kind, server_version=r.server_version, latency_ms=r.latency_ms
        )

    def schemas(self, key: str | int) -> builtins.list[str]:
        """The schemas of the connection's database (system schemas left out)."""
        with self._driver(self._get(key)) as d:
            return d.list_schemas()

    def tables(self, key: str | int, schema: str | None = None) -> SchemaView:
        """`schema`'s tables (default: the database's default schema), with the row
        counts its catalog estimates where it keeps them."""
        c = self._get(key)
        with self._driver(c) as d:
            if schema is not None:
                known_schema(d, schema, c.name)
            names = d.list_tables(schema)
            estimates = d.table_estimates(schema)
        detail = [TableView(n, estimates.get(n)) for n in names]
        return SchemaView(schema=schema, tables=names, tables_detail=detail)

    def columns(self, key: str | int, table: str) -> builtins.list[ColumnView]:
        """`table`'s columns (``schema.table`` or a bare name), in order."""
        c = self._get(key)
        ref = table_ref(table)
        with self._driver(c) as d:
            if ref.schema is not None:
                known_schema(d, ref.schema, c.name)
            found = d.list_columns(ref)
            if not found:
                raise no_table(d, ref, c.name)
        return [ColumnView(x.name, x.type, x.nullable, x.primary_key) for x in found]

    def propose(
        self,
        key: str | int,
        table: str,
        *,
        dest: str | int | None = None,
        dest_table: str | None = None,
        name: str | None = None,
    ) -> ProposalView:
        """A module drafted from `table`: the SELECT, merge key, watermark column and
        strategy; with `dest`, the CREATE TABLE the first run would issue there."""
        from pipekit.engine.propose import propose_module, safe_name

        c = self._get(key)
        target = self._find(dest, "dest") if dest is not None else None
        ref = table_ref(table)
        errors: list[PipekitError] = []
        if name is not None:
            _check_name(name, errors, "module")
        if dest_table is not None:
            try:
                table_ref(dest_table, "dest_table")
            except PipekitError as exc:
                errors.append(exc)
        _raise(errors, "the proposal")
        with self._driver(c) as d:
            if ref.schema is not None:
                known_schema(d, ref.schema, c.name)
            if target is None:
                p = propose_module(d, ref, dest_table=dest_table)
            else:
                with self._driver(target) as t:
                    p = propose_module(d, ref, dest_table=dest_table, dest=t)
        return proposal_view(
            p, name or safe_name(ref.name), c.name, target.name if target else None
        )

    @staticmethod
    def proposal_yaml(p: ProposalView) -> str:
        """`p` as a module file ``pipekit apply`` takes unchanged (see ``introspect``)."""
        return proposal_yaml(p)
