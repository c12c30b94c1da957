"""Small connectors the Kit's tests run: real implementations of the protocol that
serve rows from memory, so each test controls exactly what the source holds."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pyarrow as pa

from pipekit.connectors import Cap, ReadOptions, RemoteAttachInfo, TableInfo

EVENTS = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("updated_at", pa.timestamp("us", tz="UTC")),
    ]
)

#: one column of every kind of type a connector may yield
TYPED = pa.schema(
    [
        pa.field("i8", pa.int8()),
        pa.field("i64", pa.int64(), nullable=False),
        pa.field("f64", pa.float64()),
        pa.field("dec", pa.decimal128(12, 2)),
        pa.field("s", pa.string()),
        pa.field("b", pa.bool_()),
        pa.field("d", pa.date32()),
        pa.field("ts", pa.timestamp("us")),
        pa.field("tstz", pa.timestamp("us", tz="UTC")),
        pa.field("tags", pa.list_(pa.string())),
        pa.field("bin", pa.binary()),
    ]
)
TYPED_ROWS = [
    {
        "i8": -5,
        "i64": 2**62,
        "f64": 1.5,
        "dec": Decimal("1234567890.12"),
        "s": "žluťoučký kůň",
        "b": True,
        "d": dt.date(2026, 2, 28),
        "ts": dt.datetime(2026, 3, 1, 12, 30, 15, 123456),
        "tstz": dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC),
        "tags": ["a", "b"],
        "bin": b"\x00\x01",
    },
    {k: None for k in TYPED.names} | {"i64": 0},
]


def event_rows(ids: range | list[int]) -> list[dict[str, Any]]:
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return [{"id": i, "name": f"e{i}", "updated_at": base + dt.timedelta(minutes=i)} for i in ids]


class MemoryConnector:
    """DISCOVER | READ over in-memory tables: ``tables[name] = (schema, rows)``.

    Records every read's options; `fail` names tables whose read raises; a table
    in `incremental` has that incremental key; `keys` gives primary keys.
    """

    capabilities = Cap.DISCOVER | Cap.READ

    def __init__(
        self,
        tables: dict[str, tuple[pa.Schema, list[dict[str, Any]]]],
        *,
        incremental: dict[str, str] | None = None,
        keys: dict[str, list[str]] | None = None,
        fail: set[str] | None = None,
        yielded_schema: dict[str, pa.Schema] | None = None,
    ) -> None:
        self.tables = tables
        self.incremental = incremental or {}
        self.keys = keys or {}
        self.fail = fail or set()
        self.yielded_schema = yielded_schema or {}
        self.reads: list[tuple[str, ReadOptions]] = []

    def discover(self) -> list[TableInfo]:
        return [
            TableInfo(
                name=name,
                schema=schema,
                capabilities=Cap.READ,
                primary_key=self.keys.get(name),
                description=f"table {name}",
                incremental_key=self.incremental.get(name),
            )
            for name, (schema, _) in self.tables.items()
        ]

    def read(self, table: str, options: ReadOptions) -> Iterator[pa.RecordBatch]:
        self.reads.append((table, options))
        if table in self.fail:
            raise RuntimeError(f"the source refused {table}: password=hunter2")
        schema, rows = self.tables[table]
        schema = self.yielded_schema.get(table, schema)
        if options.incremental_value is not None and options.incremental_key:
            rows = [r for r in rows if _past(r[options.incremental_key], options)]
        for start in range(0, len(rows), options.batch_size):
            yield pa.RecordBatch.from_pylist(rows[start : start + options.batch_size], schema)


def _past(value: Any, options: ReadOptions) -> bool:
    assert options.incremental_value is not None
    if isinstance(value, dt.datetime):
        bound: Any = dt.datetime.fromisoformat(options.incremental_value)
    else:
        bound = type(value)(options.incremental_value)
    return value > bound if options.incremental_op == ">" else value >= bound


class StreamConnector:
    """DISCOVER | STREAM: `stream()` yields the batches queued with `push`; no read()."""

    capabilities = Cap.DISCOVER | Cap.STREAM

    def __init__(self) -> None:
        self.queue: list[pa.RecordBatch] = []

    def push(self, rows: list[dict[str, Any]]) -> None:
        self.queue.append(pa.RecordBatch.from_pylist(rows, EVENTS))

    def discover(self) -> list[TableInfo]:
        return [TableInfo("events", EVENTS, Cap.STREAM, primary_key=["id"])]

    async def stream(self, table: str) -> AsyncIterator[pa.RecordBatch]:
        while self.queue:
            yield self.queue.pop(0)


class RemoteOnlyConnector:
    """DISCOVER | REMOTE: tables queried in place; read() must never be called."""

    capabilities = Cap.DISCOVER | Cap.REMOTE

    def __init__(self, token_env: str = "WAREHOUSE_TOKEN", url: str = "project=demo") -> None:
        self.token_env = token_env
        self.url = url

    def discover(self) -> list[TableInfo]:
        return [TableInfo("sales", EVENTS, Cap.REMOTE, description="remote sales")]

    def remote(self) -> RemoteAttachInfo:
        return RemoteAttachInfo("bigquery", self.url, self.token_env, alias="bq")

    def read(self, table: str, options: ReadOptions) -> Iterator[pa.RecordBatch]:
        raise AssertionError("read() called although READ is not declared")


@contextmanager
def status_server(token: str) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1: GET /v2/storage answers 200 when the header
    X-Token is `token`, else 401. Yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.path == "/v2/storage" and self.headers.get("X-Token") == token
            self.send_response(200 if ok else 401)
            self.end_headers()

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
