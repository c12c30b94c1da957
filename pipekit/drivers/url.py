"""Connection URLs: SQLAlchemy-style ``kind://host:port/database`` and file URLs.

A URL names where a database is, never the password: passwords are ``$VAR``
references kept beside the URL. ``sqlite:///rel/path.db`` is relative to the
working directory, ``sqlite:////abs/path.db`` absolute (as in SQLAlchemy).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from pipekit.errors import ConnectionSpecError

FILE_SCHEMES = frozenset({"sqlite", "duckdb"})


@dataclass(frozen=True)
class ConnectionURL:
    """A parsed connection URL. `scheme` is the driver scheme without ``+dbapi``."""

    raw: str
    scheme: str
    host: str | None = None
    port: int | None = None
    database: str | None = None
    user: str | None = None
    path: Path | None = None
    options: dict[str, str] = field(default_factory=dict)

    def display(self) -> str:
        """The URL as it may be shown anywhere (it never holds a password)."""
        return self.raw


def parse_url(url: str) -> ConnectionURL:
    """Parse `url`; a malformed URL is a ConnectionSpecError saying what to write."""
    if not isinstance(url, str) or not url.strip():
        raise ConnectionSpecError("connection URL is empty; expected e.g. postgresql://host/db")
    url = url.strip()
    if url[:5].lower() == "jdbc:":
        return parse_jdbc_url(url)
    if "://" not in url:
        raise ConnectionSpecError(
            f"malformed connection URL {url!r}: expected kind://host[:port]/database "
            "(e.g. postgresql://127.0.0.1:5432/erp) or sqlite:///path/to/file.db"
        )
    scheme_part = url.split("://", 1)[0].lower()
    scheme = scheme_part.split("+", 1)[0]
    if not scheme or not scheme.replace("-", "").isalnum():
        raise ConnectionSpecError(f"malformed connection URL {url!r}: the scheme is not valid")
    if scheme in FILE_SCHEMES:
        return _parse_file_url(url, scheme)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConnectionSpecError(f"malformed connection URL {url!r}: {exc}") from None
    if parts.password is not None:
        raise ConnectionSpecError(
            "connection URLs must not contain a password; store it with "
            "`pipekit secrets set NAME` and give the connection --password '$NAME'"
        )
    if not parts.hostname:
        raise ConnectionSpecError(
            f"malformed connection URL {url!r}: no host; expected {scheme}://host[:port]/database"
        )
    database = unquote(parts.path.lstrip("/")) or None
    return ConnectionURL(
        raw=url,
        scheme=scheme,
        host=parts.hostname,
        port=port,
        database=database,
        user=unquote(parts.username) if parts.username else None,
        options=dict(parse_qsl(parts.query)),
    )


def _parse_file_url(url: str, scheme: str) -> ConnectionURL:
    rest = url.split("://", 1)[1]
    path_part, _, query = rest.partition("?")
    if not path_part.startswith("/") or path_part == "/":
        raise ConnectionSpecError(
            f"malformed {scheme} URL {url!r}: expected {scheme}:///relative/path or "
            f"{scheme}:////absolute/path (three slashes, then the path)"
        )
    raw_path = path_part[1:]
    path = None if raw_path == ":memory:" else Path(unquote(raw_path)).expanduser()
    return ConnectionURL(
        raw=url,
        scheme=scheme,
        database=raw_path,
        path=path,
        options=dict(parse_qsl(query)),
    )


def absolute_file_url(url: str, base: Path) -> str:
    """`url` with a relative SQLite/DuckDB path made absolute against `base`.

    Stored connections must not depend on the directory a later command or the
    server happens to run in. Other URLs (a connector's ``file:///``) are left as given.
    """
    if url.split("://", 1)[0].lower().split("+", 1)[0] not in FILE_SCHEMES:
        return url
    parsed = parse_url(url)
    if parsed.scheme not in FILE_SCHEMES or parsed.path is None or parsed.path.is_absolute():
        return url
    query = url.partition("?")[2]
    scheme_part = url.split("://", 1)[0]
    absolute = (base / parsed.path).resolve()
    return f"{scheme_part}:///{absolute}" + (f"?{query}" if query else "")


#: JDBC URL properties that hold a password: refused, the password is a `$VAR` beside it
_JDBC_SECRET_KEYS = ("password", "pwd", "passwd")
#: file-backed JDBC subprotocols: the URL names a local path (created when missing)
_JDBC_FILE_PREFIXES = {"derby": "", "hsqldb": "file:", "h2": "file:"}


def parse_jdbc_url(url: str) -> ConnectionURL:
    """A ``jdbc:<subprotocol>:…`` URL: the subprotocol (``options['subprotocol']``),
    and where the URL says so, host, port, database and a local file (`path`).

    Properties after ``;`` or ``?`` are kept in `options`; a password among them is
    refused, as in every other URL."""
    rest = url[5:]
    sub, sep, tail = rest.partition(":")
    sub = sub.lower()
    if not sep or not sub or not sub.replace("-", "").isalnum():
        raise ConnectionSpecError(
            f"malformed JDBC URL {url!r}: expected jdbc:<subprotocol>:…, "
            "e.g. jdbc:postgresql://host:5432/db or jdbc:as400://host"
        )
    if sub == "jtds":  # jdbc:jtds:sqlserver://host… (the server type is a second part)
        _, _, tail = tail.partition(":")
    body, _, query = tail.partition("?")
    body, *props = body.split(";")
    options = {"subprotocol": sub}
    for prop in [*props, *query.split("&")]:
        key, eq, value = prop.partition("=")
        if eq:
            options[key.strip()] = value.strip()
    if any(k.lower() in _JDBC_SECRET_KEYS for k in options):
        raise ConnectionSpecError(
            "connection URLs must not contain a password; store it with "
            "`pipekit secrets set NAME` and give the connection --password '$NAME'"
        )
    host = port = database = path = None
    if body.startswith("//"):
        netloc, _, database = body[2:].partition("/")
        netloc = netloc.rpartition("@")[2]
        host, _, port_text = netloc.partition(":")
        if port_text:
            if not port_text.isdigit():
                raise ConnectionSpecError(f"malformed JDBC URL {url!r}: port {port_text!r}")
            port = int(port_text)
        database = database or options.get("databaseName") or options.get("database")
    else:
        prefix = _JDBC_FILE_PREFIXES.get(sub)
        if prefix is not None and body.startswith(prefix) and not body.startswith("memory:"):
            database = body[len(prefix) :]
            if database and not database.startswith(("mem:", "res:", "classpath:")):
                path = Path(database).expanduser()
        else:
            database = body or None
    return ConnectionURL(
        raw=url,
        scheme="jdbc",
        host=host or None,
        port=port,
        database=database or None,
        path=path,
        options=options,
    )
