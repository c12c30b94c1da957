"""Modules whose source is a connector table, end to end into every destination kind.

The REST source is a fake API served over HTTP on 127.0.0.1 by the test
(tests/helpers.py ``FakeApi``); the file source is a real folder of CSV files. Each
scenario checks what lands, row by row: 250 records over 3 pages (files) exactly
once, a zoned timestamp as UTC, a late record inside the look-back picked up and
one outside not, no duplicates, a failure on page 3 leaving the destination as it
was, and the token nowhere in what the runs recorded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipekit.engine import connector_source
from pipekit.engine.run import Engine
from pipekit.secrets import SecretsFile
from pipekit.store import Store
from tests.helpers import (
    RUN_KINDS,
    FakeApi,
    add_connection,
    api_record,
    dest_table_name,
    table_rows,
    unique_name,
)

T0 = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
ZONED = "2026-01-02T03:04:05.123456+02:00"
AS_UTC = dt.datetime(2026, 1, 2, 1, 4, 5, 123456)


def api_records() -> list[dict[str, Any]]:
    records = [api_record(i, T0 + dt.timedelta(seconds=i)) for i in range(1, 251)]
    records[6]["updated_at"] = ZONED  # id 7: the newest, given in +02:00
    return records


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi(api_records()) as server:
        yield server


def everything_recorded(store: Store, module: str, caplog: pytest.LogCaptureFixture) -> str:
    runs = store.runs.list(module=module, limit=100)
    fields = [f.name for f in dataclasses.fields(runs[0])]
    texts = [str(getattr(r, f)) for r in runs for f in fields]
    return "\n".join(texts) + "\n" + caplog.text


def rest_setup(
    store: Store, tmp_path: Path, api: FakeApi, dest_url: str, kind: str, **table: Any
) -> tuple[Engine, list[float], str]:
    secrets = SecretsFile(tmp_path / "secrets.env")
    secrets.set("API_TOKEN", str(api.token))
    spec = {
        "path": "/page",
        "records": "data.items",
        "primary_key": "id",
        "incremental": {"param": "updated_since", "field": "updated_at"},
        **table,
    }
    store.connections.add(
        "api", f"rest+{api.base}/", password="$API_TOKEN", options={"tables": {"orders": spec}}
    )
    add_connection(store, "dw", dest_url)
    target = dest_table_name(kind, unique_name("api_orders"))
    store.modules.add(
        "orders",
        source="api",
        dest="dw",
        dest_table=target,
        source_table="orders",
        merge_strategy="upsert",
        merge_key="id",
        watermark_column="updated_at",
        lookback="1 hour",
    )
    waits: list[float] = []
    return Engine(store, secrets, sleep=waits.append), waits, target


REST_COLUMNS = ["id", "updated_at", "customer__name", "prenom_client", "c_2nd_qty", "tags"]


@pytest.mark.parametrize("kind", RUN_KINDS)
def test_rest_source_lands_each_record_once(
    kind: str,
    run_store: Store,
    run_urls: dict[str, str],
    tmp_path: Path,
    api: FakeApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    engine, waits, target = rest_setup(run_store, tmp_path, api, run_urls[kind], kind)
    url = run_urls[kind]

    api.failures[("page", 2)] = 429  # one 429 (Retry-After: 7) and one 503, both retried
    api.failures[("page", 4)] = 503
    first = engine.run_module("orders")
    assert first.status == "success", first.error
    assert waits == [7.0, 0.5]
    rows = table_rows(url, target, REST_COLUMNS)
    assert len(rows) == 250 and len({r[0] for r in rows}) == 250
    by_id = {r[0]: r for r in rows}
    assert by_id[7][1] == AS_UTC  # +02:00 landed as UTC, microseconds kept
    assert by_id[12][2:] == ("Zoë 12", "Chloé 12", 24, '["a","t0"]')

    # newest is id 7 at 01:04:05.123456Z; the look-back reads from 00:04:05.123456Z
    api.records.append(api_record(300, T0 + dt.timedelta(minutes=30)))  # late, inside
    api.records.append(api_record(301, T0 + dt.timedelta(minutes=1)))  # late, outside
    api.records[4] = {**api.records[4], "updated_at": (T0 + dt.timedelta(minutes=40)).isoformat()}
    api.records[4]["customer"] = {"name": "changed"}
    second = engine.run_module("orders")
    assert second.status == "success", second.error
    assert second.rows_read == 8  # 246-250 (00:04:06-10), 7, 300 and the changed 5
    rows = table_rows(url, target, REST_COLUMNS)
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)) == 251
    assert 300 in ids and 301 not in ids
    assert {r[0]: r for r in rows}[5][2] == "changed"
    assert "updated_since=2026-01-02T00%3A04%3A05.123456%2B00%3A00" in second.source_query

    before = table_rows(url, target, REST_COLUMNS)
    api.broken[("page", 3)] = 500
    third = engine.run_module("orders", full_refresh=True)
    assert third.status == "error"
    assert "500" in (third.error or "") and "page=3" in (third.error or "")
    assert table_rows(url, target, REST_COLUMNS) == before

    recorded = everything_recorded(run_store, "orders", caplog)
    assert str(api.token) not in recorded
    assert "page=1&per_page=100" in recorded  # the request URLs are in the record


@pytest.mark.parametrize("kind", RUN_KINDS)
def test_rest_cancel_between_pages(
    kind: str, run_store: Store, run_urls: dict[str, str], tmp_path: Path, api: FakeApi
) -> None:
    engine, _, target = rest_setup(run_store, tmp_path, api, run_urls[kind], kind)
    cancel = threading.Event()
    api.on_request = lambda style, n: cancel.set() if n == 2 else None
    run = engine.run_module("orders", cancel=cancel)
    assert run.status == "cancelled"
    assert api.counts["page"] == 2  # stopped before page 3
    with pytest.raises(Exception, match=r"(?i)not exist|no such|doesn't exist|does not exist"):
        table_rows(run_urls[kind], target, ["id"])


def test_rest_401_names_the_credentials_not_the_token(
    run_store: Store,
    run_urls: dict[str, str],
    tmp_path: Path,
    api: FakeApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine, _, _ = rest_setup(run_store, tmp_path, api, run_urls["duckdb"], "duckdb")
    SecretsFile(tmp_path / "secrets.env").set("API_TOKEN", "wrong-token-123")
    run = engine.run_module("orders")
    assert run.status == "error"
    assert "401" in (run.error or "") and "credentials" in (run.error or "")
    assert "wrong-token-123" not in everything_recorded(run_store, "orders", caplog)


def test_api_filtering_by_date_only_neither_duplicates_nor_skips(
    run_store: Store, run_urls: dict[str, str], tmp_path: Path, api: FakeApi
) -> None:
    """The API gets the day only and answers every record of that day; the engine's own
    filter keeps the window, and the key replaces what was read twice."""
    engine, _, target = rest_setup(
        run_store,
        tmp_path,
        api,
        run_urls["duckdb"],
        "duckdb",
        incremental={"param": "updated_since", "field": "updated_at", "format": "date"},
    )
    assert engine.run_module("orders").status == "success"
    api.records.append(api_record(300, T0 + dt.timedelta(minutes=30)))
    run = engine.run_module("orders")
    assert run.status == "success", run.error
    assert "updated_since=2026-01-02&" in (run.source_query or "")
    assert run.rows_read == 7  # 246-250, 7 and 300, though the API answered 251 records
    ids = [r[0] for r in table_rows(run_urls["duckdb"], target, ["id"])]
    assert len(ids) == len(set(ids)) == 251


def test_dry_run_reads_no_record(
    run_store: Store, run_urls: dict[str, str], tmp_path: Path, api: FakeApi
) -> None:
    engine, _, _ = rest_setup(
        run_store,
        tmp_path,
        api,
        run_urls["duckdb"],
        "duckdb",
        columns={"id": "integer", "updated_at": "timestamp", "customer__name": "text"},
    )
    run = engine.run_module("orders", dry_run=True)
    assert run.status == "dry_run", run.error
    assert api.seen == []  # declared schema: DISCOVER asks nothing
    assert "customer__name" in (run.merge_sql or "")


# -- files -----------------------------------------------------------------------------

CSV_HEADER = "id,updated_at,Prénom Client,amount\n"


def write_csv(path: Path, ids: range | list[int], mtime: dt.datetime, *, extra: str = "") -> None:
    lines = [CSV_HEADER]
    for i in ids:
        stamp = ZONED if i == 7 else (T0 + dt.timedelta(seconds=i)).isoformat()
        lines.append(f"{i},{stamp},Chloé {i},{i}.5\n")
    path.write_text("".join(lines) + extra, encoding="utf-8")
    os.utime(path, (mtime.timestamp(), mtime.timestamp()))


FILE_COLUMNS = ["id", "updated_at", "prenom_client", "amount", "_source_file"]


@pytest.mark.parametrize("kind", RUN_KINDS)
def test_files_source_reads_new_files_once(
    kind: str, run_store: Store, run_urls: dict[str, str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # the window's WHERE runs once per part of the stream: here once per batch (file)
    monkeypatch.setattr(connector_source, "LOAD_STATEMENT_ROWS", 1)
    folder = tmp_path / "landing"
    (folder / "orders").mkdir(parents=True)
    write_csv(folder / "orders" / "f1.csv", range(1, 101), T0)
    write_csv(folder / "orders" / "f2.csv", range(101, 201), T0 + dt.timedelta(days=1))
    write_csv(folder / "orders" / "f3.csv", range(201, 251), T0 + dt.timedelta(days=2))
    run_store.connections.add(
        "landing",
        f"file://{folder}",
        options={"tables": {"orders": {"glob": "orders/*.csv", "primary_key": "id"}}},
    )
    add_connection(run_store, "dw", run_urls[kind])
    target = dest_table_name(kind, unique_name("file_orders"))
    run_store.modules.add(
        "orders",
        source="landing",
        dest="dw",
        dest_table=target,
        source_table="orders",
        merge_strategy="incremental",
        merge_key="id",
        watermark_column="_source_modified",
        lookback="1 hour",
    )
    engine = Engine(run_store)
    url = run_urls[kind]

    first = engine.run_module("orders")
    assert first.status == "success", first.error
    rows = table_rows(url, target, FILE_COLUMNS)
    assert len(rows) == 250 and len({r[0] for r in rows}) == 250
    by_id = {r[0]: r for r in rows}
    assert by_id[7][1] == AS_UTC
    assert by_id[150][2:] == ("Chloé 150", 150.5, "orders/f2.csv")

    # newest file: f3 at T0+2d; the look-back re-reads from T0+2d-1h
    write_csv(folder / "orders" / "late_in.csv", [300, 5], T0 + dt.timedelta(days=2, minutes=-30))
    write_csv(folder / "orders" / "late_out.csv", [301], T0 + dt.timedelta(days=1, hours=1))
    second = engine.run_module("orders")
    assert second.status == "success", second.error
    assert "f1.csv" not in (second.source_query or "")  # old files are not re-read
    assert second.rows_read == 52  # f3 (inside the look-back) and late_in
    ids = [r[0] for r in table_rows(url, target, FILE_COLUMNS)]
    assert len(ids) == len(set(ids)) == 251
    assert 300 in ids and 301 not in ids

    before = table_rows(url, target, FILE_COLUMNS)
    write_csv(
        folder / "orders" / "zz_bad.csv",
        [400, 401],
        T0 + dt.timedelta(days=3),
        extra="402,not a time,x,1\n",
    )
    third = engine.run_module("orders")
    assert third.status == "error"
    assert "zz_bad.csv line 4" in (third.error or "")
    assert table_rows(url, target, FILE_COLUMNS) == before


@pytest.mark.parametrize("kind", RUN_KINDS)
def test_files_cancel_between_batches_leaves_the_destination_unchanged(
    kind: str,
    run_store: Store,
    run_urls: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cancel while the second file is read stops before its batch is staged: the run
    ends `cancelled`, the third file is never opened, the destination is as it was (no
    table on a first run; the earlier rows on a full refresh)."""
    from pipekit.connectors.builtin.files import connector as files

    folder = tmp_path / "landing"
    (folder / "orders").mkdir(parents=True)
    for n, ids in enumerate((range(1, 101), range(101, 201), range(201, 251))):
        write_csv(folder / "orders" / f"f{n + 1}.csv", ids, T0 + dt.timedelta(days=n))
    run_store.connections.add(
        "landing",
        f"file://{folder}",
        options={"tables": {"orders": {"glob": "orders/*.csv", "primary_key": "id"}}},
    )
    add_connection(run_store, "dw", run_urls[kind])
    target = dest_table_name(kind, unique_name("file_cancel"))
    run_store.modules.add(
        "orders",
        source="landing",
        dest="dw",
        dest_table=target,
        source_table="orders",
        merge_strategy="incremental",
        merge_key="id",
        watermark_column="_source_modified",
    )
    engine = Engine(run_store)

    # the hook: the connector opening a file (its batches come one file at a time)
    cancel = threading.Event()
    opened: list[str] = []
    cancel_at: list[str] = ["f2.csv"]
    read_file = files.FilesConnector._file_batches

    def watched(self: Any, t: Any, info: Any, shown: str, *args: Any) -> Iterator[Any]:
        opened.append(shown.rsplit("/", 1)[-1])
        if cancel_at and shown.endswith(cancel_at[0]):
            cancel.set()
        return read_file(self, t, info, shown, *args)

    monkeypatch.setattr(files.FilesConnector, "_file_batches", watched)

    first = engine.run_module("orders", cancel=cancel)
    assert first.status == "cancelled", first.error
    assert "f2.csv" in opened and "f3.csv" not in opened
    with pytest.raises(Exception, match=r"(?i)not exist|no such|doesn't exist|does not exist"):
        table_rows(run_urls[kind], target, ["id"])
    assert run_store.modules.get("orders").running is False  # the lock is released

    # a full refresh cancelled half-way leaves the rows of the earlier run
    cancel_at.clear()
    cancel.clear()
    done = engine.run_module("orders")
    assert done.status == "success", done.error
    before = table_rows(run_urls[kind], target, FILE_COLUMNS)
    assert len(before) == 250
    write_csv(folder / "orders" / "f1.csv", range(1, 101), T0, extra="999,2026-01-03,x,1\n")
    opened.clear()
    cancel_at.append("f2.csv")
    again = engine.run_module("orders", cancel=cancel, full_refresh=True)
    assert again.status == "cancelled", again.error
    assert "f3.csv" not in opened
    assert table_rows(run_urls[kind], target, FILE_COLUMNS) == before


def test_declared_columns_stream_through_the_window(
    run_store: Store, run_urls: dict[str, str], tmp_path: Path, api: FakeApi
) -> None:
    """Declared columns: the pages stream through DuckDB's WHERE (no spool); a 500 on
    page 3 still fails with the API's own words and leaves the destination as it was."""
    engine, _, target = rest_setup(
        run_store,
        tmp_path,
        api,
        run_urls["duckdb"],
        "duckdb",
        columns={"id": "integer", "updated_at": "timestamp", "customer__name": "text"},
        incremental={"param": "updated_since", "field": "updated_at", "format": "date"},
    )
    assert engine.run_module("orders").status == "success"
    api.records.append(api_record(300, T0 + dt.timedelta(minutes=30)))
    run = engine.run_module("orders")
    assert run.status == "success", run.error
    assert run.rows_read == 7  # the window, though the API answered the whole day
    before = table_rows(run_urls["duckdb"], target, ["id", "customer__name"])
    assert len(before) == 251
    api.broken[("page", 3)] = 500
    failed = engine.run_module("orders")
    assert failed.status == "error"
    assert "answered 500" in (failed.error or "") and "page=3" in (failed.error or "")
    assert table_rows(run_urls["duckdb"], target, ["id", "customer__name"]) == before


def test_a_named_kit_connector_is_a_module_source(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    """connector://sample: the Kit's built-in sample connector, its options its settings."""
    run_store.connections.add("sample", "connector://sample", options={"rows": 250})
    add_connection(run_store, "dw", run_urls["duckdb"])
    run_store.modules.add(
        "orders", source="sample", dest="dw", dest_table="main.orders", source_table="orders"
    )
    run = Engine(run_store).run_module("orders")
    assert run.status == "success", run.error
    ids = [r[0] for r in table_rows(run_urls["duckdb"], "main.orders", ["id"])]
    assert sorted(ids) == list(range(1, 251))
    assert "-- connector sample (connector://sample), table orders" in (run.source_query or "")


def test_inferred_schema_grows_and_widens(
    run_store: Store, run_urls: dict[str, str], tmp_path: Path, api: FakeApi
) -> None:
    """A key first seen on page 3 becomes a column (earlier rows NULL); a value of
    another type on page 2 widens its column to text; nothing is lost."""
    api.records[150]["2nd qty"] = "lots"  # page 2: text where page 1 had integers
    api.records[220]["late key"] = 7.5  # page 3 only
    engine, _, target = rest_setup(run_store, tmp_path, api, run_urls["duckdb"], "duckdb")
    run = engine.run_module("orders")
    assert run.status == "success", run.error
    rows = {
        r[0]: r for r in table_rows(run_urls["duckdb"], target, ["id", "c_2nd_qty", "late_key"])
    }
    assert len(rows) == 250
    assert rows[151][1:] == ("lots", None)
    assert rows[12][1] == "24"  # integers kept, as text
    assert rows[221][2] == 7.5
