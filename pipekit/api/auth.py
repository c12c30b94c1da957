"""HTTP Basic auth against ``store.users``, with a growing delay after failures.

Every ``/api`` route depends on ``require_user``. No or wrong credentials answer
401 with ``WWW-Authenticate: Basic realm="pipekit"``. Failed attempts are
counted per (client address, user name): the first costs nothing, each further
one waits ``FAIL_DELAY_S * 2**(n-2)`` seconds, capped at ``FAIL_DELAY_MAX_S``,
before answering; a success resets the count, and counts are forgotten after
``FAIL_WINDOW_S`` without failures. A verified password is remembered (as a
salted digest, in memory) for ``CACHE_S`` so clients do not pay the scrypt
cost on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from dataclasses import dataclass, field

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPBasic, HTTPBasicCredentials

FAIL_DELAY_S = 0.25
FAIL_DELAY_MAX_S = 5.0
FAIL_WINDOW_S = 900.0
CACHE_S = 60.0
REALM = 'Basic realm="pipekit"'

basic = HTTPBasic(auto_error=False, realm="pipekit")


@dataclass
class Throttle:
    """Failure counts and the verified-password cache of one app."""

    failures: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)
    verified: dict[str, tuple[bytes, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    salt: bytes = field(default_factory=lambda: os.urandom(16))

    def delay_for(self, key: tuple[str, str]) -> float:
        """Record one failure for `key`; the seconds to wait before answering it."""
        now = time.monotonic()
        with self.lock:
            count, last = self.failures.get(key, (0, now))
            if now - last > FAIL_WINDOW_S:
                count = 0
            count += 1
            self.failures[key] = (count, now)
        return 0.0 if count <= 1 else min(FAIL_DELAY_S * 2 ** (count - 2), FAIL_DELAY_MAX_S)

    def success(self, key: tuple[str, str], user: str, password: str) -> None:
        with self.lock:
            self.failures.pop(key, None)
            self.verified[user] = (self._digest(password), time.monotonic())

    def cached(self, user: str, password: str) -> bool:
        with self.lock:
            hit = self.verified.get(user)
        if hit is None or time.monotonic() - hit[1] > CACHE_S:
            return False
        return hmac.compare_digest(hit[0], self._digest(password))

    def _digest(self, password: str) -> bytes:
        return hashlib.sha256(self.salt + password.encode()).digest()


def _refuse(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=message, headers={"WWW-Authenticate": REALM}
    )


def require_user(
    request: Request, credentials: HTTPBasicCredentials | None = Depends(basic)
) -> str:
    """The authenticated user's name, or 401."""
    if credentials is None:
        raise _refuse("authentication required (HTTP Basic)")
    throttle: Throttle = request.app.state.throttle
    user, password = credentials.username, credentials.password
    client = request.client.host if request.client else "?"
    key = (client, user)
    if throttle.cached(user, password):
        return user
    if request.app.state.services.users.verify(user, password):
        throttle.success(key, user, password)
        return user
    time.sleep(throttle.delay_for(key))
    raise _refuse("wrong user name or password")
