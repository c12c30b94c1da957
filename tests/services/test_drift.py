"""Drifts between the faces (CLI, REST API) that the service layer removes.

Issue "One service layer under the CLI, the REST API and every face to come":
every drift has a test here, committed first as a strict xfail against the
code before the service layer, that passes after. Tests without an xfail mark
pin behaviour that is already right and must stay so.

The faces are exercised for real: `server` is a running `pipekit serve`,
`server.cli(...)` runs the `pipekit` command against the same state database,
and `api` is an HTTP client with Basic auth. The server is shared, so every
test makes its own objects under unique names.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from tests.helpers import Server

try:
    from pipekit.runtime.scheduler import local_zone, next_occurrence
except ImportError:  # before the scheduler moved out of the engine
    from pipekit.engine.scheduler import local_zone, next_occurrence

ROOT = Path(__file__).resolve().parents[2]


def uid() -> str:
    return uuid.uuid4().hex[:8]


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def make_source(path: Path) -> None:
    """A SQLite source database with a table `t` of three rows."""
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, updated_at TEXT)")
        db.executemany(
            "INSERT INTO t VALUES (?, ?, ?)",
            [(1, "a", "2024-01-01"), (2, "b", "2024-02-01"), (3, "c", "2024-03-01")],
        )
        db.commit()


def add_connections(api: httpx.Client, folder: Path) -> tuple[str, str]:
    """A SQLite source and a DuckDB destination, as connections; returns their names."""
    tag = uid()
    make_source(folder / f"src_{tag}.db")
    src, dst = f"zdrift_src_{tag}", f"zdrift_dst_{tag}"
    urls = {
        src: f"sqlite:///{folder / f'src_{tag}.db'}",
        dst: f"duckdb:///{folder / f'dst_{tag}.duckdb'}?create=true",
    }
    for name, url in urls.items():
        r = api.post("/api/connections", json={"name": name, "url": url})
        assert r.status_code == 201, r.text
    return src, dst


def module_fields(src: str, dst: str, **extra: object) -> dict[str, object]:
    return {
        "source": src,
        "dest": dst,
        "dest_table": "main.t",
        "source_query": "SELECT id, v, updated_at FROM t",
        "merge_strategy": "full",
        **extra,
    }


def add_module(api: httpx.Client, src: str, dst: str, **extra: object) -> dict:
    r = api.post(
        "/api/modules", json={"name": f"zdrift_m_{uid()}", **module_fields(src, dst, **extra)}
    )
    assert r.status_code == 201, r.text
    return r.json()


def add_group(api: httpx.Client, module: str) -> str:
    name = f"zdrift_g_{uid()}"
    r = api.post("/api/groups", json={"name": name, "members": [module]})
    assert r.status_code == 201, r.text
    return name


# 1. watermark removal ---------------------------------------------------------


def add_module_with_watermark(api: httpx.Client, folder: Path) -> str:
    """A module whose query uses `{since}`, with the named watermark `since`."""
    src, dst = add_connections(api, folder)
    m = add_module(
        api,
        src,
        dst,
        source_query="SELECT id, v, updated_at FROM t WHERE updated_at > {since}",
        merge_strategy="upsert",
        merge_key="id",
        watermarks={"since": {"connection": src, "resolver_sql": "SELECT '2024-01-15'"}},
    )
    return m["name"]


def watermark_names(api: httpx.Client, module: str) -> list[str]:
    r = api.get(f"/api/modules/{module}/watermarks")
    assert r.status_code == 200, r.text
    return [w["name"] for w in r.json()]


def test_cli_refuses_removing_a_watermark_the_query_uses(
    server: Server, api: httpx.Client, tmp_path: Path
) -> None:
    """Drift 1 (CLI side, right today): `pipekit watermarks rm` refuses to remove a
    watermark the module's query still uses, with one `error:` line."""
    name = add_module_with_watermark(api, tmp_path)
    r = server.cli("watermarks", "rm", name, "since")
    assert r.returncode == 1, r.stdout + r.stderr
    assert len(error_lines(r.stderr)) == 1, r.stderr
    assert watermark_names(api, name) == ["since"]


def test_api_refuses_removing_a_watermark_the_query_uses(api: httpx.Client, tmp_path: Path) -> None:
    """Drift 1: `DELETE /api/modules/M/watermarks/since` is refused like the CLI's
    `watermarks rm`: 422 naming `watermarks.since`, and the watermark stays."""
    name = add_module_with_watermark(api, tmp_path)
    r = api.delete(f"/api/modules/{name}/watermarks/since")
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["detail"]] == [["body", "watermarks", "since"]]
    assert watermark_names(api, name) == ["since"]


# 2. schedules' next fire time ---------------------------------------------------


def add_schedules(api: httpx.Client, folder: Path) -> tuple[str, int, int]:
    """A group with an enabled schedule at 03:00 and a disabled one at 04:30."""
    src, dst = add_connections(api, folder)
    group = add_group(api, add_module(api, src, dst)["name"])
    ids = []
    for cron, enabled in (("0 3 * * *", True), ("30 4 * * *", False)):
        r = api.post("/api/schedules", json={"group": group, "cron_expr": cron, "enabled": enabled})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return group, ids[0], ids[1]


def scheduler_next(cron: str, before: dt.datetime, after: dt.datetime) -> set[dt.datetime]:
    """The scheduler's next slot for `cron` seen at `before` and at `after` (they differ
    only when a slot falls between the two)."""
    tz = local_zone()
    return {next_occurrence(cron, before, tz), next_occurrence(cron, after, tz)}


def test_api_schedules_carry_the_schedulers_next_fire_time(
    api: httpx.Client, tmp_path: Path
) -> None:
    """Drift 2: schedule items of `GET /api/schedules` and `GET /api/schedules/{id}`
    carry `next_fire_at`, an ISO 8601 time with offset equal to the scheduler's next
    slot, for an enabled schedule, and null for a disabled one."""
    group, on, off = add_schedules(api, tmp_path)
    before = dt.datetime.now(dt.UTC)
    r = api.get("/api/schedules", params={"group": group})
    one_on, one_off = api.get(f"/api/schedules/{on}"), api.get(f"/api/schedules/{off}")
    after = dt.datetime.now(dt.UTC)
    assert r.status_code == 200 and one_on.status_code == 200 and one_off.status_code == 200
    items = {s["id"]: s for s in r.json()}
    assert set(items) == {on, off}
    assert items[on] == one_on.json() and items[off] == one_off.json()

    value = items[on]["next_fire_at"]
    assert isinstance(value, str), items[on]
    when = dt.datetime.fromisoformat(value)
    assert when.tzinfo is not None, value
    assert when in scheduler_next("0 3 * * *", before, after)

    assert "next_fire_at" in items[off] and items[off]["next_fire_at"] is None


def test_cli_schedules_list_json_equals_the_api(
    server: Server, api: httpx.Client, tmp_path: Path
) -> None:
    """Drift 2: `pipekit schedules list --json` prints a JSON list whose items are
    exactly the API's (same keys and values, `next_fire_at` included)."""
    group, on, off = add_schedules(api, tmp_path)
    r = server.cli("schedules", "list", "--group", group, "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    printed = json.loads(r.stdout)
    served = api.get("/api/schedules", params={"group": group}).json()
    assert [s["id"] for s in printed] == [on, off]
    assert printed == served
    assert printed[0]["next_fire_at"] is not None and printed[1]["next_fire_at"] is None


# 3. passwords never printed -------------------------------------------------------

URL_WITH_PASSWORD = "postgresql://u:hunter2@db1:99999/erp"


def test_cli_never_prints_a_password_in_a_refused_url(server: Server) -> None:
    """Drift 3: `pipekit connections add` refuses a malformed URL that holds a password
    without printing the password (stdout or stderr)."""
    r = server.cli("connections", "add", f"bad_{uid()}", URL_WITH_PASSWORD)
    assert r.returncode != 0
    assert "hunter2" not in r.stdout
    assert "hunter2" not in r.stderr


def test_api_never_echoes_a_password_in_a_refused_url(api: httpx.Client) -> None:
    """Drift 3 (API side, right today): `POST /api/connections` refuses the same URL
    without the password in the response."""
    r = api.post("/api/connections", json={"name": f"bad_{uid()}", "url": URL_WITH_PASSWORD})
    assert r.status_code == 422, r.text
    assert "hunter2" not in r.text


# 4. all-digit names -----------------------------------------------------------------


def name_locs(r: httpx.Response) -> list[list[str]]:
    detail = r.json().get("detail")
    return [e["loc"] for e in detail] if isinstance(detail, list) else []


def test_api_refuses_an_all_digit_module_name(api: httpx.Client, tmp_path: Path) -> None:
    """Drift 4: a module named only with digits is refused (`{id}` in the API's paths
    is a numeric id or a name): 422 naming `name`, for an otherwise valid module."""
    src, dst = add_connections(api, tmp_path)
    r = api.post("/api/modules", json={"name": "1", **module_fields(src, dst)})
    try:
        assert r.status_code == 422, r.text
        assert ["body", "name"] in name_locs(r)
    finally:
        if r.status_code == 201:  # today: remove it by its id, not its name
            api.delete(f"/api/modules/{r.json()['id']}")


def test_cli_refuses_an_all_digit_module_name(
    server: Server, api: httpx.Client, tmp_path: Path
) -> None:
    """Drift 4: `pipekit modules add 1 ...` (otherwise valid) exits 1 with an error line
    saying names may not be only digits."""
    src, dst = add_connections(api, tmp_path)
    args = ["--source", src, "--dest", dst, "--dest-table", "main.t"]
    r = server.cli("modules", "add", "1", *args, "--query", "SELECT id, v FROM t")
    try:
        assert r.returncode == 1, r.stdout + r.stderr
        assert any("digits" in line for line in error_lines(r.stderr)), r.stderr
    finally:
        if r.returncode == 0:
            server.cli("modules", "rm", "1", "--yes")


def test_api_refuses_an_all_digit_group_name(api: httpx.Client) -> None:
    """Drift 4: `POST /api/groups {"name": "42"}` is a 422 naming `name`."""
    r = api.post("/api/groups", json={"name": "42"})
    try:
        assert r.status_code == 422, r.text
        assert ["body", "name"] in name_locs(r)
    finally:
        if r.status_code == 201:
            api.delete(f"/api/groups/{r.json()['id']}")


def test_api_refuses_an_all_digit_connection_name(api: httpx.Client) -> None:
    """Drift 4: `POST /api/connections {"name": "7", ...}` is a 422 naming `name`."""
    r = api.post("/api/connections", json={"name": "7", "url": "sqlite:///x.db"})
    try:
        assert r.status_code == 422, r.text
        assert ["body", "name"] in name_locs(r)
    finally:
        if r.status_code == 201:
            api.delete(f"/api/connections/{r.json()['id']}")


@pytest.mark.parametrize("kind", ["connections", "groups"])
def test_cli_refuses_all_digit_connection_and_group_names(
    server: Server, tmp_path: Path, kind: str
) -> None:
    """Drift 4: `pipekit connections add 7 URL` and `pipekit groups add 42` exit 1 with
    an error line saying names may not be only digits."""
    name = "7" if kind == "connections" else "42"
    extra = [f"sqlite:///{tmp_path / 'x.db'}"] if kind == "connections" else []
    r = server.cli(kind, "add", name, *extra)
    try:
        assert r.returncode == 1, r.stdout + r.stderr
        assert any("digits" in line for line in error_lines(r.stderr)), r.stderr
    finally:
        if r.returncode == 0:
            server.cli(kind, "rm", name, *(["--yes"] if kind == "groups" else []))


def test_api_numeric_id_finds_the_object(api: httpx.Client, tmp_path: Path) -> None:
    """Drift 4 (right today): a numeric `{id}` answers the object with that id."""
    src, dst = add_connections(api, tmp_path)
    m = add_module(api, src, dst)
    g = api.get(f"/api/groups/{add_group(api, m['name'])}").json()
    c = api.get(f"/api/connections/{src}").json()
    assert api.get(f"/api/modules/{m['id']}").json()["name"] == m["name"]
    assert api.get(f"/api/groups/{g['id']}").json()["name"] == g["name"]
    assert api.get(f"/api/connections/{c['id']}").json()["name"] == src


# 5. preview has no side effects -----------------------------------------------------


def test_preview_writes_no_run(api: httpx.Client, tmp_path: Path) -> None:
    """Drift 5: `GET /api/modules/{id}/preview` answers the SQL the next run executes
    and writes nothing: no run row, no run id."""
    src, dst = add_connections(api, tmp_path)
    name = add_module(api, src, dst, merge_strategy="upsert", merge_key="id")["name"]
    r = api.get(f"/api/modules/{name}/preview")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["source_query"] and body["merge_sql"], body
    assert body.get("run_id") is None, body
    runs = api.get("/api/runs", params={"module": name})
    assert runs.status_code == 200 and runs.json() == []


# 6. no SQL in the faces -----------------------------------------------------------------

FORBIDDEN = ("sqlalchemy", "pipekit.store", "pipekit.drivers")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module `path` imports, anywhere in it (functions and TYPE_CHECKING blocks
    too), as absolute names; `from a import b` gives both `a` and `a.b`."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{a.name}") for a in node.names]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def forbidden(module: str) -> bool:
    return any(module == f or module.startswith(f"{f}.") for f in FORBIDDEN)


def test_faces_import_no_store_drivers_or_sqlalchemy() -> None:
    """Drift 6: no file of pipekit/api or pipekit/cli imports sqlalchemy, pipekit.store
    or pipekit.drivers, in any form: the faces call services only."""
    files = sorted((ROOT / "pipekit" / "api").rglob("*.py"))
    files += sorted((ROOT / "pipekit" / "cli").rglob("*.py"))
    assert len(files) > 10
    offending: dict[str, str] = {}  # one entry per import statement
    for path in files:
        for line, module in imported_modules(path):
            if forbidden(module):
                offending.setdefault(f"{path.relative_to(ROOT)}:{line}", module)
    assert offending == {}, "\n".join(f"{k}: {v}" for k, v in offending.items())


# 7. writes are all-or-nothing ----------------------------------------------------------


def fresh_home(folder: Path) -> Server:
    """A Pipekit home of its own (its state DB gets a refusing trigger), not started."""
    home = folder / "home"
    home.mkdir()
    (home / "pipekit.yaml").write_text("database: state.db\n")
    pk = Server(home, 0)
    r = pk.cli("init")
    assert r.returncode == 0, r.stdout + r.stderr
    return pk


def refuse_inserts(state_db: Path, table: str) -> None:
    """Make the state database itself refuse every INSERT into `table`."""
    with closing(sqlite3.connect(state_db)) as db:
        db.execute(
            f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'refused by test'); END;"
        )
        db.commit()


def counts(state_db: Path, *tables: str) -> dict[str, int]:
    with closing(sqlite3.connect(state_db)) as db:
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def test_apply_writes_nothing_when_the_store_refuses_a_write(tmp_path: Path) -> None:
    """Drift 7a: `pipekit apply` of two connections, a module and a group with a
    schedule, where the state database refuses the schedule, fails and leaves the
    store as it was: no connection, module, group, membership or history."""
    pk = fresh_home(tmp_path)
    make_source(tmp_path / "src.db")
    manifest = tmp_path / "deploy.yaml"
    manifest.write_text(
        f"""\
connections:
  src: {{url: "sqlite:///{tmp_path / "src.db"}"}}
  dst: {{url: "sqlite:///{tmp_path / "dst.db"}?create=true"}}
modules:
  m:
    source: src
    dest: dst
    dest_table: t
    source_query: SELECT id, v FROM t
groups:
  g: [m]
schedules:
  - {{group: g, cron: "0 3 * * *"}}
"""
    )
    state_db = pk.home / "state.db"
    refuse_inserts(state_db, "schedule")
    r = pk.cli("apply", str(manifest))
    assert r.returncode != 0, r.stdout + r.stderr
    tables = ("connection", "module", "module_history", "grp", "group_member", "schedule")
    assert counts(state_db, *tables) == dict.fromkeys(tables, 0)


def test_module_add_writes_nothing_when_the_store_refuses_its_watermark(tmp_path: Path) -> None:
    """Drift 7b (right today, by removing the module again): `pipekit modules add` with
    an inline watermark, where the state database refuses the watermark, fails and
    leaves no module and no module history."""
    pk = fresh_home(tmp_path)
    make_source(tmp_path / "src.db")
    for name, url in (("src", f"{tmp_path / 'src.db'}"), ("dst", f"{tmp_path / 'dst.db'}")):
        r = pk.cli("connections", "add", name, f"sqlite:///{url}?create=true")
        assert r.returncode == 0, r.stdout + r.stderr
    state_db = pk.home / "state.db"
    refuse_inserts(state_db, "watermark")
    r = pk.cli(
        "modules",
        "add",
        "m",
        *("--source", "src", "--dest", "dst", "--dest-table", "t"),
        *("--query", "SELECT id, v FROM t WHERE id > {since}"),
        *("--strategy", "upsert", "--merge-key", "id"),
        *("--watermark", "since:src=SELECT 1"),
    )
    assert r.returncode != 0, r.stdout + r.stderr
    assert counts(state_db, "connection", "module", "module_history", "watermark") == {
        "connection": 2,
        "module": 0,
        "module_history": 0,
        "watermark": 0,
    }
