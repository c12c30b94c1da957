"""Connection test, table browsing, preview and destination columns against PostgreSQL;
SIGTERM shutdown leaves no lock."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import psycopg

from tests.helpers import (
    PASSWORD,
    USER,
    Server,
    add_module,
    fast_query,
    slow_query,
    wait_done,
    wait_live,
)


def test_connection_test_tables_columns(api, pg_url) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS shop")
        conn.execute("CREATE TABLE IF NOT EXISTS shop.items (id int PRIMARY KEY, name text)")
    name = add_module(api, pg_url, fast_query(3))
    conn_name = api.get(f"/api/modules/{name}").json()["source"]
    r = api.post(f"/api/connections/{conn_name}/test")
    assert r.status_code == 200 and r.json()["ok"] is True, r.text
    assert r.json()["kind"] == "postgresql"
    r = api.get(f"/api/connections/{conn_name}/tables", params={"schema": "shop"})
    assert r.status_code == 200, r.text
    assert "items" in r.json()["tables"]
    assert r.json()["schema"] == "shop"
    assert [t["name"] for t in r.json()["tables_detail"]] == r.json()["tables"]
    r = api.get(f"/api/connections/{conn_name}/schemas")
    assert r.status_code == 200 and "shop" in r.json() and "pg_catalog" not in r.json()
    r = api.get(f"/api/connections/{conn_name}/tables", params={"schema": "shpo"})
    assert r.status_code == 404 and "did you mean 'shop'" in r.json()["detail"]
    cols = api.get(f"/api/connections/{conn_name}/tables/shop.items/columns").json()
    assert [(c["name"], c["primary_key"]) for c in cols] == [("id", True), ("name", False)]
    r = api.get(f"/api/connections/{conn_name}/tables/shop.nope/columns")
    assert r.status_code == 404
    r = api.get(f"/api/connections/{conn_name}/tables/shop.items/propose")
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["source_query"] == 'SELECT "id" AS id, "name" AS name FROM "shop"."items"'
    assert (p["merge_strategy"], p["merge_key"], p["watermark_column"]) == ("upsert", "id", None)
    assert p["dest_table"] == "sync.items" and p["dest_ddl"] is None
    assert [(c["dest"], c["dest_type"], c["trimmed"]) for c in p["columns"]] == [
        ("id", "int32", False),
        ("name", "string", False),
    ]
    r = api.get(
        f"/api/connections/{conn_name}/tables/shop.items/propose",
        params={"dest": conn_name, "dest_table": "dw.items"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["dest_ddl"].startswith('CREATE TABLE "dw"."items" ("id" integer NOT NULL')
    r = api.get(f"/api/connections/{conn_name}/tables/shop.nope/propose")
    assert r.status_code == 404 and "shop.nope" in r.json()["detail"]

    bad = api.post(
        "/api/connections",
        json={"name": f"{conn_name}_bad", "url": "postgresql://nobody@127.0.0.1:1/x"},
    )
    assert bad.status_code == 201
    r = api.post(f"/api/connections/{conn_name}_bad/test")
    assert r.status_code == 200 and r.json()["ok"] is False and r.json()["error"]


def test_preview_and_dest_columns(api, pg_url) -> None:
    name = add_module(api, pg_url, fast_query(3))
    assert api.get(f"/api/modules/{name}/dest-columns").status_code == 404
    r = api.get(f"/api/modules/{name}/preview")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "dry_run"
    assert "generate_series" in r.json()["source_query"]
    run_id = api.post(f"/api/modules/{name}/run").json()["run_id"]
    assert wait_done(api, run_id)["status"] == "success"
    cols = [c["name"] for c in api.get(f"/api/modules/{name}/dest-columns").json()]
    assert cols[:2] == ["id", "v"]


def test_sigterm_stops_runs_and_leaves_no_lock(tmp_path: Path, pg_url) -> None:
    (tmp_path / "pipekit.yaml").write_text("database: state.db\n")
    srv = Server(tmp_path, 0)
    assert srv.cli("init").returncode == 0
    assert srv.cli("set-password", USER, input=PASSWORD + "\n").returncode == 0
    srv.start()
    try:
        with srv.client() as api:
            name = add_module(api, pg_url, slow_query(3000, 0.01))
            run_id = api.post(f"/api/modules/{name}/run").json()["run_id"]
            wait_live(api, run_id, "staging")
        start = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        srv.proc.wait(60)
        assert time.monotonic() - start < 30
    finally:
        srv.stop(signal.SIGKILL)
    srv.start()
    try:
        with srv.client() as api:
            run = api.get(f"/api/runs/{run_id}").json()
            assert run["status"] in ("cancelled", "error"), run
            assert api.get(f"/api/modules/{name}").json()["running"] is False
    finally:
        srv.stop()
