"""`GET /api/modules/{id}/mapping` (the source query's column mapping and the staging
table, parsed without connecting) and `GET /api/runs/latest` (each module's last run)."""

from __future__ import annotations

import uuid

import httpx

from tests.helpers import add_module, fast_query, wait_done


def test_mapping_names_source_columns_trims_and_the_staging_table(
    api: httpx.Client, pg_url: str
) -> None:
    query = (
        'SELECT "DCORD#" AS dcord, RTRIM(dcotyp) AS dcotyp, a + b AS total, updated_at '
        "FROM erp.orders WHERE updated_at > {since}"
    )
    tag = uuid.uuid4().hex[:8]
    conn = f"pg_{tag}"
    assert api.post("/api/connections", json={"name": conn, "url": pg_url}).status_code == 201
    name = f"map_{tag}"
    r = api.post(
        "/api/modules",
        json={
            "name": name,
            "source": conn,
            "dest": conn,
            "dest_table": "sync.orders",
            "source_query": query,
            "watermarks": {
                "since": {
                    "connection": conn,
                    "resolver_sql": "SELECT max(updated_at) FROM sync.orders",
                    "default": "2020-01-01",
                }
            },
        },
    )
    assert r.status_code == 201, r.text
    body = api.get(f"/api/modules/{name}/mapping").json()
    assert body["staging_table"] == f"pipekit_staging.{name}"
    assert body["columns"] == [
        {"dest": "dcord", "source": "DCORD#", "expression": '"DCORD#"', "trimmed": False},
        {"dest": "dcotyp", "source": "dcotyp", "expression": "RTRIM(dcotyp)", "trimmed": True},
        {"dest": "total", "source": None, "expression": "a + b", "trimmed": False},
        {
            "dest": "updated_at",
            "source": "updated_at",
            "expression": "updated_at",
            "trimmed": False,
        },
    ]
    # the id works as the name does
    module_id = api.get(f"/api/modules/{name}").json()["id"]
    assert api.get(f"/api/modules/{module_id}/mapping").json() == body


def test_mapping_of_an_unknown_module_is_404(api: httpx.Client) -> None:
    r = api.get("/api/modules/no_such_module_xyz/mapping")
    assert r.status_code == 404 and r.json()["error"] == "NotFoundError"


def test_latest_runs_by_module(api: httpx.Client, pg_url: str) -> None:
    ran, idle = add_module(api, pg_url, fast_query(4)), add_module(api, pg_url, fast_query(1))
    first = api.post(f"/api/modules/{ran}/run").json()["run_id"]
    wait_done(api, first)
    second = api.post(f"/api/modules/{ran}/run").json()["run_id"]
    wait_done(api, second)
    latest = api.get("/api/runs/latest").json()
    assert latest[idle] is None
    assert latest[ran]["id"] == second and latest[ran]["row_count"] == 4
    assert latest[ran]["status"] == "success"
