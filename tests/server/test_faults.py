"""The fault suite (issue 17): runs and locks survive crashes and several servers.

Every case uses real processes and real databases: ``pipekit serve`` (tests/helpers.py
``Server``) killed with SIGKILL, PostgreSQL as the state store (the store several
servers share) and as source and destination, ``pg_terminate_backend`` on a run's own
sessions. Slow steps come from ``pg_sleep`` switched on by a flag table, so the same
module is slow while a test kills it and fast for the rerun. Leases and schedule slots
are judged by injected clocks: no test waits for a lease to expire.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from pipekit.engine.run import Engine
from pipekit.errors import ModuleBusyError
from pipekit.runtime.scheduler import Scheduler
from pipekit.store import Store
from pipekit.store.runs import Lease
from tests.helpers import (
    PASSWORD,
    USER,
    Server,
    add_module,
    fast_query,
    flagged_sleep,
    fresh_pg_database,
    pg_backend_alive,
    pg_rows,
    pg_sleeping,
    unique_name,
    wait_done,
    wait_live,
    wait_until,
)

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def state_url() -> Iterator[str]:
    """A PostgreSQL state store of this test's own, initialised."""
    with fresh_pg_database() as url:
        with Store.open(url) as store:
            store.init()
        yield url


def start_server(home: Path, state_url: str, **settings: Any) -> Server:
    settings = {"database": state_url, "max_concurrent_runs": 1, **settings}
    lines = [f"{key}: {json.dumps(value)}" for key, value in settings.items()]
    (home / "pipekit.yaml").write_text("\n".join(lines) + "\n")
    srv = Server(home, 0)
    r = srv.cli("set-password", USER, input=f"{PASSWORD}\n")
    assert r.returncode == 0, r.stderr
    srv.start()
    return srv


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


def flag(pg_url: str, on: bool) -> str:
    """The flag table that makes `flagged_sleep` sleep (created empty on first use)."""
    name = "pk_fault_flag"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {name} (on_ int)")
        conn.execute(f"DELETE FROM {name}")
        if on:
            conn.execute(f"INSERT INTO {name} VALUES (1)")
    return name


def state_row(state_url: str, sql: str, *args: Any) -> tuple[Any, ...]:
    with psycopg.connect(state_url) as conn:
        row = conn.execute(sql, args).fetchone()
    assert row is not None
    return tuple(row)


def expected(n: int) -> list[tuple[int, str]]:
    return [(i, f"v{i}") for i in range(1, n + 1)]


# -- kill -9 of the server with one run going and nine queued ------------------------------


def test_kill_9_of_the_server_keeps_the_queue_and_interrupts_the_run_going(
    home: Path, state_url: str, pg_url: str
) -> None:
    srv = start_server(home, state_url)
    try:
        with srv.client() as api:
            slow_flag = flag(pg_url, True)
            query = fast_query(20).replace(
                "FROM generate_series(1, 20) g",
                f"FROM generate_series(1, 20) g WHERE {flagged_sleep(slow_flag, 2)} IS NOT NULL",
            )
            slow = add_module(api, pg_url, query)
            fast = [add_module(api, pg_url, fast_query(3 + i)) for i in range(9)]
            going = api.post(f"/api/modules/{slow}/run").json()["run_id"]
            wait_live(api, going, "staging the rows")
            wait_until(lambda: pg_sleeping(pg_url), 30, "the slow source query")
            queued = []
            for name in fast:
                r = api.post(f"/api/modules/{name}/run")
                assert r.status_code == 202, r.text
                queued.append(r.json()["run_id"])
            assert {api.get(f"/api/runs/{i}").json()["status"] for i in queued} == {"queued"}
            assert api.get("/api/runs", params={"status": "queued"}).status_code == 200
        srv.stop(signal.SIGKILL)
        # The worker dies with its server; its PostgreSQL session goes with it.
        sessions = state_row(state_url, "SELECT sessions_json FROM run_log WHERE id = %s", going)
        pids = [int(s["session"].split("@")[0]) for s in json.loads(sessions[0])]
        assert len(pids) >= 2  # source and destination (and a binary copy's side sessions)
        wait_until(
            lambda: not any(pg_backend_alive(pg_url, p) for p in pids), 30, "sessions to end"
        )
        assert state_row(state_url, "SELECT count(*) FROM run_queue") == (9,)
        flag(pg_url, False)

        log_start = (home / "serve.log").stat().st_size
        srv = start_server(
            home, state_url, max_concurrent_runs=3, **{"scheduler": {"enabled": False}}
        )
        with srv.client() as api:
            done = [wait_done(api, i, timeout=120) for i in queued]
            assert [d["status"] for d in done] == ["success"] * 9, [d["error"] for d in done]
            # claimed first in, first out: the server logs each run as it claims it
            log = (home / "serve.log").read_text()[log_start:]
            claimed = [int(m) for m in re.findall(r"run (\d+) started: module", log)]
            assert claimed == queued, log
            for name, n in zip(fast, range(9), strict=True):
                assert pg_rows(pg_url, f"public.{name}") == expected(3 + n)
                runs = api.get("/api/runs", params={"module": name}).json()
                assert len(runs) == 1  # each exactly once
            killed = api.get(f"/api/runs/{going}").json()
            assert (killed["status"], killed["error"]) == ("error", "interrupted")
            # not retried: still the only run of its module, and nothing was written
            assert [r["id"] for r in api.get("/api/runs", params={"module": slow}).json()] == [
                going
            ]
            with psycopg.connect(pg_url) as conn:
                exists = conn.execute("SELECT to_regclass(%s)", [f"public.{slow}"]).fetchone()
            assert exists == (None,)
            assert not any(api.get(f"/api/modules/{m}").json()["running"] for m in [slow, *fast])
            health = api.get("/health").json()
            assert health["scheduler"]["detail"]["enabled"] is False
            assert health["scheduler"]["ok"] is True
    finally:
        srv.stop()


# -- kill -9 during staging, merge and hooks ---------------------------------------------


def test_kill_9_during_staging_merge_and_hooks_then_reruns_make_the_destinations_equal(
    home: Path, state_url: str, pg_url: str
) -> None:
    """Three modules, each killed in another phase by one SIGKILL of the server: one
    stages (a slow source), one merges (a slow check, inside the merge transaction),
    one runs its hooks (a slow hook, after the commit)."""
    slow_flag = flag(pg_url, False)
    sleep = flagged_sleep(slow_flag, 60)
    phases = ("staging", "merge", "hooks")
    srv = start_server(home, state_url, max_concurrent_runs=3)
    try:
        with srv.client() as api:
            slow_source = (
                "SELECT g AS id, 'v' || g AS v FROM generate_series(1, 40) g "
                f"WHERE {flagged_sleep(slow_flag, 1)} IS NOT NULL"
            )
            names = {
                phase: add_module(
                    api, pg_url, slow_source if phase == "staging" else fast_query(40)
                )
                for phase in phases
            }
            with psycopg.connect(pg_url, autocommit=True) as conn:  # what an earlier run left
                for name in names.values():
                    conn.execute(f"CREATE TABLE public.{name} (id int PRIMARY KEY, v text)")
                    conn.execute(f"INSERT INTO public.{name} {fast_query(10)}")
            r = api.post(
                f"/api/modules/{names['merge']}/checks",
                json={"name": "slow", "sql": f"SELECT 1 AS x WHERE {sleep} IS NULL"},
            )
            assert r.status_code == 201, r.text
            r = api.post("/api/hooks", json={"module": names["hooks"], "sql": f"SELECT {sleep}"})
            assert r.status_code == 201, r.text
            flag(pg_url, True)
            run_ids = {
                p: api.post(f"/api/modules/{n}/run").json()["run_id"] for p, n in names.items()
            }
            needle = {
                "staging": "staging the rows",
                "merge": "merging into",
                "hooks": "committed into",
            }
            for phase, run_id in run_ids.items():
                wait_live(api, run_id, needle[phase])
            wait_until(lambda: pg_sleeping(pg_url) == 3, 30, "a slow statement in each phase")
        srv.stop(signal.SIGKILL)
        flag(pg_url, False)
        assert pg_rows(pg_url, f"public.{names['staging']}") == expected(10)
        assert pg_rows(pg_url, f"public.{names['merge']}") == expected(10)  # rolled back

        srv = start_server(home, state_url, max_concurrent_runs=3)
        with srv.client() as api:
            for phase, run_id in run_ids.items():
                killed = api.get(f"/api/runs/{run_id}").json()
                assert (killed["status"], killed["error"]) == ("error", "interrupted"), phase
                # killed in its hooks, after the commit: the record says the data landed
                landed = (bool(killed["committed"]), killed["row_count"])
                assert landed == ((True, 40) if phase == "hooks" else (False, None)), phase
            for name in names.values():
                assert api.get(f"/api/modules/{name}").json()["running"] is False  # no lock left
            reruns = [api.post(f"/api/modules/{n}/run").json()["run_id"] for n in names.values()]
            for run_id in reruns:
                rerun = wait_done(api, run_id)
                assert rerun["status"] == "success", rerun["error"]
            for name in names.values():
                assert pg_rows(pg_url, f"public.{name}") == expected(40)
                assert api.get(f"/api/modules/{name}").json()["running"] is False
    finally:
        srv.stop()


# -- a session of a run ended by the database ----------------------------------------------


@pytest.mark.parametrize("side", ["source", "destination"])
def test_pg_terminate_backend_of_a_run_session_fails_it_cleanly(
    state_url: str, pg_url: str, side: str
) -> None:
    slow_flag = flag(pg_url, False)
    table = unique_name("pk_term")
    with Store.open(state_url) as store:
        store.connections.add("src", pg_url, user="postgres")
        store.connections.add("dw", pg_url, user="postgres")
        # 4 s of sleep in all: the flag is read once per query (an InitPlan), so the
        # other session of a run sleeps on after the flag is cleared
        query = (
            "SELECT g AS id, 'v' || g AS v FROM generate_series(1, 16) g "
            f"WHERE {flagged_sleep(slow_flag, 0.25)} IS NOT NULL"
        )
        store.modules.add(
            "m", source="src", dest="dw", dest_table=f"public.{table}", source_query=query,
            merge_strategy="full",
        )  # fmt: skip
        engine = Engine(store)
        assert engine.run_module("m").status == "success"
        flag(pg_url, True)
        result: list[Any] = []
        runner = threading.Thread(target=lambda: result.append(engine.run_module("m")))
        runner.start()
        try:
            wait_until(lambda: pg_sleeping(pg_url), 30, "the slow source query")
            name = "src" if side == "source" else "dw"
            pids = [
                int(s["session"].split("@")[0]) for s in _sessions(store) if s["connection"] == name
            ]
            assert pids, _sessions(store)
            with psycopg.connect(pg_url, autocommit=True) as conn:
                for pid in pids:
                    conn.execute("SELECT pg_terminate_backend(%s)", [pid])
            flag(pg_url, False)
        finally:
            runner.join(60)
        (run,) = result
        assert run.status == "error"
        assert "terminat" in (run.error or "") or "closed" in (run.error or ""), run.error
        assert "(destination unchanged)" in (run.live_log or "")
        assert pg_rows(pg_url, f"public.{table}") == expected(16)  # the first run's rows
        assert store.runs.lock_holder("m") is None
        assert engine.run_module("m").status == "success"


def _sessions(store: Store) -> list[dict[str, str]]:
    """The recorded sessions of module m's run going on now."""
    runs = store.runs.list(module="m", status="running", limit=1)
    return json.loads(runs[0].sessions_json or "[]") if runs else []


# -- a lease held by a dead host ------------------------------------------------------------


def test_a_lease_of_a_dead_host_is_recovered_once_expired(state_url: str, pg_url: str) -> None:
    table = unique_name("pk_lease")
    now = [dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)]
    with Store.open(state_url) as store:
        store.connections.add("src", pg_url, user="postgres")
        store.modules.add(
            "m", source="src", dest="src", dest_table=f"public.{table}",
            source_query=fast_query(5), merge_strategy="full",
        )  # fmt: skip
        # The dead host's run: its lease runs to 12:01, and it left a session open.
        with psycopg.connect(pg_url, autocommit=True) as held:
            pid, started = held.execute(
                "SELECT pg_backend_pid(), backend_start::text FROM pg_stat_activity "
                "WHERE pid = pg_backend_pid()"
            ).fetchone()  # type: ignore[misc]
            dead = store.runs.begin(
                "m", triggered_by="api", pid=4242, host="dead-host.example",
                lease=Lease("dead-host.example:4242:abcd", now[0] + dt.timedelta(minutes=1)),
            )  # fmt: skip
            session = {"connection": "src", "kind": "postgresql", "session": f"{pid}@{started}"}
            store.runs.set_sessions(dead, json.dumps([session]))
            engine = Engine(store, lease_clock=lambda: now[0], lease_s=60)

            with pytest.raises(ModuleBusyError, match=f"run {dead}"):
                engine.run_module("m")  # another host, lease not expired: alive
            assert store.runs.get(dead).status == "running"

            now[0] += dt.timedelta(minutes=2)
            run = engine.run_module("m")
            assert run.status == "success", run.error
            wait_until(lambda: not pg_backend_alive(pg_url, pid), 10, "the dead run's session")
        gone = store.runs.get(dead)
        assert (gone.status, gone.error) == ("error", "interrupted")
        assert [r.id for r in store.runs.list(module="m")] == [run.id, dead]  # not retried
        assert store.runs.lock_holder("m") is None
        assert pg_rows(pg_url, f"public.{table}") == expected(5)


def test_a_heartbeat_keeps_a_lease_and_a_lost_lease_is_reported(state_url: str) -> None:
    now = [dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)]
    with Store.open(state_url) as store:
        store.connections.add("src", "postgresql://127.0.0.1/x", user="postgres")
        store.modules.add(
            "m", source="src", dest="src", dest_table="public.t", source_query="SELECT 1 AS id",
            merge_strategy="full",
        )  # fmt: skip
        mine = Engine(store, lease_clock=lambda: now[0], lease_s=60)
        run_id = mine.start_module("m")
        store.runs.adopt(run_id, 1, socket.gethostname(), mine.lease())
        other = Engine(store, lease_clock=lambda: now[0], lease_s=60)
        for _ in range(5):  # renewed every 30 s for 2.5 minutes: never stale
            now[0] += dt.timedelta(seconds=30)
            assert store.runs.heartbeat(run_id, mine.lease())
            assert other.store.runs.recover_stale_locks(lambda *_: True, now=now[0]) == []
        now[0] += dt.timedelta(seconds=61)  # the heartbeat stopped
        (freed,) = other.store.runs.recover_stale_locks(lambda *_: True, now=now[0])
        assert freed.run_id == run_id
        assert not store.runs.heartbeat(run_id, mine.lease())  # the holder learns it lost it


# -- three schedulers on one state store -----------------------------------------------------


def test_three_schedulers_on_one_store_fire_each_slot_once(state_url: str) -> None:
    now = [dt.datetime(2030, 1, 1, 11, 58, tzinfo=dt.UTC)]
    fired: list[tuple[str, int, dt.datetime]] = []
    lock = threading.Lock()
    stores = [Store.open(state_url) for _ in range(3)]
    try:
        setup = stores[0]
        setup.connections.add("src", "postgresql://127.0.0.1/x", user="postgres")
        setup.modules.add(
            "m", source="src", dest="src", dest_table="public.t", source_query="SELECT 1 AS id",
            merge_strategy="full",
        )  # fmt: skip
        setup.groups.add("g", members=["m"])
        with setup.transaction():
            schedule = setup.schedules.add("g", "*/5 * * * *")
        with setup.engine.begin() as conn:  # created before the first tick's clock
            conn.exec_driver_sql(
                "UPDATE schedule SET created_at = %(t)s", {"t": now[0] - dt.timedelta(hours=1)}
            )

        def make(i: int) -> Scheduler:
            def fire(s: Any, at: dt.datetime) -> None:
                with lock:
                    fired.append((f"server{i}", s.id, at))

            return Scheduler(stores[i], fire, clock=lambda: now[0], tz=dt.UTC, owner=f"s{i}")

        schedulers = [make(i) for i in range(3)]
        for minute in range(0, 16):  # 11:58 .. 12:13: slots 12:00, 12:05, 12:10 (+ the missed)
            now[0] = dt.datetime(2030, 1, 1, 11, 58, tzinfo=dt.UTC) + dt.timedelta(minutes=minute)
            barrier = threading.Barrier(3)

            def tick(s: Scheduler, barrier: threading.Barrier = barrier) -> None:
                barrier.wait()  # the three tick at the same moment
                s.tick()

            threads = [threading.Thread(target=tick, args=(s,)) for s in schedulers]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
        slots = [
            row[0]
            for row in setup.engine.connect()
            .exec_driver_sql("SELECT slot_at FROM schedule_firing ORDER BY slot_at")
            .all()
        ]
    finally:
        for s in stores:
            s.close()
    # the first slot after created_at (11:00, missed while nothing ticked) fires once at
    # 11:58, then 12:00, 12:05, 12:10: each by one of the three servers
    assert len(fired) == len(slots) == 4, fired
    assert len({at for _, _, at in fired}) == 4
    assert {sid for _, sid, _ in fired} == {schedule.id}
    utc = [s.astimezone(dt.UTC) for s in slots]
    assert [(s.hour, s.minute) for s in utc] == [(11, 0), (12, 0), (12, 5), (12, 10)]


# -- unlock by hand ------------------------------------------------------------------


def test_modules_unlock_frees_a_lock_and_says_when_there_is_none(
    home: Path, state_url: str
) -> None:
    (home / "pipekit.yaml").write_text(f"database: {state_url}\n")
    srv = Server(home, 0)
    with Store.open(state_url) as store:
        store.connections.add("src", "postgresql://127.0.0.1/x", user="postgres")
        store.modules.add(
            "m", source="src", dest="src", dest_table="public.t", source_query="SELECT 1 AS id",
            merge_strategy="full",
        )  # fmt: skip
        not_locked = srv.cli("modules", "unlock", "m")
        assert not_locked.returncode == 1
        assert "module 'm' is not locked; nothing to unlock" in not_locked.stderr
        stuck = store.runs.begin(
            "m", triggered_by="api", pid=1, host="gone.example",
            lease=Lease("gone.example:1:x", dt.datetime(2999, 1, 1, tzinfo=dt.UTC)),
        )  # fmt: skip
        done = srv.cli("modules", "unlock", "m", "--json")
        assert done.returncode == 0, done.stderr
        view = json.loads(done.stdout)
        assert (view["run_id"], view["run_status"]) == (stuck, "error")
        assert store.runs.lock_holder("m") is None
        run = store.runs.get(stuck)
        assert run.error == "interrupted: module unlocked by cli" and run.cancel_requested


def test_api_unlock_answers_409_when_not_locked(api: httpx.Client, pg_url: str) -> None:
    name = add_module(api, pg_url, fast_query(2))
    r = api.post(f"/api/modules/{name}/unlock")
    assert r.status_code == 409
    assert "is not locked; nothing to unlock" in r.json()["detail"]
    missing = api.post("/api/modules/no_such_module_x/unlock")
    assert missing.status_code == 404
