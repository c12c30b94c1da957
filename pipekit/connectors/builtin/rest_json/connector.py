"""``rest_json``: tables of a paginated REST/JSON API, declared in the connection's options.

A connection ``rest+https://api.example.com/v1`` (``rest+http://`` for a local
server) with options such as::

    auth: {type: bearer}          # bearer | header | query | basic | none
    page_size: 100
    source_column: _source_url    # optional: each record's page URL (secrets masked)
    tables:
      orders:
        path: /orders
        records: data.items       # where the list is in the body ("" : the body)
        primary_key: [id]
        incremental: {param: updated_since, field: updated_at, format: iso}
        params: {status: all}
        pagination: {type: page}  # page | offset | cursor | link | next_url | none
        columns: {id: integer, updated_at: timestamp}   # optional: else inferred

The secret (token, API key or basic password) is the connection's password; it
is sent only in the header or parameter the auth names, and masked in every
error and in the request URLs kept for the run record (``requests``).
A 429 waits ``Retry-After`` (seconds or an HTTP date), a 5xx or a broken
connection waits a bounded backoff; ``sleep`` is injectable so tests never wait.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import pyarrow as pa

from pipekit.connectors.protocol import Cap, ReadOptions, TableInfo
from pipekit.connectors.records import ColumnNames, parse_type, records_to_batch
from pipekit.errors import ConnectorError, ConnectorSpecError
from pipekit.redact import MASK, redact

__all__ = ["PAGINATIONS", "RestJsonConnector", "RestTable"]

PAGINATIONS = ("page", "offset", "cursor", "link", "next_url", "none")
AUTHS = ("none", "bearer", "header", "query", "basic")
#: retries of one request (429 and 5xx) before the read fails
MAX_RETRIES = 5
#: the longest a 429's Retry-After or a backoff may make a run wait, in seconds
MAX_WAIT_S = 60.0
BACKOFF_S = 0.5
#: request URLs kept for the run record (the count of the rest is kept too)
KEEP_URLS = 20


@dataclass
class RestTable:
    """One table of the API, as the options declare it."""

    name: str
    path: str
    records: str = ""
    primary_key: list[str] | None = None
    params: dict[str, str] = field(default_factory=dict)
    pagination: dict[str, Any] = field(default_factory=lambda: {"type": "page"})
    incremental_param: str | None = None
    incremental_field: str | None = None
    incremental_format: str = "iso"
    columns: dict[str, pa.DataType] | None = None

    @classmethod
    def parse(cls, name: str, spec: Mapping[str, Any], page_size: int) -> RestTable:
        path = f"tables.{name}"
        if not isinstance(spec, Mapping) or not spec.get("path"):
            raise ConnectorSpecError(
                f"table {name!r} needs a path, e.g. {{path: /orders}}", path=f"{path}.path"
            )
        pagination = dict(spec.get("pagination") or {"type": "page"})
        kind = pagination.setdefault("type", "page")
        if kind not in PAGINATIONS:
            raise ConnectorSpecError(
                f"pagination type {kind!r} is not known; use one of {', '.join(PAGINATIONS)}",
                path=f"{path}.pagination.type",
            )
        pagination.setdefault("size", page_size)
        inc = spec.get("incremental") or {}
        columns = None
        if spec.get("columns"):
            columns = {
                str(k): parse_type(str(v), f"{path}.columns.{k}")
                for k, v in dict(spec["columns"]).items()
            }
        key = spec.get("primary_key")
        return cls(
            name=name,
            path=str(spec["path"]),
            records=str(spec.get("records") or ""),
            primary_key=[key] if isinstance(key, str) else (list(key) if key else None),
            params={str(k): str(v) for k, v in dict(spec.get("params") or {}).items()},
            pagination=pagination,
            incremental_param=inc.get("param"),
            incremental_field=inc.get("field"),
            incremental_format=str(inc.get("format") or "iso"),
            columns=columns,
        )


class RestJsonConnector:
    """Reads the declared tables of one API; DISCOVER and READ."""

    capabilities = Cap.DISCOVER | Cap.READ

    def __init__(
        self,
        base_url: str,
        options: Mapping[str, Any],
        *,
        user: str | None = None,
        secret: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        timeout_s: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.options = dict(options)
        self.secret = secret
        self.sleep = sleep
        self.now = now
        auth = dict(self.options.get("auth") or {"type": "bearer" if secret else "none"})
        self.auth_type = str(auth.get("type") or "none")
        if self.auth_type not in AUTHS:
            raise ConnectorSpecError(
                f"auth type {self.auth_type!r} is not known; use one of {', '.join(AUTHS)}",
                path="auth.type",
            )
        self.auth_name = str(
            auth.get("name") or ("X-API-Key" if self.auth_type == "header" else "api_key")
        )
        if self.auth_type != "none" and not secret:
            raise ConnectorSpecError(
                f"auth {self.auth_type} needs the connection's password (the token or key); "
                "store it with `pipekit secrets set NAME` and give the connection "
                "--password '$NAME'",
                path="auth",
            )
        page_size = int(self.options.get("page_size") or 100)
        #: the record-source audit column: the page's URL (secrets masked); None: left out
        self.source_column: str | None = self.options.get("source_column")
        tables = self.options.get("tables")
        if not isinstance(tables, Mapping) or not tables:
            raise ConnectorSpecError(
                "a rest_json connection declares its tables in its options: "
                "tables: {orders: {path: /orders, records: data}}",
                path="tables",
            )
        self.tables = {str(n): RestTable.parse(str(n), s, page_size) for n, s in tables.items()}
        headers = {"Accept": "application/json", "User-Agent": "pipekit"}
        basic = None
        if self.auth_type == "bearer":
            headers["Authorization"] = f"Bearer {secret}"
        elif self.auth_type == "header":
            headers[self.auth_name] = str(secret)
        elif self.auth_type == "basic":
            basic = httpx.BasicAuth(user or "", secret or "")
        self._client = httpx.Client(headers=headers, auth=basic, timeout=timeout_s)
        #: the URLs requested, secrets masked (the first KEEP_URLS), and how many in all
        self.requests: list[str] = []
        self.request_count = 0

    def close(self) -> None:
        self._client.close()

    def fixed_schema(self, table: str) -> bool:
        """A table with declared columns yields one schema; an inferred one may grow."""
        t = self.tables.get(table)
        return t is not None and t.columns is not None

    # -- the protocol ----------------------------------------------------------

    def discover(self) -> list[TableInfo]:
        """Declared schemas as they are; an undeclared one from the first page."""
        out = []
        for t in self.tables.values():
            if t.columns is not None:
                schema = pa.schema([pa.field(n, ty) for n, ty in t.columns.items()])
            else:
                first = next(self._batches(t, ReadOptions(), pages=1), None)
                schema = first.schema if first is not None else pa.schema([])
            caps = Cap.DISCOVER | Cap.READ
            key = t.incremental_field
            out.append(TableInfo(t.name, schema, caps, t.primary_key, t.path, key))
        return out

    def read(self, table: str, options: ReadOptions) -> Iterator[pa.RecordBatch]:
        t = self.tables.get(table)
        if t is None:
            raise ConnectorSpecError(
                f"the connection declares no table {table!r} (tables: "
                f"{', '.join(sorted(self.tables))})",
                path="source_table",
            )
        return self._batches(t, options)

    # -- pages -------------------------------------------------------------------

    def _batches(
        self, t: RestTable, options: ReadOptions, pages: int | None = None
    ) -> Iterator[pa.RecordBatch]:
        names = ColumnNames()
        params = dict(t.params)
        if t.incremental_param and options.incremental_value is not None:
            params[t.incremental_param] = self._format(options.incremental_value, t)
        p = t.pagination
        kind, size = p["type"], int(p["size"])
        base = urljoin(self.base_url, t.path.lstrip("/"))
        if kind in ("cursor", "link", "next_url") and p.get("size_param"):
            params[p["size_param"]] = str(size)
        page, offset, count = int(p.get("start", 1)), 0, 0
        url: str | None = base
        query: dict[str, str] | None = params
        while url is not None:
            if kind == "page":
                query = {
                    **params,
                    p.get("param", "page"): str(page),
                    p.get("size_param", "per_page"): str(size),
                }
            elif kind == "offset":
                query = {
                    **params,
                    p.get("param", "offset"): str(offset),
                    p.get("size_param", "limit"): str(size),
                }
            response, shown = self._get(url, query)
            body = response.json()
            records = _at(body, t.records)
            if not isinstance(records, list):
                raise ConnectorError(
                    f"{t.name}: the body has no list at {t.records or 'the top'!r} "
                    f"(found {type(records).__name__}); set the table's records path"
                )
            count += 1
            if records:
                extra = {self.source_column: shown} if self.source_column else None
                yield records_to_batch(records, names, t.columns, extra)
            if pages is not None and count >= pages:
                return
            url = None
            if kind == "page" and len(records) >= size:
                page, url = page + 1, base
            elif kind == "offset" and len(records) >= size:
                offset, url = offset + len(records), base
            elif kind == "cursor":
                cursor = _at(body, str(p.get("cursor_path", "next_cursor")))
                if cursor not in (None, "") and records:
                    query = {**params, p.get("param", "cursor"): str(cursor)}
                    url = base
            elif kind == "link":
                nxt = response.links.get("next", {}).get("url")
                url, query = (urljoin(str(response.url), nxt) if nxt else None), None
            elif kind == "next_url":
                nxt = _at(body, str(p.get("next_path", "next")))
                url, query = (urljoin(str(response.url), str(nxt)) if nxt else None), None

    def _format(self, value: str, t: RestTable) -> str:
        fmt = t.incremental_format
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value  # a number: sent as it is
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        if fmt == "iso":
            return parsed.isoformat()
        if fmt == "epoch":
            return str(int(parsed.timestamp()))
        if fmt == "date":
            return parsed.date().isoformat()
        return parsed.strftime(fmt)

    def _get(self, url: str, query: Mapping[str, str] | None) -> tuple[httpx.Response, str]:
        params = dict(query or {})
        if self.auth_type == "query":
            params[self.auth_name] = str(self.secret)
        shown = self._shown(url, params)
        self.request_count += 1
        if len(self.requests) < KEEP_URLS:
            self.requests.append(shown)
        attempt = 0
        while True:
            try:
                response = self._client.get(url, params=params or None)
            except httpx.TransportError as exc:
                if attempt >= MAX_RETRIES:
                    raise ConnectorError(
                        f"GET {shown} failed after {attempt + 1} tries: "
                        f"{type(exc).__name__}: {self._mask(str(exc))}"
                    ) from None
                self.sleep(min(BACKOFF_S * 2**attempt, MAX_WAIT_S))
                attempt += 1
                continue
            status = response.status_code
            if status == 429 or status >= 500:
                if attempt >= MAX_RETRIES:
                    raise ConnectorError(
                        f"GET {shown} answered {status} {response.reason_phrase} "
                        f"{attempt + 1} times; the API is failing or limiting, try later"
                    )
                wait = _retry_after(response, self.now()) if status == 429 else None
                self.sleep(min(wait if wait is not None else BACKOFF_S * 2**attempt, MAX_WAIT_S))
                attempt += 1
                continue
            if status in (401, 403):
                raise ConnectorError(
                    f"GET {shown} answered {status} {response.reason_phrase}: the API refused "
                    "the credentials; check the connection's password (token) and its auth "
                    "options"
                )
            if status >= 400:
                raise ConnectorError(
                    f"GET {shown} answered {status} {response.reason_phrase}: "
                    f"{self._mask(response.text[:200])}"
                )
            return response, shown

    def _mask(self, text: str) -> str:
        return redact(text, [self.secret])

    def _shown(self, url: str, params: Mapping[str, str]) -> str:
        parts = urlsplit(url)
        merged = dict(parse_qsl(parts.query))
        merged.update(params)
        if self.auth_type == "query":
            merged[self.auth_name] = MASK
        return self._mask(urlunsplit(parts._replace(query=urlencode(merged))))


def _at(body: Any, path: str) -> Any:
    """The value at dotted `path` in `body` (``""``: the body itself)."""
    value = body
    for part in [p for p in path.split(".") if p]:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _retry_after(response: httpx.Response, now: dt.datetime) -> float | None:
    header = response.headers.get("Retry-After")
    if not header:
        return None
    try:
        return max(float(header), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max((when - now).total_seconds(), 0.0)
