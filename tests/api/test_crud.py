"""CRUD round trips over HTTP, 404s, 422s naming fields, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.helpers import PASSWORD


def test_health_needs_no_auth(server) -> None:
    r = httpx.get(f"{server.url}/health")
    assert r.status_code == 200
    body = r.json()
    assert body["database"]["ok"] and body["scheduler"]["ok"] and body["pool"]["ok"]
    assert body["status"] == "ok"


def test_connections_round_trip(api: httpx.Client) -> None:
    r = api.post(
        "/api/connections", json={"name": "c1", "url": "sqlite:////tmp/x.db", "password": "$C1_PW"}
    )
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert r.json()["password"] == "$C1_PW"
    assert api.get(f"/api/connections/{cid}").json()["name"] == "c1"
    assert api.get("/api/connections/c1").json()["id"] == cid
    r = api.put(f"/api/connections/{cid}", json={"name": "c2", "supports_deletes": False})
    assert r.status_code == 200 and r.json()["name"] == "c2"
    assert not r.json()["supports_deletes"]
    assert (
        api.post("/api/connections", json={"name": "c2", "url": "sqlite:///y"}).status_code == 409
    )
    assert api.get("/api/connections").json()[0]["name"] == "c2"
    assert api.delete(f"/api/connections/{cid}").status_code == 200
    assert api.get(f"/api/connections/{cid}").status_code == 404


def test_literal_password_refused_and_never_echoed(api: httpx.Client) -> None:
    r = api.post(
        "/api/connections",
        json={"name": "lit", "url": "sqlite:////tmp/x.db", "password": "hunter2-literal"},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "password"]
    assert "hunter2-literal" not in r.text
    assert PASSWORD not in r.text
    r = api.post("/api/connections", json={"name": "lit2", "url": "postgresql://u:pw-in-url@h:x/d"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "url"]
    assert "pw-in-url" not in r.text


def test_unknown_ids_404(api: httpx.Client) -> None:
    for path in (
        "/api/connections/999",
        "/api/modules/999",
        "/api/groups/nope",
        "/api/runs/999",
        "/api/group-runs/999",
        "/api/schedules/999",
        "/api/modules/999/history",
        "/api/runs/999/live",
    ):
        r = api.get(path)
        assert r.status_code == 404, path
        assert isinstance(r.json()["detail"], str)


def test_bad_module_is_422_naming_each_field(api: httpx.Client) -> None:
    api.post("/api/connections", json={"name": "s", "url": "sqlite:////tmp/s.db"})
    r = api.post(
        "/api/modules",
        json={
            "name": "bad",
            "source": "s",
            "dest": "missing_conn",
            "merge_strategy": "upsert",
            "source_query": "SELECT a FROM t",
        },
    )
    assert r.status_code == 422, r.text
    fields = {tuple(d["loc"][1:]) for d in r.json()["detail"]}
    assert ("dest",) in fields
    assert ("merge_key",) in fields
    assert ("dest_table",) in fields
    # the service judges the strategy (so the CLI refuses it alike), with every other problem
    r = api.post("/api/modules", json={"name": "x", "merge_strategy": "sideways"})
    assert r.status_code == 422
    strategy = [d for d in r.json()["detail"] if d["loc"] == ["body", "merge_strategy"]]
    assert len(strategy) == 1 and strategy[0]["type"] == "ValidationError"
    assert "'sideways' is not a merge strategy" in strategy[0]["msg"]


def test_modules_and_parts_round_trip(api: httpx.Client) -> None:
    api.post("/api/connections", json={"name": "src", "url": "sqlite:////tmp/src.db"})
    api.post("/api/connections", json={"name": "dst", "url": "sqlite:////tmp/dst.db"})
    spec = {
        "name": "orders",
        "source": "src",
        "dest": "dst",
        "dest_table": "orders",
        "source_query": "SELECT id, v FROM orders",
        "merge_strategy": "full",
    }
    r = api.post("/api/modules", json=spec)
    assert r.status_code == 201, r.text
    mid = r.json()["id"]
    assert api.post("/api/modules", json=spec).status_code == 409
    r = api.put(f"/api/modules/{mid}", json={"merge_strategy": "upsert", "merge_key": "id"})
    assert r.status_code == 200, r.text
    assert r.json()["merge_key"] == "id"
    r = api.put(f"/api/modules/{mid}", json={"merge_key": "nope"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "merge_key"]
    hist = api.get(f"/api/modules/{mid}/history").json()
    assert hist[0]["diff"]["merge_strategy"] == ["full", "upsert"]

    r = api.post("/api/hooks", json={"module": "orders", "sql": "SELECT 1"})
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    assert [h["id"] for h in api.get(f"/api/modules/{mid}/hooks").json()] == [hid]
    assert api.delete(f"/api/hooks/{hid}").status_code == 200
    assert api.delete(f"/api/hooks/{hid}").status_code == 404

    r = api.post(
        f"/api/modules/{mid}/checks", json={"name": "no_nulls", "sql": "SELECT 1 WHERE 1=0"}
    )
    assert r.status_code == 201, r.text
    r = api.put(f"/api/modules/{mid}/checks/no_nulls", json={"sql": "SELECT 2 WHERE 1=0"})
    assert r.status_code == 200 and r.json()["sql"] == "SELECT 2 WHERE 1=0"
    assert api.get(f"/api/modules/{mid}/checks/zzz").status_code == 404
    assert api.delete(f"/api/modules/{mid}/checks/no_nulls").status_code == 200
    assert api.get(f"/api/modules/{mid}/checks").json() == []

    r = api.post(f"/api/modules/{mid}/watermarks", json={"name": "since", "default_value": "0"})
    assert r.status_code == 422, r.text  # judged like `apply` and the CLI judge it
    assert r.json()["detail"][0]["loc"] == ["body", "watermarks", "since", "resolver_sql"]
    r = api.post(
        f"/api/modules/{mid}/watermarks",
        json={"name": "since", "connection": "dst", "resolver_sql": "SELECT 0"},
    )
    assert r.status_code == 201, r.text
    assert "not used by the source query yet" in r.json()["warnings"][0]
    r = api.put(f"/api/modules/{mid}/watermarks/since", json={"default_value": "5"})
    assert r.status_code == 200 and r.json()["default_value"] == "5"
    assert api.get(f"/api/modules/{mid}/watermarks").json()[0]["name"] == "since"
    assert api.delete(f"/api/modules/{mid}/watermarks/since").status_code == 200

    r = api.post("/api/groups", json={"name": "nightly", "members": ["orders"]})
    assert r.status_code == 201, r.text
    gid = r.json()["id"]
    member = r.json()["members"][0]
    assert member["module"] == "orders"
    r = api.post("/api/schedules", json={"group": "nightly", "cron_expr": "0 25 * * *"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "cron_expr"]
    r = api.post("/api/schedules", json={"group": str(gid), "cron_expr": "0 2 * * *"})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    r = api.put(f"/api/schedules/{sid}", json={"enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert api.delete(f"/api/groups/members/{member['id']}").json()["members"] == []
    r = api.post(f"/api/groups/{gid}/members", json={"module": str(mid)})
    assert r.status_code == 201 and r.json()["members"][0]["module"] == "orders"

    text = api.get("/api/export")
    assert text.status_code == 200 and "orders" in text.text
    r = api.post("/api/apply", content=text.text, headers={"content-type": "application/yaml"})
    assert r.status_code == 200, r.text
    assert r.json()["changed"] is False
    r = api.post(
        "/api/apply",
        content="modules:\n  m: {strategy: 3}\n",
        headers={"content-type": "application/yaml"},
    )
    assert r.status_code == 422

    assert api.delete(f"/api/schedules/{sid}").status_code == 200
    assert api.delete(f"/api/groups/{gid}").status_code == 200
    assert api.delete(f"/api/modules/{mid}").status_code == 200
    assert api.get(f"/api/modules/{mid}").status_code == 404


def test_drivers(api: httpx.Client, tmp_path: Path) -> None:
    kinds = {d["kind"] for d in api.get("/api/drivers").json()}
    assert {"postgresql", "jdbc", "mssql"} <= kinds
    body = {
        "name": "db2i",
        "jars": ["/usr/share/java/jt400.jar"],
        "class_name": "com.ibm.as400.access.AS400JDBCDriver",
        "url_template": "jdbc:as400://{host}",
    }
    r = api.post("/api/drivers", json=body)
    assert r.status_code == 201, r.text
    assert (r.json()["origin"], r.json()["available"]) == ("registered", True)
    assert api.post("/api/drivers", json=body).status_code == 409
    bad = {**body, "name": "x", "jars": [str(tmp_path / "nope.jar")], "class_name": "nope"}
    r = api.post("/api/drivers", json=bad)
    assert r.status_code == 422
    assert {".".join(d["loc"][1:]) for d in r.json()["detail"]} == {"jars.0", "class_name"}
    assert api.delete("/api/drivers/db2i").status_code == 200
    assert api.delete("/api/drivers/db2i").status_code == 404


def test_nothing_shows_the_users_password(api: httpx.Client) -> None:
    for path in ("/api/connections", "/api/modules", "/api/export", "/openapi.json"):
        assert PASSWORD not in api.get(path).text


def test_connector_connection_and_source_table_over_http(api: httpx.Client) -> None:
    options = {"tables": {"orders": {"path": "/orders", "records": "data"}}}
    r = api.post(
        "/api/connections",
        json={"name": "shop-api", "url": "rest+https://api.example.com/v1", "options": options},
    )
    assert r.status_code == 201, r.text
    r = api.post(
        "/api/connections",
        json={"name": "db-opts", "url": "sqlite:////tmp/o.db", "options": {"a": 1}},
    )
    assert r.status_code == 422 and "only connector connections" in r.text
    api.post("/api/connections", json={"name": "wh", "url": "sqlite:////tmp/wh.db"})
    r = api.post(
        "/api/modules",
        json={"name": "api_orders", "source": "shop-api", "dest": "wh", "dest_table": "o",
              "source_table": "orders"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["source_table"] == "orders" and r.json()["source_query"] is None
    r = api.put("/api/modules/api_orders", json={"source_query": "SELECT 1 AS x"})
    assert r.status_code == 422 and "not both" in r.text
