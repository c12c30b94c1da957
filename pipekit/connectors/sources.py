"""Connections of a connector kind: which URLs they are, and the connector each one opens.

    rest+https://api.example.com/v1   rest_json  (rest+http:// for a server without TLS)
    file:///srv/landing               files, a local folder (allowed folders only)
    s3://bucket/prefix                files, S3-compatible storage
    connector://NAME                  a connector found by the Kit (built in, folder,
                                      entry point); the options are its settings

The options (a mapping, kept with the connection) declare the tables and the
connector's settings; the connection's password is the secret (token, API key,
S3 secret key), resolved by the caller.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pipekit.errors import ConnectionSpecError
from pipekit.files import FilePolicy, check_path

__all__ = [
    "CONNECTOR_SCHEMES",
    "check_local_path",
    "connector_kind",
    "is_connector_url",
    "open_connector",
]

#: URL scheme (before any ``+``) -> connector kind
CONNECTOR_SCHEMES = {"rest": "rest_json", "file": "files", "s3": "files", "connector": "named"}


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower().split("+", 1)[0] if "://" in url else ""


def is_connector_url(url: str) -> bool:
    """Whether `url` names a connector source rather than a database."""
    return _scheme(url.strip()) in CONNECTOR_SCHEMES


def connector_kind(url: str) -> str:
    """``rest_json``, ``files`` or the named connector's name; ConnectionSpecError if the
    URL is not a connector URL or is malformed."""
    url = url.strip()
    scheme = _scheme(url)
    if scheme not in CONNECTOR_SCHEMES:
        raise ConnectionSpecError(
            f"{url!r} is not a connector URL; write rest+https://host/path, file:///folder, "
            "s3://bucket/prefix or connector://NAME"
        )
    parts = urlsplit(url)
    if parts.password is not None:
        raise ConnectionSpecError(
            "connection URLs must not contain a password; store it with "
            "`pipekit secrets set NAME` and give the connection --password '$NAME'"
        )
    if scheme == "rest" and (
        not url.lower().startswith(("rest+http://", "rest+https://")) or not parts.hostname
    ):
        raise ConnectionSpecError(
            f"malformed REST URL {url!r}: expected rest+https://host[:port]/base/path"
        )
    if scheme == "file" and (parts.netloc or not parts.path.startswith("/")):
        raise ConnectionSpecError(
            f"malformed file URL {url!r}: expected file:///absolute/folder (three slashes)"
        )
    if scheme == "s3" and not parts.netloc:
        raise ConnectionSpecError(f"malformed S3 URL {url!r}: expected s3://bucket[/prefix]")
    if scheme == "connector":
        if not parts.netloc:
            raise ConnectionSpecError(f"malformed URL {url!r}: expected connector://NAME")
        return parts.netloc
    return CONNECTOR_SCHEMES[scheme]


def check_local_path(path: str, files: FilePolicy | None = None) -> Path:
    """The local folder a ``file://`` connection reads, if the configuration allows it:
    absolute, a folder, and inside `files`' allowed folders (``pipekit.files``, the one
    rule every file a connection names is held to)."""
    folder = Path(path)
    if not folder.is_absolute():
        raise ConnectionSpecError(f"{path!r} is not an absolute path; write file:///folder")
    if not folder.is_dir():
        raise ConnectionSpecError(
            f"folder {path} does not exist or is not a folder; check the file:/// URL"
        )
    if files is not None:
        check_path(folder, files)
    return folder.resolve()


def open_connector(
    url: str,
    options: Mapping[str, Any] | None,
    *,
    user: str | None = None,
    secret: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    connectors_dir: Path | None = None,
    files: FilePolicy | None = None,
) -> Any:
    """The connector `url` names, made with its `options` (close it when done, if it has
    ``close``). Errors are ConnectionSpecError / ConnectorSpecError with what to write."""
    kind = connector_kind(url)
    opts = dict(options or {})
    url = url.strip()
    if kind == "rest_json":
        from pipekit.connectors.builtin.rest_json.connector import RestJsonConnector

        base = url.split("+", 1)[1]
        return RestJsonConnector(base, opts, user=user, secret=secret, sleep=sleep)
    if kind == "files":
        from pipekit.connectors.builtin.files.connector import FilesConnector

        parts = urlsplit(url)
        if parts.scheme.lower() == "file":
            folder = check_local_path(unquote(parts.path), files)
            return FilesConnector.local(str(folder), opts)
        prefix = f"{parts.netloc}/{unquote(parts.path).strip('/')}".rstrip("/")
        return FilesConnector.s3(prefix, opts, access_key=user, secret_key=secret)
    from pipekit.connectors.discovery import find

    manifest = find(kind, connectors_dir)
    return manifest.instantiate(opts)
