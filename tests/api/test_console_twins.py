"""The JSON twins of the web console's pages: the dashboard, the filtered module list,
keyset run pages, a module's column map, the notification settings. Each answers what
its page shows (the same service call)."""

from __future__ import annotations

import re

import httpx

from tests.helpers import PASSWORD, USER, Server, add_module, fast_query, wait_done


def _logged_in(server: Server) -> httpx.Client:
    c = httpx.Client(base_url=server.url)
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)  # type: ignore[union-attr]
    assert c.post("/login", data={"username": USER, "password": PASSWORD, "csrf_token": token})
    return c


def _page(server: Server, path: str) -> str:
    web = _logged_in(server)
    try:
        return web.get(path).text
    finally:
        web.close()


def test_dashboard_twin_shows_the_failure_the_page_shows(
    server: Server, api: httpx.Client, pg_url: str
) -> None:
    name = add_module(api, pg_url, "SELECT 1/0 AS id")
    run_id = api.post(f"/api/modules/{name}/run").json()["run_id"]
    assert wait_done(api, run_id)["status"] == "error"
    d = api.get("/api/dashboard", params={"days": 3}).json()
    assert run_id in [r["id"] for r in d["failures"]]
    assert len(d["days"]) == 3 and d["days"][-1]["failed"] >= 1
    page = _page(server, "/")
    for r in d["failures"]:
        assert f'href="/runs/{r["id"]}"' in page
    assert api.get("/api/dashboard", params={"days": 0}).status_code == 422


def test_module_filters_and_run_keyset_pages(
    server: Server, api: httpx.Client, pg_url: str
) -> None:
    name = add_module(api, pg_url, fast_query(3))
    never = api.get("/api/modules", params={"status": "never", "q": name}).json()
    assert [m["name"] for m in never] == [name]
    runs = [api.post(f"/api/modules/{name}/run").json()["run_id"]]
    wait_done(api, runs[0])
    runs.append(api.post(f"/api/modules/{name}/run").json()["run_id"])
    wait_done(api, runs[1])
    assert api.get("/api/modules", params={"status": "never", "q": name}).json() == []
    ok = api.get("/api/modules", params={"status": "success", "q": name}).json()
    assert [m["name"] for m in ok] == [name]
    assert api.get("/api/modules", params={"status": "sleepy"}).status_code == 422
    first = api.get("/api/runs", params={"module": name, "limit": 1}).json()
    second = api.get(
        "/api/runs", params={"module": name, "limit": 1, "before": first[0]["id"]}
    ).json()
    assert [first[0]["id"], second[0]["id"]] == list(reversed(runs))
    page = _page(server, f"/runs?module={name}")
    assert all(f'href="/runs/{i}"' in page for i in runs)
    cmap = api.get(f"/api/modules/{name}/columns").json()
    assert [c["dest"] for c in cmap["columns"]] == ["id", "v"] and cmap["error"] is None


def test_notification_settings_twin(api: httpx.Client) -> None:
    view = api.get("/api/settings/notifications").json()
    assert view["email_enabled"] is False and view["webhook_enabled"] is False
    r = api.post("/api/settings/notifications/test")
    assert r.status_code == 422
    assert "notify.webhook_url" in r.text
