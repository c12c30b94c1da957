"""The login throttle: counted per user, per client and per pair, answered at once with
429 + Retry-After (nothing sleeps), pruned, shared by the API and the web login, and
forwarded addresses believed only from configured proxies."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from pipekit.throttle import (
    FAILURE_WINDOW_S,
    LOCKOUT_S,
    MAX_FAILURES,
    MAX_FAILURES_PER_CLIENT,
    MAX_FAILURES_PER_USER,
    PRUNE_EVERY_S,
    LoginThrottle,
)
from tests.helpers import PASSWORD, USER, Server


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- the throttle itself (clock injected) --------------------------------------------


def test_one_user_from_many_clients_is_locked() -> None:
    t = LoginThrottle(clock=Clock())
    for i in range(MAX_FAILURES_PER_USER):
        assert t.start(f"10.0.0.{i}", "ann") is None
        t.failed(f"10.0.0.{i}", "ann")
    assert t.retry_after("10.9.9.9", "ann") == LOCKOUT_S  # a new address does not help
    assert t.retry_after("10.9.9.9", "bob") is None


def test_attempts_in_flight_count_so_parallel_guessing_gains_nothing() -> None:
    t = LoginThrottle(clock=Clock())
    started = [t.start("1.2.3.4", "ann") for _ in range(MAX_FAILURES + 3)]
    assert started[:MAX_FAILURES] == [None] * MAX_FAILURES
    assert started[MAX_FAILURES:] == [1, 1, 1]  # wait for the checks under way
    for _ in range(MAX_FAILURES):
        t.failed("1.2.3.4", "ann")
    assert t.retry_after("1.2.3.4", "ann") == LOCKOUT_S


def test_a_success_ends_its_attempt_and_forgets_the_pair() -> None:
    t = LoginThrottle(clock=Clock())
    for _ in range(MAX_FAILURES - 1):
        t.start("1.2.3.4", "ann")
        t.failed("1.2.3.4", "ann")
    assert t.start("1.2.3.4", "ann") is None
    t.succeeded("1.2.3.4", "ann")
    for _ in range(MAX_FAILURES - 1):  # a fresh count for the pair
        assert t.start("1.2.3.4", "ann") is None
        t.failed("1.2.3.4", "ann")
    assert t.retry_after("1.2.3.4", "ann") is None


def test_the_table_is_pruned_by_age_and_bounded_in_size() -> None:
    clock = Clock()
    t = LoginThrottle(clock=clock, max_entries=300)
    for i in range(50):
        t.start(f"10.1.0.{i}", "ann")
        t.failed(f"10.1.0.{i}", "ann")
    assert len(t.counts) > 50
    clock.now += FAILURE_WINDOW_S + PRUNE_EVERY_S + 1
    assert t.retry_after("10.1.0.1", "ann") is None  # the user's lockout ended too
    t.failed("10.2.0.1", "zed")  # any write prunes what is old and unlocked
    assert set(t.counts) == {("pair", "10.2.0.1", "zed"), ("client", "10.2.0.1"), ("user", "zed")}
    for i in range(1000):  # a flood of new names and addresses
        t.failed(f"10.3.{i // 250}.{i % 250}", f"u{i}")
    assert len(t.counts) <= 300


def test_many_users_from_one_client_lock_the_client() -> None:
    t = LoginThrottle(clock=Clock())
    for i in range(MAX_FAILURES_PER_CLIENT):
        assert t.start("9.9.9.9", f"user{i}") is None
        t.failed("9.9.9.9", f"user{i}")
    assert t.start("9.9.9.9", "someone-new") == LOCKOUT_S


# -- against a real server -------------------------------------------------------------


def _serve(tmp_path_factory: pytest.TempPathFactory, name: str, extra: str = "") -> Server:
    home = tmp_path_factory.mktemp(name)
    (home / "pipekit.yaml").write_text("database: state.db\n" + extra)
    srv = Server(home, 0)
    assert srv.cli("init").returncode == 0
    assert srv.cli("set-password", USER, input=PASSWORD + "\n").returncode == 0
    srv.start()
    return srv


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = _serve(tmp_path_factory, "throttle")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = _serve(tmp_path_factory, "proxied", "server:\n  trusted_proxies: [127.0.0.1]\n")
    try:
        yield srv
    finally:
        srv.stop()


def test_parallel_guessing_gets_429_and_health_stays_fast(live: Server) -> None:
    client = httpx.Client(base_url=live.url, timeout=60, limits=httpx.Limits(max_connections=16))

    def guess(i: int) -> httpx.Response:
        return client.get(
            "/api/modules",
            auth=(USER, f"guess-{i}"),
            headers={"X-Forwarded-For": f"10.0.{i // 250}.{i % 250}"},  # ignored: no proxy
        )

    with client, ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(guess, i) for i in range(300)]
        health = []
        for _ in range(3):  # while the guesses are being answered
            start = time.monotonic()
            assert httpx.get(f"{live.url}/health", timeout=60).status_code == 200
            health.append(time.monotonic() - start)
        answers = [f.result() for f in futures]
    counted = [r for r in answers if r.status_code == 401]
    refused = [r for r in answers if r.status_code == 429]
    assert len(counted) + len(refused) == len(answers)
    # at most one pair's worth of passwords was checked: the rest refused unchecked
    assert len(counted) <= MAX_FAILURES, len(counted)
    assert all(int(r.headers["retry-after"]) >= 1 for r in refused)
    assert "too many failed logins" in refused[0].json()["detail"]
    # No worker sleeps, so /health waits only for its turn on a busy (shared) machine;
    # when failures slept in worker threads, 400 guesses made it take 42 s.
    assert max(health) < 15, health
    # locked out: even the right password waits (and is not checked)
    r = httpx.get(f"{live.url}/api/modules", auth=(USER, PASSWORD))
    assert r.status_code == 429 and int(r.headers["retry-after"]) <= LOCKOUT_S


def test_the_web_login_shares_the_apis_throttle(live: Server) -> None:
    """The client is locked out through the API above; the login form says so too."""
    with httpx.Client(base_url=live.url) as browser:
        form = browser.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None
        r = browser.post(
            "/login",
            data={"username": USER, "password": PASSWORD, "csrf_token": token.group(1)},
        )
    assert r.status_code == 429 and "Too many failed logins" in r.text
    assert int(r.headers["retry-after"]) >= 1


def test_forwarded_addresses_count_only_from_a_trusted_proxy(proxied: Server) -> None:
    def attempt(address: str, user: str, password: str = "wrong") -> int:
        r = httpx.get(
            f"{proxied.url}/api/modules",
            auth=(user, password),
            headers={"X-Forwarded-For": address},
        )
        return r.status_code

    # the proxy (127.0.0.1) forwards for 10.0.0.1: that client is locked out ...
    assert [attempt("10.0.0.1", "mallory") for _ in range(MAX_FAILURES)] == [401] * MAX_FAILURES
    assert attempt("10.0.0.1", "mallory") == 429
    # ... another client behind the same proxy is not
    assert attempt("10.0.0.2", USER, PASSWORD) == 200
    # and a new forwarded address per request still meets the per-user count
    codes = [attempt(f"10.1.0.{i}", "mallory") for i in range(MAX_FAILURES_PER_USER)]
    assert codes[-1] == 429 and codes.count(401) <= MAX_FAILURES_PER_USER - MAX_FAILURES


def test_a_remembered_password_also_forgets_the_pairs_failures() -> None:
    t = LoginThrottle(clock=Clock())
    for _ in range(MAX_FAILURES - 1):
        t.start("1.2.3.4", "ann")
        t.failed("1.2.3.4", "ann")
    t.start("5.5.5.5", "ann")  # an attempt under way elsewhere keeps counting
    t.succeeded("1.2.3.4", "ann", started=False)
    assert ("pair", "1.2.3.4", "ann") not in t.counts
    assert t.counts[("user", "ann")].in_flight == 1
