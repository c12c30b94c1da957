"""The services the web console added, against a real SQLite state DB, a SQLite source
and a DuckDB warehouse: the dashboard (late modules, next fires, days), the filtered
module list, keyset run pages, module + watermarks saved together, the column map,
notification settings and the test notification (to a real local HTTP server)."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from pipekit.config import load_config
from pipekit.errors import InvalidError, NotFoundError, ValidationError
from pipekit.services import Services
from pipekit.store import schema as s


@pytest.fixture
def sv(tmp_path: Path) -> Iterator[Services]:
    """Modules `orders` (SQLite → DuckDB, in scheduled group `nightly`) and `idle`."""
    (tmp_path / "pipekit.yaml").write_text("database: state.db\n")
    src = tmp_path / "src.db"
    with closing(sqlite3.connect(src)) as db:
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, code TEXT, n INT)")
        db.executemany("INSERT INTO orders VALUES (?, ?, ?)", [(i, f"c{i}", i) for i in range(5)])
        db.commit()
    with Services.open(load_config(tmp_path / "pipekit.yaml")) as services:
        store = services.store
        store.init()
        store.connections.add("src", f"sqlite:///{src}")
        store.connections.add("dw", f"duckdb:///{tmp_path / 'dw.duckdb'}?create=true")
        query = "SELECT id, RTRIM(code) AS code, n FROM orders"
        for name in ("orders", "idle"):
            store.modules.add(
                name,
                source="src",
                dest="dw",
                dest_table=f"main.{name}",
                source_query=query,
                merge_strategy="full",
            )
        store.groups.add("nightly", members=["orders"])
        store.schedules.add("nightly", "0 * * * *")  # hourly
        yield services


def _backdate(sv: Services, run_id: int, when: dt.datetime) -> None:
    with sv.store.write() as conn:
        conn.execute(s.run_log.update().where(s.run_log.c.id == run_id).values(started_at=when))


def test_a_module_without_a_success_for_two_intervals_is_late(sv: Services) -> None:
    now = dt.datetime.now(dt.UTC)
    run = sv.runs.run("orders")
    assert run.status == "success"
    assert sv.dashboard.late_modules(now) == []
    _backdate(sv, run.id, now - dt.timedelta(hours=3))
    late = sv.dashboard.late_modules(now)
    assert [(x.module, x.group, x.interval_s) for x in late] == [("orders", "nightly", 3600)]
    assert late[0].last_success_at == now - dt.timedelta(hours=3)
    # `idle` is in no scheduled group: never late; a disabled schedule makes none late
    sv.schedules.disable(sv.schedules.list()[0].id)
    assert sv.dashboard.late_modules(now) == []


def test_dashboard_view(sv: Services) -> None:
    sv.runs.run("orders")
    sv.store.modules.update("idle", source_query="SELECT nope FROM missing")
    failed = sv.runs.run("idle")
    d = sv.dashboard.show(days=3)
    assert [r.id for r in d.failures] == [failed.id] and d.running == []
    assert len(d.next_fires) == 5 and all(f.group == "nightly" for f in d.next_fires)
    assert [f.at for f in d.next_fires] == sorted(f.at for f in d.next_fires)
    assert [x.day for x in d.days][-1] == dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    assert (d.days[-1].runs, d.days[-1].failed, d.days[-1].rows) == (2, 1, 5)
    assert [x.runs for x in d.days[:2]] == [0, 0]
    with pytest.raises(InvalidError) as exc:
        sv.dashboard.days(0)
    assert exc.value.path == "days"


def test_module_list_filters(sv: Services) -> None:
    sv.runs.run("orders")
    names = lambda **kw: [r.module.name for r in sv.modules.browse(**kw)]  # noqa: E731
    assert names() == ["idle", "orders"]
    assert names(group="nightly") == ["orders"]
    assert names(status="never") == ["idle"]
    assert names(status="success") == ["orders"]
    assert names(text="ORD") == ["orders"]
    assert names(connection="dw") == ["idle", "orders"]
    assert names(connection="other") == []
    sv.modules.disable("idle")
    assert names(status="disabled") == ["idle"]
    row = sv.modules.browse(text="orders")[0]
    assert row.groups == ["nightly"] and row.last_run and row.last_run.row_count == 5
    with pytest.raises(InvalidError) as exc:
        sv.modules.browse(status="sleepy")
    assert exc.value.path == "status" and "never" in exc.value.message


def test_run_pages_by_keyset(sv: Services) -> None:
    ids = [sv.runs.run("orders").id for _ in range(5)]
    first = sv.runs.page(module="orders", limit=2)
    second = sv.runs.page(module="orders", limit=2, before=first[-1].id)
    third = sv.runs.page(module="orders", limit=2, before=second[-1].id)
    assert [r.id for r in first + second + third] == list(reversed(ids))
    assert [r.id for r in first] == [r.id for r in sv.runs.list(module="orders", limit=2)]
    with pytest.raises(InvalidError):
        sv.runs.page(status="bogus")


def test_module_and_watermarks_saved_together(sv: Services) -> None:
    marks = [{"name": "since", "connection": "", "resolver_sql": "SELECT 2", "default_value": "0"}]
    saved = sv.modules.update_with_watermarks(
        "orders", marks, source_query="SELECT id, code, n FROM orders WHERE id > {since}"
    )
    assert "{since}" in (saved.source_query or "")
    assert [(w.name, w.resolver_sql) for w in sv.watermarks.list("orders")] == [
        ("since", "SELECT 2")
    ]
    assert sv.runs.run("orders").rows_read == 2  # ids 3 and 4
    # removing the row while the query still uses it: refused, nothing changed
    with pytest.raises(ValidationError) as exc:
        sv.modules.update_with_watermarks("orders", [], merge_key="id")
    assert any("since" in p.message for p in exc.value.problems)
    assert [w.name for w in sv.watermarks.list("orders")] == ["since"]
    assert sv.modules.show("orders").merge_key is None
    # a bad row name is reported with the row's path, nothing changed
    with pytest.raises(ValidationError) as exc:
        sv.modules.update_with_watermarks("orders", [{**marks[0], "name": "no good"}])
    assert exc.value.problems[0].path == "watermarks.0.name"
    # removing both together is fine
    sv.modules.update_with_watermarks("orders", [], source_query="SELECT id, n FROM orders")
    assert sv.watermarks.list("orders") == []
    history = sv.modules.history("orders")
    assert history[0].changed_by == "cli"


def test_column_map(sv: Services) -> None:
    cmap = sv.modules.column_map("orders")
    assert cmap.error is None and not cmap.has_star
    assert [(c.dest, c.trimmed) for c in cmap.columns] == [
        ("id", False),
        ("code", True),
        ("n", False),
    ]
    assert cmap.columns[1].where == "code"
    sv.store.modules.update("idle", source_query="SELECT FROM WHERE")
    assert sv.modules.column_map("idle").error
    with pytest.raises(NotFoundError):
        sv.modules.column_map("nope")


def test_notifications_need_a_channel(sv: Services) -> None:
    view = sv.notifications.settings()
    assert not view.email_enabled and not view.webhook_enabled
    with pytest.raises(InvalidError) as exc:
        sv.notifications.send_test()
    assert "notify.webhook_url" in exc.value.message


def test_test_notification_reaches_the_webhook(tmp_path: Path) -> None:
    got: list[dict] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        (tmp_path / "pipekit.yaml").write_text(f"database: s.db\nnotify:\n  webhook_url: {url}\n")
        with Services.open(load_config(tmp_path / "pipekit.yaml"), actor="web:ann") as sv:
            assert sv.notifications.settings().webhook_url == url
            result = sv.notifications.send_test()
        assert [(d.channel, d.ok) for d in result.deliveries] == [("webhook", True)]
        assert got and got[0]["test"] is True and "web:ann" in got[0]["text"]
    finally:
        server.shutdown()
