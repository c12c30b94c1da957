"""Issue 17's attacks on files and secrets, replayed through a real `pipekit serve`.

A user with API credentials tried to read the secrets file, /etc/passwd and
/proc/self/environ through DuckDB SQL (a watermark resolver, a check), the users'
password hashes through a sqlite: connection to the state database, and to write
files with a hook's COPY. Each attempt must be refused with a clear error, and
nothing read (no secret in any run record, live log or response), written or
changed. Then a secret value that appears in a query's text or its error must be
masked everywhere.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipekit.store import Store
from tests.helpers import PASSWORD, USER, Server, wait_done

FILE_SECRET = "Fil3-Secret-Value-7731"
ENV_SECRET = "Env-Secret-Value-5519"
ENV_VAR = "PIPEKIT_TEST_ENV_SECRET"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home: Path = tmp_path_factory.mktemp("attacks")
    (home / "data").mkdir()
    (home / "pipekit.yaml").write_text(
        "database: state.db\n"
        "max_concurrent_runs: 2\n"
        "files:\n  allowed_directories: [data]\n"
        "api:\n  max_request_bytes: 1000000\n"
    )
    secrets = home / "secrets.env"
    secrets.write_text(f"WAREHOUSE_PW={FILE_SECRET}\n")
    secrets.chmod(0o600)
    con = sqlite3.connect(home / "data" / "shop.db")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [(1, "a"), (2, "b")])
    con.commit()
    con.close()
    before = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = ENV_SECRET  # the server inherits it
    srv = Server(home, 0)
    try:
        assert srv.cli("init").returncode == 0
        assert srv.cli("set-password", USER, input=PASSWORD + "\n").returncode == 0
        srv.start()
        yield srv
    finally:
        srv.stop()
        if before is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = before


@pytest.fixture(scope="module")
def api(live: Server) -> Iterator[httpx.Client]:
    with live.client() as c:
        yield c


@pytest.fixture(scope="module")
def conns(api: httpx.Client, live: Server) -> dict[str, str]:
    data = live.home / "data"
    names = {"shop": f"sqlite:///{data / 'shop.db'}", "wh": f"duckdb:///{data / 'wh.duckdb'}"}
    r = api.post("/api/connections", json={"name": "shop", "url": names["shop"]})
    assert r.status_code == 201, r.text
    r = api.post(
        "/api/connections",
        json={"name": "wh", "url": names["wh"] + "?create=true", "password": "$WAREHOUSE_PW"},
    )
    assert r.status_code == 201, r.text
    scratch = f"duckdb:///{data / 'scratch.duckdb'}?create=true"
    assert api.post("/api/connections", json={"name": "scratch", "url": scratch}).is_success
    return names


def _module(api: httpx.Client, query: str = "SELECT id, v FROM t", **extra: Any) -> str:
    name = f"m_{uuid.uuid4().hex[:8]}"
    spec = {
        "name": name,
        "source": "shop",
        "dest": "wh",
        "dest_table": name,
        "source_query": query,
        "merge_strategy": "full",
        **extra,
    }
    r = api.post("/api/modules", json=spec)
    assert r.status_code == 201, r.text
    return name


def _run(api: httpx.Client, module: str) -> dict[str, Any]:
    r = api.post(f"/api/modules/{module}/run")
    assert r.status_code == 202, r.text
    run = wait_done(api, r.json()["run_id"])
    run["live_log"] = api.get(f"/api/runs/{run['id']}/live").json()["text"]
    return run


def _everything(api: httpx.Client, live: Server, run: dict[str, Any]) -> str:
    """Every place a run's text shows: the API's record, the runs list, the live log,
    `pipekit runs show` (text and JSON) and the server's own log."""
    shown = [
        repr(run),
        api.get(f"/api/runs/{run['id']}").text,
        api.get("/api/runs").text,
        api.get(f"/api/runs/{run['id']}/live").text,
        live.cli("runs", "show", str(run["id"])).stdout,
        live.cli("runs", "show", str(run["id"]), "--json").stdout,
        (live.home / "serve.log").read_text(errors="replace"),
    ]
    return "\n".join(shown)


# -- containment -----------------------------------------------------------------------


def test_a_watermark_resolver_cannot_read_the_secrets_file(
    api: httpx.Client, live: Server, conns: dict[str, str]
) -> None:
    secrets = live.home / "secrets.env"
    resolver = {
        "connection": "scratch",
        "resolver_sql": f"SELECT content FROM read_text('{secrets}')",
    }
    module = _module(api, "SELECT id, v FROM t WHERE v <> {leak}", watermarks={"leak": resolver})
    run = _run(api, module)
    assert run["status"] == "error"
    assert "disabled by configuration" in run["error"], run["error"]
    assert FILE_SECRET not in _everything(api, live, run)


@pytest.mark.parametrize(
    ("target", "content"), [("/proc/self/environ", ENV_SECRET), ("/etc/passwd", "root:")]
)
def test_a_check_cannot_read_server_files(
    api: httpx.Client, live: Server, conns: dict[str, str], target: str, content: str
) -> None:
    module = _module(api)
    r = api.post(
        f"/api/modules/{module}/checks",
        json={"name": "peek", "sql": f"SELECT content FROM read_text('{target}')"},
    )
    assert r.status_code == 201, r.text
    run = _run(api, module)
    assert run["status"] == "error"
    assert "disabled by configuration" in run["error"], run["error"]
    assert content not in _everything(api, live, run)
    assert api.get(f"/api/modules/{module}").json()["name"] == module  # nothing else changed


def test_a_hook_cannot_write_a_file_outside_the_allowed_folders(
    api: httpx.Client, live: Server, conns: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "written_by_hook.csv"
    module = _module(api)
    r = api.post("/api/hooks", json={"module": module, "sql": f"COPY (SELECT 1) TO '{target}'"})
    assert r.status_code == 201, r.text
    run = _run(api, module)
    assert run["status"] == "error" and "hook" in run["error"], run["error"]
    assert "disabled by configuration" in run["error"]
    assert not target.exists()


@pytest.mark.parametrize("which", ["state.db", "secrets.env", "pipekit.yaml", "../outside.db"])
def test_a_connection_to_a_protected_or_outside_file_is_refused_and_not_stored(
    api: httpx.Client, live: Server, which: str
) -> None:
    path = (live.home / "data" / which) if which.startswith("..") else live.home / which
    for kind in ("sqlite", "duckdb"):
        name = f"bad_{kind}_{uuid.uuid4().hex[:6]}"
        r = api.post("/api/connections", json={"name": name, "url": f"{kind}:///{path}"})
        assert r.status_code == 422, r.text
        detail = r.json()["detail"][0]
        assert detail["type"] == "PathNotAllowedError" and detail["loc"] == ["body", "url"]
        assert "keeps to itself" in detail["msg"] or "allowed_directories" in detail["msg"]
        assert api.get(f"/api/connections/{name}").status_code == 404
    r = api.put("/api/connections/shop", json={"url": f"sqlite:///{path}"})
    assert r.status_code == 422, r.text
    assert api.get("/api/connections/shop").json()["url"].endswith("data/shop.db")
    assert not (live.home / "outside.db").exists()


def test_apply_cannot_point_a_connection_at_the_state_database(
    api: httpx.Client, live: Server
) -> None:
    text = f"connections:\n  sneaky:\n    url: sqlite:///{live.home / 'state.db'}\n"
    r = api.post("/api/apply", content=text, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 422, r.text
    assert "keeps to itself" in r.text
    assert api.get("/api/connections/sneaky").status_code == 404


def test_an_old_connection_row_is_refused_when_it_is_opened(
    api: httpx.Client, live: Server, conns: dict[str, str]
) -> None:
    # written before containment existed (straight into the store, as an old row or a
    # restored backup would be): refused when opened, not only when created
    with Store.open(live.home / "state.db") as store:
        store.connections.add("legacy", f"sqlite:///{live.home / 'state.db'}")
    r = api.post("/api/connections/legacy/test")
    assert r.status_code == 200 and r.json()["ok"] is False, r.text
    assert "keeps to itself" in r.json()["error"]
    r = api.post(
        "/api/modules",
        json={
            "name": "hashes",
            "source": "legacy",
            "dest": "wh",
            "dest_table": "hashes",
            "source_query": "SELECT name, password_hash FROM users",
            "merge_strategy": "full",
        },
    )
    assert r.status_code == 201, r.text
    run = _run(api, "hashes")
    assert run["status"] == "error" and "keeps to itself" in run["error"], run["error"]
    assert "$argon2" not in _everything(api, live, run) and "$2b$" not in run["live_log"]


# -- masking --------------------------------------------------------------------------


def test_a_secret_value_in_a_query_is_masked_in_every_record(
    api: httpx.Client, live: Server, conns: dict[str, str]
) -> None:
    module = _module(api, f"SELECT id, '{FILE_SECRET}' AS v FROM t")
    run = _run(api, module)
    assert run["status"] == "success", run["error"]
    shown = _everything(api, live, run)
    assert FILE_SECRET not in shown
    assert "'***' AS v" in (run["source_query"] or "")


def test_a_secret_value_in_an_error_is_masked_in_every_answer(
    api: httpx.Client, live: Server, conns: dict[str, str]
) -> None:
    module = _module(api, f'SELECT id, v FROM "{FILE_SECRET}"')
    run = _run(api, module)
    assert run["status"] == "error" and "no such table" in run["error"], run["error"]
    assert FILE_SECRET not in _everything(api, live, run)
    # the preview (an API error answer, not a run record) masks it too
    r = api.get(f"/api/modules/{module}/preview")
    assert FILE_SECRET not in r.text


def test_an_environment_secret_a_connection_refers_to_is_masked(
    api: httpx.Client, live: Server, conns: dict[str, str]
) -> None:
    r = api.post(
        "/api/connections",
        json={"name": "shop_env", "url": conns["shop"], "password": f"${ENV_VAR}"},
    )
    assert r.status_code == 201, r.text
    name = f"m_{uuid.uuid4().hex[:8]}"
    r = api.post(
        "/api/modules",
        json={
            "name": name,
            "source": "shop_env",
            "dest": "wh",
            "dest_table": name,
            "source_query": f"SELECT id, '{ENV_SECRET}' AS v FROM t",
            "merge_strategy": "full",
        },
    )
    assert r.status_code == 201, r.text
    run = _run(api, name)
    assert run["status"] == "success", run["error"]
    assert ENV_SECRET not in _everything(api, live, run)
