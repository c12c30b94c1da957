"""Session signing and expiry, the login throttle's lockouts, role declarations: the
parts of pipekit.web.security that need no browser (clocks injected, nothing waits)."""

from __future__ import annotations

import time

import pytest

from pipekit.throttle import LOCKOUT_S, MAX_FAILURES, MAX_FAILURES_PER_CLIENT, LoginThrottle
from pipekit.web.security import (
    Session,
    SessionCodec,
    WebSecurity,
    requires,
)


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_session_round_trips_and_expires() -> None:
    clock = Clock()
    codec = SessionCodec("k" * 32, max_age_s=3600, clock=clock)
    s = Session.login("ann", clock())
    value = codec.dumps(s)
    assert codec.loads(value) == s
    clock.now += 3599
    assert codec.loads(value) == s
    clock.now += 2
    assert codec.loads(value) is None  # expired
    assert codec.loads(value[:-2] + "xx") is None  # forged
    assert SessionCodec("other" * 8, clock=clock).loads(codec.dumps(s)) is None
    assert codec.loads("garbage") is None


def test_logout_revokes_the_session() -> None:
    sec = WebSecurity(SessionCodec("k" * 32))
    s = Session.login("ann", time.time())
    value = sec.codec.dumps(s)
    assert sec.read(value) == s
    sec.logout(s)
    assert sec.read(value) is None
    assert s.csrf != Session.login("ann", time.time()).csrf  # every session its own token


def test_the_throttle_locks_out_then_doubles() -> None:
    clock = Clock()
    t = LoginThrottle(clock=clock)
    for _ in range(MAX_FAILURES - 1):
        t.failed("1.2.3.4", "ann")
    assert t.retry_after("1.2.3.4", "ann") is None
    t.failed("1.2.3.4", "ann")
    assert t.retry_after("1.2.3.4", "ann") == LOCKOUT_S
    assert t.retry_after("1.2.3.4", "bob") is None  # another user from the same client
    assert t.retry_after("5.6.7.8", "ann") is None  # the same user from elsewhere
    clock.now += LOCKOUT_S
    assert t.retry_after("1.2.3.4", "ann") is None
    for _ in range(MAX_FAILURES):
        t.failed("1.2.3.4", "ann")
    assert t.retry_after("1.2.3.4", "ann") == 2 * LOCKOUT_S
    t.succeeded("1.2.3.4", "ann")
    assert t.retry_after("1.2.3.4", "ann") is None


def test_many_users_from_one_client_lock_the_client() -> None:
    t = LoginThrottle(clock=Clock())
    for i in range(MAX_FAILURES_PER_CLIENT):
        t.failed("9.9.9.9", f"user{i}")
    assert t.retry_after("9.9.9.9", "someone-new") == LOCKOUT_S


def test_an_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="viewer"):
        requires("superuser")
