"""The login throttle: failed logins counted per user, per client and per pair of
both; refused at once (the caller answers 429 with ``Retry-After``), never slept on.

One ``LoginThrottle`` serves the REST API's Basic auth and the web console's login
form of one server, so guesses through either count together.

- After ``MAX_FAILURES`` failures of one (client, user) pair, ``MAX_FAILURES_PER_CLIENT``
  of one client (any users) or ``MAX_FAILURES_PER_USER`` of one user (any clients)
  within ``FAILURE_WINDOW_S``, that key is locked out for ``LOCKOUT_S``, doubling with
  each further lockout up to ``LOCKOUT_MAX_S``. While locked, attempts are refused
  without looking at the password.
- Attempts still being checked count too (``start`` ... ``failed``/``succeeded``), so
  guessing in parallel gets no more tries than guessing one after the other.
- The table is pruned: entries idle for ``FAILURE_WINDOW_S`` and not locked are
  dropped (at most once per ``PRUNE_EVERY_S``), and past ``MAX_ENTRIES`` the least
  recently used tenth is dropped.

The clock is injected, so tests move time instead of waiting. Which address is "the
client" is decided before this (``server.trusted_proxies``: a forwarded address is
believed only from a configured proxy).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_FAILURES = 5
MAX_FAILURES_PER_CLIENT = 20
MAX_FAILURES_PER_USER = 20
FAILURE_WINDOW_S = 900.0
LOCKOUT_S = 60.0
LOCKOUT_MAX_S = 3600.0
MAX_ENTRIES = 10_000
PRUNE_EVERY_S = 60.0

Key = tuple[str, ...]


@dataclass
class _Count:
    failures: int = 0
    in_flight: int = 0
    last: float = 0.0
    lockouts: int = 0
    locked_until: float = 0.0


@dataclass
class LoginThrottle:
    """Failed logins per (client, user), per client and per user; how long to refuse."""

    clock: Callable[[], float] = time.monotonic
    max_entries: int = MAX_ENTRIES
    counts: dict[Key, _Count] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _pruned_at: float = float("-inf")

    @staticmethod
    def _keys(client: str, user: str) -> tuple[tuple[Key, int], ...]:
        return (
            (("pair", client, user), MAX_FAILURES),
            (("client", client), MAX_FAILURES_PER_CLIENT),
            (("user", user), MAX_FAILURES_PER_USER),
        )

    def retry_after(self, client: str, user: str) -> int | None:
        """Seconds until `user` may try again from `client` (locked out), or None."""
        now = self.clock()
        with self.lock:
            return self._locked(client, user, now)

    def start(self, client: str, user: str) -> int | None:
        """Begin checking a password: None (go on; end with ``failed`` or
        ``succeeded``), or the seconds to refuse for (nothing is counted then)."""
        now = self.clock()
        with self.lock:
            wait = self._locked(client, user, now)
            if wait is not None:
                return wait
            for key, limit in self._keys(client, user):
                c = self.counts.get(key)
                if c is not None and c.failures + c.in_flight >= limit:
                    # as many checks under way as failures are left: wait for them
                    return 1
            for key, _ in self._keys(client, user):
                c = self._count(key, now)
                c.in_flight += 1
            self._prune(now)
        return None

    def failed(self, client: str, user: str) -> None:
        """Count one failure (ending the attempt ``start`` began, if any)."""
        now = self.clock()
        with self.lock:
            for key, limit in self._keys(client, user):
                c = self._count(key, now)
                c.in_flight = max(0, c.in_flight - 1)
                c.failures += 1
                if c.failures >= limit:
                    c.locked_until = now + min(LOCKOUT_S * 2**c.lockouts, LOCKOUT_MAX_S)
                    c.lockouts += 1
                    c.failures = 0
            self._prune(now)

    def succeeded(self, client: str, user: str, *, started: bool = True) -> None:
        """The right password: the pair's count is forgotten (a guesser's count of the
        client or the user stays). `started`: it ends an attempt ``start`` began (a
        password known from a cache began none)."""
        now = self.clock()
        with self.lock:
            self.counts.pop(("pair", client, user), None)
            if not started:
                return
            for key, _ in self._keys(client, user)[1:]:
                c = self.counts.get(key)
                if c is not None:
                    c.in_flight = max(0, c.in_flight - 1)
                    c.last = now

    def _locked(self, client: str, user: str, now: float) -> int | None:
        waits = [
            c.locked_until - now
            for key, _ in self._keys(client, user)
            if (c := self.counts.get(key)) is not None and c.locked_until > now
        ]
        return max(1, math.ceil(max(waits))) if waits else None

    def _count(self, key: Key, now: float) -> _Count:
        c = self.counts.get(key)
        if c is None:
            c = self.counts[key] = _Count(last=now)
        elif now - c.last > FAILURE_WINDOW_S:
            c.failures = 0
        c.last = now
        return c

    def _prune(self, now: float) -> None:
        if now - self._pruned_at >= PRUNE_EVERY_S:
            self._pruned_at = now
            for key in [
                k
                for k, c in self.counts.items()
                if now - c.last > FAILURE_WINDOW_S and c.locked_until <= now and not c.in_flight
            ]:
                del self.counts[key]
        if len(self.counts) > self.max_entries:
            # many addresses or names fill the table: the least recently used tenth
            # goes at once, so the sort is paid once per many new entries
            by_age = sorted(self.counts.items(), key=lambda kc: kc[1].last)
            for key, _ in by_age[: len(self.counts) - self.max_entries * 9 // 10]:
                del self.counts[key]
