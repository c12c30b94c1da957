"""Helpers shared by the tests: database admin connections, driver openers, the
`pipekit serve` harness, CLI assertions and run set-ups. Fixtures stay in conftest.py
files; everything a test imports by name lives here, in one module."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from typer.testing import Result

from pipekit.drivers import connect, kind_for_url
from pipekit.drivers.base import Driver
from pipekit.engine.run import Engine
from pipekit.store import Store

# ---- from tests/conftest.py
PG_ADMIN_URL = os.environ.get("PIPEKIT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


MYSQL_ADMIN_URL = os.environ.get("PIPEKIT_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test")


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def pg_parts() -> tuple[str, str]:
    """(server part of the URL without database, admin database)."""
    base, _, db = PG_ADMIN_URL.rpartition("/")
    return base, db


def pg_admin():
    import psycopg

    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # pragma: no cover - environment failure
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({exc}); run scripts/test.sh, "
            "which starts or installs it",
            pytrace=False,
        )


def mysql_admin():
    import pymysql

    from pipekit.drivers.url import parse_url

    u = parse_url(MYSQL_ADMIN_URL)
    try:
        return pymysql.connect(
            host=u.host, port=u.port or 3306, user=u.user or "root", password="", autocommit=True
        )
    except pymysql.err.OperationalError as exc:  # pragma: no cover - environment failure
        pytest.fail(
            f"MariaDB is not reachable at {MYSQL_ADMIN_URL} ({exc}); run scripts/test.sh, "
            "which starts or installs it",
            pytrace=False,
        )


# ---- from tests/drivers/conftest.py
KINDS = ("postgresql", "mysql", "sqlite", "duckdb")
#: the JDBC kinds, as sources: PostgreSQL through its jar and HSQLDB in the test's JVM
JDBC_SOURCE_KINDS = ("jdbc-postgresql", "jdbc-hsqldb")


def open_driver(kind: str, urls: dict[str, str]) -> Driver:
    user = {
        "postgresql": "postgres",
        "mysql": "root",
        "jdbc-postgresql": "postgres",
        "jdbc-hsqldb": "SA",
    }.get(kind)
    return connect(urls[kind], user=user)


class OpenedDrivers(dict):
    def __init__(self, urls: dict[str, str]) -> None:
        super().__init__()
        self._urls = urls

    def __missing__(self, kind: str) -> Driver:
        self[kind] = open_driver(kind, self._urls)
        return self[kind]


# ---- from tests/engine/conftest.py
#: every destination kind the engine is run against
RUN_KINDS = ("postgresql", "mysql", "sqlite", "duckdb")


RUN_USERS = {"postgresql": "postgres", "mysql": "root"}


#: drivers on the module's PostgreSQL and MariaDB databases, opened once per test module
SERVER_DRIVERS: dict[str, Driver] = {}


def add_connection(store: Store, name: str, url: str, **kwargs: Any) -> None:
    """Register `url` as connection `name` with the user the test servers expect."""
    store.connections.add(name, url, user=RUN_USERS.get(kind_for_url(url)), **kwargs)


@contextmanager
def open_db(url: str) -> Iterator[Driver]:
    """A driver on `url`. Server connections are slow to open (ADBC reads the type
    catalogue, PyMySQL builds an SSL context), so those stay open for the test module
    (see `run_servers`); file databases are opened and closed each time."""
    kind = kind_for_url(url)
    if kind in ("postgresql", "mysql"):
        driver = SERVER_DRIVERS.get(url)
        if driver is None:
            driver = SERVER_DRIVERS[url] = connect(url, user=RUN_USERS[kind])
        yield driver
        return
    driver = connect(url)
    try:
        yield driver
    finally:
        driver.close()


def dest_table_name(kind: str, name: str) -> str:
    """`name` in a schema where the database has schemas (``sync.name``), else bare."""
    return f"sync.{name}" if kind in ("postgresql", "duckdb") else name


def norm(value: Any) -> Any:
    """One value in a form every database returns alike: zoned timestamps as UTC wall
    time (MariaDB keeps them zone-less), decimals without trailing zeros."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, decimal.Decimal):
        return value.normalize()
    return value


def sort_rows(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """`rows` in value order, NULLs last in each column."""
    return sorted(rows, key=lambda r: tuple((True, 0) if v is None else (False, v) for v in r))


def rows_of(driver: Driver, table: str, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """Every row of `table` (the given columns, read through Arrow), normalised and sorted."""
    cols = ", ".join(driver.quote(c) for c in columns)
    data = driver.read(f"SELECT {cols} FROM {driver.table_sql(table)}").read_all()
    return sort_rows([tuple(norm(r[c]) for c in columns) for r in data.to_pylist()])


def table_rows(url: str, table: str, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    with open_db(url) as d:
        return rows_of(d, table, columns)


# ---- from tests/cli/conftest.py
Invoke = Callable[..., Result]


def tsv(output: str) -> list[list[str]]:
    """The tab-separated lines a CLI table prints when its output is piped (as
    CliRunner's is): the header, then one list of cells per row."""
    return [line.split("\t") for line in output.splitlines() if "\t" in line]


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error: ")]


def assert_clean_failure(result: Result, *fragments: str) -> str:
    """Exit code 1, exactly one `error:` line holding every fragment, no traceback."""
    assert result.exit_code == 1, result.output
    lines = error_lines(result.output)
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# ---- from tests/api/conftest.py
USER, PASSWORD = "admin", "s3cret-pw"


PIPEKIT = [sys.executable, "-m", "pipekit"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    home: Path
    port: int
    proc: subprocess.Popen | None = None
    #: the processes' working directory (None: this one's); `python -m` puts it first on
    #: sys.path, so a test running a copy of the package sets it elsewhere
    cwd: Path | None = None
    #: more options for `pipekit serve` (e.g. "--log-format", "json")
    serve_args: tuple[str, ...] = ()
    #: the certificate to trust when the server serves HTTPS (--tls-cert in serve_args)
    ca: Path | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.ca else 'http'}://127.0.0.1:{self.port}"

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What an httpx client verifies this server with."""
        return ssl.create_default_context(cafile=str(self.ca)) if self.ca else True

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PIPEKIT_CONFIG": str(self.home / "pipekit.yaml")}

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*PIPEKIT, *args],
            env=self.env,
            cwd=self.cwd,
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def start(self) -> None:
        self.port = free_port()
        log = open(self.home / "serve.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [*PIPEKIT, "serve", "--port", str(self.port), "--grace", "3", *self.serve_args],
            env=self.env,
            cwd=self.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pipekit serve exited: {(self.home / 'serve.log').read_text()}")
            try:
                health = httpx.get(f"{self.url}/health", timeout=1, verify=self.verify)
                if health.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("pipekit serve did not answer /health within 30 s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def client(self, auth: tuple[str, str] | None = (USER, PASSWORD)) -> httpx.Client:
        # The API takes JSON bodies only (CSRF, docs/security.md): a POST without a body
        # says so too, as pipekit.client does. A request's own content-type wins.
        return httpx.Client(
            base_url=self.url,
            auth=auth,
            timeout=30,
            headers={"Content-Type": "application/json"},
            verify=self.verify,
        )


# ---- from tests/store/conftest.py
def reset_pg(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


# ---- from tests/engine/test_run_behaviour.py
DDL = "CREATE TABLE {t} (id int PRIMARY KEY, v varchar(20), n int)"


COLUMNS = ["id", "v", "n"]


class Setup:
    """A source table (id, v, n) on PostgreSQL with rows 1..`rows`, connections
    ``src``/``dw`` and module ``m``."""

    def __init__(
        self,
        store: Store,
        urls: dict[str, str],
        dest_kind: str = "postgresql",
        *,
        rows: int = 5,
        query: str = "SELECT id, v, n FROM {src}",
        **config: Any,
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        self.store = store
        self.src_url, self.dest_url = urls["postgresql"], urls[dest_kind]
        self.dest_kind = dest_kind
        self.src = f"b_{tag}"
        self.dest = dest_table_name(dest_kind, f"d_{tag}")
        self.sql(DDL)
        for i in range(1, rows + 1):
            self.sql(f"INSERT INTO {{t}} VALUES ({i}, 'v{i}', {i * 10})")
        add_connection(store, "src", self.src_url)
        add_connection(store, "dw", self.dest_url)
        config.setdefault("merge_strategy", "incremental")
        config.setdefault("merge_key", "id")
        store.modules.add(
            "m",
            source="src",
            dest="dw",
            dest_table=self.dest,
            source_query=query.replace("{src}", self.src),
            **config,
        )

    def sql(self, statement: str) -> None:
        with open_db(self.src_url) as d:
            d.execute(statement.replace("{t}", d.quote(self.src)))

    def dest_sql(self, statement: str) -> None:
        with open_db(self.dest_url) as d:
            d.execute(statement.replace("{d}", d.table_sql(self.dest)))

    def run(self, **kwargs: Any) -> Any:
        return Engine(self.store).run_module("m", **kwargs)

    def source_rows(self) -> list[tuple[Any, ...]]:
        return table_rows(self.src_url, self.src, COLUMNS)

    def dest_rows(self) -> list[tuple[Any, ...]]:
        return table_rows(self.dest_url, self.dest, COLUMNS)

    def dest_exists(self) -> bool:
        with open_db(self.dest_url) as d:
            return d.table_exists(self.dest)


def ok(run: Any) -> Any:
    assert run.status == "success", run.error
    return run


# ---- from tests/api/test_runs.py
def slow_query(n: int, sleep: float) -> str:
    return (
        f"SELECT g AS id, 'v' || g AS v FROM generate_series(1, {n}) g "
        f"WHERE pg_sleep({sleep}) IS NOT NULL"
    )


def fast_query(n: int) -> str:
    return f"SELECT g AS id, 'v' || g AS v FROM generate_series(1, {n}) g"


def pg_rows(pg_url: str, table: str) -> list[tuple]:
    with psycopg.connect(pg_url) as conn:
        return conn.execute(f"SELECT id, v FROM {table} ORDER BY id").fetchall()


def add_module(api: httpx.Client, pg_url: str, query: str, **extra) -> str:
    tag = uuid.uuid4().hex[:8]
    conn = f"pg_{tag}"
    r = api.post("/api/connections", json={"name": conn, "url": pg_url})
    assert r.status_code == 201, r.text
    name = f"m_{tag}"
    r = api.post(
        "/api/modules",
        json={
            "name": name,
            "source": conn,
            "dest": conn,
            "dest_table": f"public.{name}",
            "source_query": query,
            "merge_strategy": "full",
            **extra,
        },
    )
    assert r.status_code == 201, r.text
    return name


def wait_done(api: httpx.Client, run_id: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = api.get(f"/api/runs/{run_id}").json()
        if run["status"] not in ("queued", "running"):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} still running after {timeout} s")


def wait_live(api: httpx.Client, run_id: int, needle: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        live = api.get(f"/api/runs/{run_id}/live").json()
        if needle in live["text"]:
            return
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} never appeared in run {run_id}'s live log")


# ---- a local webhook receiver (a real HTTP server on 127.0.0.1)


@contextmanager
def http_server(status: int = 200) -> Iterator[tuple[list[dict[str, Any]], str]]:
    """A threaded HTTP server answering `status` to every POST; yields the received
    requests (path, content type, JSON body) and a Slack-like webhook URL on it."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(
                {"path": self.path, "type": self.headers["Content-Type"], "json": json.loads(body)}
            )
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield received, f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/XXXX"
    finally:
        server.shutdown()
        server.server_close()


# ---- web console (tests/web): Debian's Chromium through Playwright, logins, screenshots
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: where browser tests write their screenshots (gitignored)
WEB_ARTIFACTS = Path(__file__).parent / "web" / "artifacts"


def web_login(page: Any, base_url: str, user: str = USER, password: str = PASSWORD) -> None:
    """Log `page` in through the login form and wait for the dashboard."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def csrf_of(page: Any) -> str:
    """The CSRF token of the page's session, as its forms carry it."""
    return str(page.locator("input[name=csrf_token]").first.get_attribute("value"))


def no_sideways_scroll(page: Any) -> bool:
    """True when the page is no wider than the viewport (nothing scrolls sideways)."""
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


# ---- TUI tests (tests/tui): the Textual app driven by its pilot against a real server


def tui_app(server: Server, *, password: str = PASSWORD, url: str | None = None, **kwargs: Any):
    """A `PipekitApp` on `server` (or `url`), no editor (SQL opens in the app's viewer)
    and no polling unless asked."""
    from pipekit.client import PipekitClient
    from pipekit.tui.app import PipekitApp

    client = PipekitClient(url or server.url, USER, password)
    kwargs.setdefault("poll_s", 0)
    return PipekitApp(client, **kwargs)


def in_own_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in a thread of its own (its result, or its exception
    raised here). For what runs its own asyncio loop (Textual's pilot, its snapshots):
    once a browser test ran in this worker, Playwright's sync API holds an event loop
    on the main thread, where ``asyncio.run`` refuses to start another."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = fn(*args, **kwargs)
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=getattr(fn, "__name__", "test"))
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def drive(app: Any, scenario: Callable[[Any], Any], size: tuple[int, int] = (160, 48)) -> None:
    """Run `scenario(pilot)` on `app` under Textual's pilot (in a thread of its own)."""
    import asyncio

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await scenario(pilot)

    in_own_thread(asyncio.run, main())


async def until(pilot: Any, check: Callable[[], Any], what: str, timeout: float = 30) -> None:
    """Let the app work until `check()` is true (API calls run in worker threads)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.05)


def text_of(widget: Any) -> str:
    """The plain text a Static (or Label) shows."""
    return str(widget.render())


async def showing(pilot: Any, cls: type, what: str) -> Any:
    """Wait until the app shows a screen of `cls`, composed; return it."""
    app = pilot.app
    await until(
        pilot,
        lambda: isinstance(app.screen, cls) and app.screen.is_mounted and app.screen.children,
        what,
    )
    return app.screen


# ---- JDBC: a Derby network server (a DB2-family database) for the JDBC bridge's tests

JAVA_SHARE = Path("/usr/share/java")
#: the Debian packages whose jars the JDBC tests use (scripts/test.sh installs them)
JDBC_JARS = ("derby.jar", "derbynet.jar", "derbyclient.jar", "hsqldb.jar", "postgresql.jar")


@dataclass
class DerbyServer:
    """Apache Derby's network server (derbynet.jar) on a free port, its databases in
    `home`: several processes (the test, `pipekit` commands, the server's workers)
    may open one database at once, which embedded Derby allows to one JVM only."""

    home: Path
    port: int = 0
    proc: subprocess.Popen | None = None

    def url(self, database: str, *, create: bool = False) -> str:
        tail = ";create=true" if create else ""
        return f"jdbc:derby://127.0.0.1:{self.port}/{database}{tail}"

    def start(self) -> None:
        self.port = free_port()
        jars = ":".join(
            str(JAVA_SHARE / j) for j in ("derby.jar", "derbynet.jar", "derbytools.jar")
        )
        log = open(self.home / "derby.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                "java",
                "-Xmx128m",
                f"-Dderby.system.home={self.home}",
                "-cp",
                jars,
                "org.apache.derby.drda.NetworkServerControl",
                "start",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-noSecurityManager",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Derby exited: {(self.home / 'derby.log').read_text()}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.2)
        raise RuntimeError("the Derby network server did not listen within 60 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


# ---- the fault suite (tests/server/test_faults.py): databases, flags, sessions


@contextmanager
def fresh_pg_database(prefix: str = "pk_state") -> Iterator[str]:
    """A new PostgreSQL database with a unique name (a state store, say); dropped after."""
    name = unique_name(prefix)
    with pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _ = pg_parts()
    try:
        yield f"{base}/{name}"
    finally:
        with pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flagged_sleep(flag_table: str, secs: float) -> str:
    """A SQL expression sleeping `secs` while table `flag_table` holds a row, else 0:
    the same module is slow while a test wants to kill it, and fast for the rerun."""
    return f"pg_sleep(CASE WHEN EXISTS (SELECT 1 FROM {flag_table}) THEN {secs} ELSE 0 END)"


def pg_sleeping(pg_url: str) -> int:
    """How many sessions other than this one are inside pg_sleep on `pg_url`'s database."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state = 'active' AND wait_event = 'PgSleep'"
        ).fetchone()
    return int(row[0]) if row else 0


def pg_backend_alive(pg_url: str, pid: int) -> bool:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    return bool(row and row[0])


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `check` until it is truthy (returned); AssertionError naming `what` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# ---- tests/integrations/dagster: a Pipekit folder whose state store is on PostgreSQL
#: (module, asset key) of the Dagster test site, in the `nightly` group's order
DAGSTER_MODULES = {
    "orders": ("dw", "main", "orders"),
    "broken": ("dw", "main", "broken"),
    "customers": ("dw", "main", "customers"),
}


def make_dagster_site(folder: Path, pg_url: str) -> Path:
    """A Pipekit folder for the Dagster tests; answers its config file's path.

    The state store and the `shop.orders` source are on the PostgreSQL database
    `pg_url` (the several-machines shape), `customers` comes from a SQLite file and
    everything lands in a DuckDB warehouse. Modules: `orders` (PostgreSQL, incremental
    on `updated_at`), `broken` (its query fails), `customers` (SQLite, full, check
    `no_negative`); group `nightly` runs orders, broken, customers; schedule 1 runs it
    at 02:30.
    """
    import sqlite3
    from contextlib import closing

    from pipekit.config import load_config
    from pipekit.services import Services

    config = folder / "pipekit.yaml"
    config.write_text(f"database: {pg_url}\n")
    with closing(psycopg.connect(pg_url, autocommit=True)) as pg:
        pg.execute("CREATE SCHEMA shop")
        pg.execute(
            "CREATE TABLE shop.orders (id int PRIMARY KEY, amount numeric(10,2), "
            "updated_at timestamptz NOT NULL)"
        )
        pg.execute(
            "INSERT INTO shop.orders VALUES (1, 10.50, '2026-01-01T00:00Z'), "
            "(2, 20.00, '2026-01-02T00:00Z'), (3, 30.25, '2026-01-03T00:00Z')"
        )
    with closing(sqlite3.connect(folder / "crm.db")) as lite:
        lite.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, balance REAL)")
        lite.executemany("INSERT INTO customers VALUES (?, ?)", [(1, 5.0), (2, 7.5)])
        lite.commit()
    with Services.open(load_config(config)) as sv:
        store = sv.store
        store.init()
        add_connection(store, "shop", pg_url)
        store.connections.add("crm", f"sqlite:///{folder / 'crm.db'}")
        store.connections.add("dw", f"duckdb:///{folder / 'dw.duckdb'}?create=true")
        store.modules.add(
            "orders", source="shop", dest="dw", dest_table="main.orders",
            source_query="SELECT id, amount, updated_at FROM shop.orders",
            merge_strategy="incremental", merge_key="id", watermark_column="updated_at",
        )  # fmt: skip
        store.modules.add(
            "broken", source="shop", dest="dw", dest_table="main.broken",
            source_query="SELECT x FROM shop.no_such_table",
        )  # fmt: skip
        store.modules.add(
            "customers", source="crm", dest="dw", dest_table="main.customers",
            source_query="SELECT id, balance FROM customers",
        )  # fmt: skip
        sv.checks.add("customers", "no_negative", "SELECT * FROM main.customers WHERE balance < 0")
        store.groups.add("nightly", members=list(DAGSTER_MODULES))
        sv.schedules.add("nightly", "30 2 * * *")
    return config


def duckdb_rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    """The rows of `table` in the DuckDB file `path`, sorted (read-only, closed after)."""
    import duckdb

    with duckdb.connect(str(path), read_only=True) as db:
        return sorted(db.execute(f"SELECT * FROM {table}").fetchall())


# ---- a fake REST/JSON API (a real threaded HTTP server on 127.0.0.1): connector tests, bench


class FakeApi:
    """Records served over HTTP in every pagination style the ``rest_json`` connector
    knows, behind a bearer token, filtered by ``updated_since`` (``>=``).

    Paths: ``/page`` (``page``/``per_page``), ``/offset`` (``offset``/``limit``),
    ``/cursor`` (``cursor``, ``meta.next_cursor``), ``/link`` (``Link: rel=next``),
    ``/next`` (``next`` in the body). Records are in ``data.items``. ``failures``
    maps (style, request number counted from 1 per style) to a status answered once
    (429 with ``Retry-After: 7``); ``broken`` maps (style, page number) to a status
    answered every time. ``on_request(style, n)`` runs before each answer (a test
    may cancel there). ``server_seconds`` adds up the time spent answering.
    """

    STYLES = ("page", "offset", "cursor", "link", "next")

    def __init__(
        self, records: list[dict[str, Any]], token: str | None = "t0k3n-S3CRET-42"
    ) -> None:
        self.records = records
        self.token = token
        self.failures: dict[tuple[str, int], int] = {}
        self.broken: dict[tuple[str, int], int] = {}
        self.on_request: Callable[[str, int], None] | None = None
        self.seen: list[str] = []
        self.counts: dict[str, int] = {}
        self.server_seconds = 0.0
        #: how the token must come: bearer, header (X-API-Key), query (api_key), basic (etl)
        self.auth = "bearer"
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                started = time.perf_counter()
                try:
                    status, headers, body = api._answer(self.path, self.headers)
                    data = json.dumps(body).encode()
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    # the server's own time: building, encoding and writing the answer
                    with api._lock:
                        api.server_seconds += time.perf_counter() - started

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _authorized(self, q: dict[str, str], headers: Any) -> bool:
        import base64

        if self.auth == "header":
            return headers.get("X-API-Key") == self.token
        if self.auth == "query":
            return q.get("api_key") == self.token
        if self.auth == "basic":
            pair = base64.b64encode(f"etl:{self.token}".encode()).decode()
            return headers.get("Authorization") == f"Basic {pair}"
        return headers.get("Authorization") == f"Bearer {self.token}"

    def _answer(self, raw: str, headers: Any) -> tuple[int, dict[str, str], Any]:
        from urllib.parse import parse_qs, urlencode, urlsplit

        parts = urlsplit(raw)
        style = parts.path.strip("/").split("/")[-1]
        q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.seen.append(raw)
        with self._lock:
            n = self.counts[style] = self.counts.get(style, 0) + 1
        if self.on_request is not None:
            self.on_request(style, n)
        if self.token is not None and not self._authorized(q, headers):
            return 401, {}, {"error": "unauthorized"}
        once = self.failures.pop((style, n), None)
        if once is not None:
            return once, ({"Retry-After": "7"} if once == 429 else {}), {"error": "try later"}
        since = q.get("updated_since")
        rows = self.records
        if since:
            if since.isdigit():
                since = dt.datetime.fromtimestamp(int(since), dt.UTC).isoformat()
            bound = dt.datetime.fromisoformat(since.replace("Z", "+00:00"))
            if bound.tzinfo is None:  # a day, or a time without its zone: UTC
                bound = bound.replace(tzinfo=dt.UTC)
            rows = [r for r in rows if dt.datetime.fromisoformat(r["updated_at"]) >= bound]
        size = int(q.get("per_page") or q.get("limit") or q.get("size") or 100)
        if style == "page":
            start = (int(q.get("page", "1")) - 1) * size
        elif style == "offset":
            start = int(q.get("offset", "0"))
        else:
            start = int(q.get("cursor") or q.get("at") or 0)
        page_no = start // size + 1
        status = self.broken.get((style, page_no))
        if status is not None:
            return status, {}, {"error": "broken page"}
        chunk = rows[start : start + size]
        more = start + size < len(rows)
        body: dict[str, Any] = {"data": {"items": chunk}, "meta": {}}
        out: dict[str, str] = {}
        nxt = {**q, "at": str(start + size), "size": str(size)}
        nxt.pop("cursor", None)
        if style == "cursor":
            body["meta"]["next_cursor"] = str(start + size) if more else None
        elif style == "link" and more:
            out["Link"] = f'<{self.base}/link?{urlencode(nxt)}>; rel="next"'
        elif style == "next":
            body["next"] = f"/next?{urlencode(nxt)}" if more else None
        return 200, out, body


def api_record(i: int, updated: dt.datetime) -> dict[str, Any]:
    """One record of the fake API: nested objects, a list, oddly named keys."""
    return {
        "id": i,
        "updated_at": updated.isoformat(),
        "customer": {"name": f"Zoë {i}", "address": {"city": "Brno", "zip": None}},
        "tags": ["a", f"t{i % 3}"],
        "Prénom Client": f"Chloé {i}",
        "2nd qty": i * 2,
        "amount": i + 0.5,
    }
