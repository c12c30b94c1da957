"""The operator's flows in a real browser against a real `pipekit serve`, with real
PostgreSQL, MariaDB, SQLite and DuckDB behind: connections (add and test), the wizard
from a PostgreSQL table to a saved module, a run whose live log reaches success, a long
run cancelled from the page (destination unchanged), an inline watermark edit, a group
reordered, a failure on the dashboard."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
from playwright.sync_api import expect

from tests.helpers import (
    Server,
    add_module,
    fast_query,
    pg_rows,
    slow_query,
    wait_done,
    wait_live,
)


def tag() -> str:
    return uuid.uuid4().hex[:8]


def add_connection_in_form(page: Any, server: Server, name: str, url: str, user: str = "") -> None:
    page.goto(f"{server.url}/connections/new")
    page.fill("input[name=name]", name)
    page.fill("input[name=url]", url)
    page.fill("input[name=username]", user)
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(rf".*/connections/{name}\?added=1$"))


def test_add_connections_of_every_kind_and_test_them(
    page: Any, server: Server, pg_url: str, mysql_url: str, tmp_path: Path, shots: Any,
    console: Any, api: httpx.Client,
) -> None:  # fmt: skip
    t = tag()
    kinds = {
        "postgresql": (pg_url, "postgres"),
        "mysql": (mysql_url, "root"),
        "sqlite": (f"sqlite:///{tmp_path / 'w.sqlite'}?create=true", ""),
        "duckdb": (f"duckdb:///{tmp_path / 'w.duckdb'}?create=true", ""),
    }
    for kind, (url, user) in kinds.items():
        name = f"{kind}_{t}"
        add_connection_in_form(page, server, name, url, user)
        page.click("button:has-text('Test connection')")
        probe = page.locator("#probe .probe-ok")
        expect(probe).to_contain_text(f"Connected: {kind}")
        expect(probe).to_contain_text(" ms")
        if kind == "postgresql":
            shots(page, "connection")
        assert api.get(f"/api/connections/{name}").json()["url"].startswith(kind[:4])
    # a connection that refuses shows why, on the list page too
    add_connection_in_form(page, server, f"dead_{t}", "postgresql://postgres@127.0.0.1:1/x")
    page.click("button:has-text('Test connection')")
    expect(page.locator("#probe .probe-failed")).to_be_visible()
    page.goto(f"{server.url}/connections")
    shots(page, "connections")
    # a literal password is refused, with what to do, and nothing is stored
    console.expect(422)
    page.goto(f"{server.url}/connections/new")
    page.fill("input[name=name]", f"lit_{t}")
    page.fill("input[name=url]", pg_url)
    page.fill("input[name=password]", "hunter2")
    page.click("button:has-text('Save')")
    expect(page.locator(".errors")).to_contain_text("secret reference")
    assert "hunter2" not in page.inner_text("main")
    assert api.get(f"/api/connections/lit_{t}").status_code == 404


def test_wizard_from_a_postgresql_table_to_a_run_that_succeeds(
    page: Any, server: Server, pg_url: str, mysql_url: str, api: httpx.Client, shots: Any
) -> None:
    t = tag()
    table = f"orders_{t}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            f'CREATE TABLE public.{table} (id int PRIMARY KEY, "CUST#" char(8), '
            "amount numeric(12,2), updated_at timestamptz)"
        )
        conn.execute(
            f"INSERT INTO public.{table} SELECT g, 'c' || g, g * 1.5, now() "
            "FROM generate_series(1, 300) g"
        )
    for name, url, user in ((f"src_{t}", pg_url, "postgres"), (f"dw_{t}", mysql_url, "root")):
        assert api.post(
            "/api/connections", json={"name": name, "url": url, "user": user}
        ).is_success

    page.goto(f"{server.url}/modules/new")
    page.select_option("select[name=source]", f"src_{t}")
    page.select_option("select[name=dest]", f"dw_{t}")
    page.click("button:has-text('Next')")
    page.select_option("select[name=schema]", "public")
    page.click("button:has-text('Browse tables')")
    page.fill("input[type=search]", t)
    row = page.locator("#table-list tbody tr:not(.hidden)")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(table)
    shots(page, "wizard-tables")
    row.locator("a:has-text('Propose')").click()
    query = page.locator("textarea[name=source_query]")
    expect(query).to_contain_text("RTRIM")
    expect(query).to_contain_text('"CUST#"')
    assert page.input_value("input[name=merge_key]") == "id"
    expect(page.locator("main")).to_contain_text("CREATE TABLE")
    shots(page, "wizard-proposal")
    module = f"orders_{t}"
    page.fill("input[name=name]", module)
    page.fill("input[name=dest_table]", f"orders_{t}")
    page.click("button:has-text('Save module')")
    page.wait_for_url(re.compile(r".*/modules/\d+\?created=1$"))
    expect(page.locator("h1")).to_contain_text(module)
    expect(page.locator("#preview")).to_contain_text("Source SQL")
    shots(page, "module")

    page.click("button:has-text('Run now')")
    page.wait_for_url(re.compile(r".*/runs/\d+(\?.*)?$"))
    expect(page.locator("#run-status")).to_contain_text("success", timeout=60_000)
    expect(page.locator("#log")).not_to_be_empty()
    expect(page.locator("#run-counts")).to_contain_text("300")
    shots(page, "run")
    run_id = int(re.search(r"/runs/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    run = api.get(f"/api/runs/{run_id}").json()
    assert run["status"] == "success" and run["row_count"] == 300
    assert run["live_log"].strip() in page.inner_text("#log").strip()


def test_a_long_run_cancelled_from_the_page_leaves_the_destination(
    page: Any, server: Server, pg_url: str, api: httpx.Client, shots: Any
) -> None:
    name = add_module(api, pg_url, fast_query(5))
    first = api.post(f"/api/modules/{name}/run").json()["run_id"]
    assert wait_done(api, first)["status"] == "success"
    before = pg_rows(pg_url, f"public.{name}")
    assert api.put(f"/api/modules/{name}", json={"source_query": slow_query(3000, 0.01)}).is_success

    page.goto(f"{server.url}/modules/{name}")
    page.click("button:has-text('Run now')")
    page.wait_for_url(re.compile(r".*/runs/\d+$"))
    run_id = int(re.search(r"/runs/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    wait_live(api, run_id, "staging")
    expect(page.locator("#log")).to_contain_text("staging")  # the live log streams in
    shots(page, "run-live")
    page.click("button:has-text('Cancel run')")
    expect(page.locator("#run-status")).to_contain_text("cancelled", timeout=60_000)
    assert api.get(f"/api/runs/{run_id}").json()["status"] == "cancelled"
    assert pg_rows(pg_url, f"public.{name}") == before


def test_an_admin_unlocks_a_module_from_its_page(
    page: Any, server: Server, pg_url: str, api: httpx.Client
) -> None:
    name = add_module(api, pg_url, fast_query(5))
    assert wait_done(api, api.post(f"/api/modules/{name}/run").json()["run_id"])
    before = pg_rows(pg_url, f"public.{name}")
    page.goto(f"{server.url}/modules/{name}")
    assert page.locator("button:has-text('Unlock')").count() == 0  # not locked: no button
    assert api.put(f"/api/modules/{name}", json={"source_query": slow_query(3000, 0.01)}).is_success
    run_id = api.post(f"/api/modules/{name}/run").json()["run_id"]
    wait_live(api, run_id, "staging")
    page.goto(f"{server.url}/modules/{name}")
    page.click("button:has-text('Unlock')")  # asks first; the fixture accepts
    expect(page.locator(".flash")).to_contain_text(f"held by run {run_id}")
    assert "running" not in page.locator("h1").inner_text()
    done = wait_done(api, run_id)
    assert done["status"] == "error" and "interrupted" in (done["error"] or ""), done
    assert api.get(f"/api/modules/{name}").json()["running"] is False
    assert pg_rows(pg_url, f"public.{name}") == before


def test_edit_a_watermark_inline(
    page: Any, server: Server, pg_url: str, api: httpx.Client, shots: Any, console: Any
) -> None:
    name = add_module(api, pg_url, fast_query(10))
    page.goto(f"{server.url}/modules/{name}/edit")
    # the query starts using {since} and the same save adds its row
    page.fill(
        "textarea[name=source_query]",
        "SELECT g AS id, 'v' || g AS v FROM generate_series(1, 10) g WHERE g > {since}",
    )
    warnings = page.locator("[data-wm-warnings]")
    expect(warnings).to_contain_text("uses {since} but no watermark row")
    page.click("button:has-text('Add watermark')")
    row = page.locator(".wm-row").last
    row.locator("input[name=wm_name]").fill("since")
    row.locator("textarea[name=wm_resolver_sql]").fill("SELECT 3")
    row.locator("input[name=wm_default_value]").fill("0")
    expect(warnings).to_be_hidden()
    shots(page, "module-edit")
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(r".*/modules/\d+\?saved=.*"))
    marks = api.get(f"/api/modules/{name}/watermarks").json()
    assert [(w["name"], w["resolver_sql"], w["default_value"]) for w in marks] == [
        ("since", "SELECT 3", "0")
    ]
    expect(page.locator("main")).to_contain_text("{since}")

    # edit it inline; then try to delete it while the query uses it: refused, unchanged
    page.goto(f"{server.url}/modules/{name}/edit")
    page.locator(".wm-row textarea[name=wm_resolver_sql]").first.fill("SELECT 5")
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(r".*/modules/\d+\?saved=.*"))
    assert api.get(f"/api/modules/{name}/watermarks").json()[0]["resolver_sql"] == "SELECT 5"
    console.expect(422)
    page.goto(f"{server.url}/modules/{name}/edit")
    page.select_option(".wm-row select[name=wm_action]", "delete")
    expect(warnings).to_contain_text("uses {since}")
    page.click("button:has-text('Save')")
    expect(page.locator(".errors")).to_contain_text("since")
    assert [w["name"] for w in api.get(f"/api/modules/{name}/watermarks").json()] == ["since"]


def test_reorder_a_group_and_run_it(
    page: Any, server: Server, pg_url: str, api: httpx.Client, shots: Any
) -> None:
    a, b, c = (add_module(api, pg_url, fast_query(n)) for n in (1, 2, 3))
    group = f"g_{tag()}"
    assert api.post("/api/groups", json={"name": group, "members": [a, b, c]}).is_success
    page.goto(f"{server.url}/groups/{group}")
    rows = page.locator("#members tbody tr")
    page.click(f"button[aria-label='Move {c} up']")
    expect(rows.nth(1)).to_contain_text(c)  # a, c, b
    page.click(f"button[aria-label='Move {a} down']")
    expect(rows.first).to_contain_text(c)  # c, a, b
    members = api.get(f"/api/groups/{group}").json()["members"]
    assert [m["module"] for m in members] == [c, a, b]
    shots(page, "group")
    page.click("button:has-text('Run group now')")
    page.wait_for_url(re.compile(r".*/group-runs/\d+$"))
    gid = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("#members tbody tr")).to_have_count(3, timeout=60_000)
    detail = api.get(f"/api/group-runs/{gid}").json()
    assert [r["module_name"] for r in detail["runs"]][:1] == [c]
    page.goto(f"{server.url}/groups")
    shots(page, "groups")


def test_a_failure_shows_on_the_dashboard(
    page: Any, server: Server, pg_url: str, api: httpx.Client, shots: Any
) -> None:
    name = add_module(api, pg_url, "SELECT 1/0 AS id")
    run_id = api.post(f"/api/modules/{name}/run").json()["run_id"]
    assert wait_done(api, run_id)["status"] == "error"
    page.goto(f"{server.url}/")
    failures = page.locator("#failures")
    expect(failures).to_contain_text(name)
    expect(failures).to_contain_text("division by zero")
    failures.locator(f"a[href='/runs/{run_id}']").click()
    expect(page.locator("main")).to_contain_text("division by zero")
    page.goto(f"{server.url}/runs?status=error&module={name}")
    expect(page.locator("#run-list tbody tr")).to_have_count(1)
    shots(page, "runs")
