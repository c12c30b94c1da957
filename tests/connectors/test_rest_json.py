"""The rest_json connector against a fake API served over HTTP on 127.0.0.1 by the test:
every pagination style, every auth kind, retries (waits recorded, never slept),
flattened and slugged records, and no secret in an error or a recorded URL."""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from pipekit.connectors.builtin.rest_json.connector import MAX_RETRIES, RestJsonConnector
from pipekit.connectors.protocol import ReadOptions
from pipekit.connectors.sources import open_connector
from pipekit.errors import ConnectionSpecError, ConnectorError, ConnectorSpecError
from tests.helpers import FakeApi, api_record

T0 = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
PAGINATION: dict[str, dict[str, Any]] = {
    "page": {"type": "page"},
    "offset": {"type": "offset"},
    "cursor": {"type": "cursor", "cursor_path": "meta.next_cursor"},
    "link": {"type": "link"},
    "next": {"type": "next_url", "next_path": "next"},
}


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi([api_record(i, T0 + dt.timedelta(seconds=i)) for i in range(1, 251)]) as a:
        yield a


def connector(api: FakeApi, style: str = "page", **extra: Any) -> RestJsonConnector:
    table = {"path": f"/{style}", "records": "data.items", "pagination": PAGINATION[style]}
    table.update(extra.pop("table", {}))
    options = {"tables": {"orders": table}, **extra.pop("options", {})}
    extra.setdefault("secret", api.token)
    return open_connector(f"rest+{api.base}", options, **extra)


def read_all(c: RestJsonConnector, options: ReadOptions | None = None) -> pa.Table:
    return pa.Table.from_batches(list(c.read("orders", options or ReadOptions())))


@pytest.mark.parametrize("style", list(PAGINATION))
def test_every_pagination_style_reads_each_record_once(api: FakeApi, style: str) -> None:
    c = connector(api, style)
    table = read_all(c)
    assert table.num_rows == 250
    assert sorted(table["id"].to_pylist()) == list(range(1, 251))
    assert api.counts[style] == 3
    assert c.request_count == 3


def test_records_are_flattened_and_slugged(api: FakeApi) -> None:
    table = read_all(connector(api))
    assert table.column_names == [
        "id",
        "updated_at",
        "customer__name",
        "customer__address__city",
        "customer__address__zip",
        "tags",
        "prenom_client",
        "c_2nd_qty",
        "amount",
    ]
    assert table.schema.field("customer__address__zip").type == pa.null()  # no value yet
    row = table.slice(11, 1).to_pylist()[0]
    assert row["customer__address__city"] == "Brno"
    assert row["tags"] == '["a","t0"]'
    assert table.schema.field("updated_at").type == pa.timestamp("us", tz="UTC")


def test_updated_since_is_sent_and_formatted(api: FakeApi) -> None:
    c = connector(api, table={"incremental": {"param": "updated_since", "format": "epoch"}})
    since = (T0 + dt.timedelta(seconds=200)).isoformat()
    table = read_all(c, ReadOptions(incremental_key="updated_at", incremental_value=since))
    assert sorted(table["id"].to_pylist()) == list(range(200, 251))
    assert f"updated_since={int((T0 + dt.timedelta(seconds=200)).timestamp())}" in c.requests[0]


@pytest.mark.parametrize("auth", ["bearer", "header", "query", "basic"])
def test_every_auth_kind(api: FakeApi, auth: str) -> None:
    api.auth = auth
    c = connector(api, options={"auth": {"type": auth}}, user="etl")
    assert read_all(c).num_rows == 250
    assert all(str(api.token) not in url for url in c.requests)
    if auth == "query":
        assert "api_key=***" in c.requests[0]


def test_401_is_refused_with_what_to_check_and_no_token(api: FakeApi) -> None:
    api.auth = "query"
    c = connector(api, options={"auth": {"type": "query"}}, secret="not-the-token-99")
    with pytest.raises(ConnectorError, match="401") as caught:
        read_all(c)
    assert "check the connection's password" in str(caught.value)
    assert "not-the-token-99" not in str(caught.value)


def test_429_waits_retry_after_even_as_a_date(api: FakeApi) -> None:
    waits: list[float] = []
    now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    c = connector(api, sleep=waits.append)
    c.now = lambda: now
    api.failures[("page", 1)] = 429  # Retry-After: 7 (seconds)
    assert read_all(c).num_rows == 250
    assert waits == [7.0]
    import httpx

    from pipekit.connectors.builtin.rest_json import connector as module

    later = email.utils.format_datetime(now + dt.timedelta(seconds=30))
    answer = httpx.Response(429, headers={"Retry-After": later})
    assert module._retry_after(answer, now) == 30.0


def test_5xx_backoff_is_bounded_then_fails(api: FakeApi) -> None:
    waits: list[float] = []
    api.broken[("page", 2)] = 503
    c = connector(api, sleep=waits.append)
    with pytest.raises(ConnectorError, match=r"answered 503 .* 6 times") as caught:
        read_all(c)
    assert len(waits) == MAX_RETRIES and waits == sorted(waits) and max(waits) <= 60
    assert "page=2" in str(caught.value)


def test_bad_options_say_what_to_write(api: FakeApi) -> None:
    with pytest.raises(ConnectorSpecError, match="declares its tables"):
        open_connector(f"rest+{api.base}", {}, secret="x")
    with pytest.raises(ConnectorSpecError, match="pagination type 'pages'"):
        connector(api, table={"pagination": {"type": "pages"}})
    with pytest.raises(ConnectorSpecError, match="needs the connection's password"):
        open_connector(
            f"rest+{api.base}", {"auth": {"type": "bearer"}, "tables": {"t": {"path": "/x"}}}
        )
    with pytest.raises(ConnectionSpecError, match="must not contain a password"):
        open_connector("rest+https://u:pw@example.com", {"tables": {"t": {"path": "/x"}}})
    with pytest.raises(ConnectorSpecError, match="no table 'nope'"):
        list(connector(api).read("nope", ReadOptions()))


def test_declared_columns_fix_the_schema(api: FakeApi) -> None:
    c = connector(api, table={"columns": {"id": "integer", "amount": "text"}})
    table = read_all(c)
    assert table.schema == pa.schema([("id", pa.int64()), ("amount", pa.string())])
    [info] = c.discover()
    assert info.schema == table.schema
    assert api.counts["page"] == 3  # discover asked nothing: the schema is declared


def test_record_source_column_names_the_page_without_the_key(api: FakeApi) -> None:
    api.auth = "query"
    c = connector(api, options={"auth": {"type": "query"}, "source_column": "_source_url"})
    table = read_all(c)
    urls = set(table["_source_url"].to_pylist())
    assert len(urls) == 3 and all("api_key=***" in u for u in urls)
    assert all(str(api.token) not in u for u in urls)
