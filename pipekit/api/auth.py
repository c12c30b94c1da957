"""HTTP Basic auth against the users, with the server's login throttle, and roles.

Every ``/api`` route depends on ``require_user`` and declares the role it needs with
``require_role`` (``deps.VIEWER`` ... ``deps.ADMIN``).

- No or wrong credentials: 401 with ``WWW-Authenticate: Basic realm="pipekit"``.
- A user or client locked out by ``pipekit.throttle.LoginThrottle`` (shared with the
  web console's login): 429 with ``Retry-After`` at once; nothing sleeps, so guessing
  never ties up a worker thread.
- A known user whose role is too weak: 403, the body naming the role needed
  (``users.authorize``, the same check the web pages make).

A verified password is remembered (a salted digest, in memory) for ``CACHE_S``, so
clients do not pay the scrypt cost on every request. A locked-out user or client is
refused before the cache is looked at, and a guess that misses the cache is counted.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from pipekit.roles import ROLES
from pipekit.throttle import LoginThrottle

if TYPE_CHECKING:
    from pipekit.services import Services

CACHE_S = 60.0
CACHE_MAX = 1000
REALM = 'Basic realm="pipekit"'

basic = HTTPBasic(auto_error=False, realm="pipekit")


@dataclass
class PasswordCache:
    """Passwords verified in the last ``CACHE_S`` seconds, as salted digests."""

    clock: Callable[[], float] = time.monotonic
    verified: dict[str, tuple[bytes, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    salt: bytes = field(default_factory=lambda: os.urandom(16))

    def remember(self, user: str, password: str) -> None:
        now = self.clock()
        with self.lock:
            if len(self.verified) >= CACHE_MAX:
                self.verified = {u: h for u, h in self.verified.items() if now - h[1] <= CACHE_S}
            self.verified[user] = (self._digest(password), now)

    def hit(self, user: str, password: str) -> bool:
        with self.lock:
            hit = self.verified.get(user)
        if hit is None or self.clock() - hit[1] > CACHE_S:
            return False
        return hmac.compare_digest(hit[0], self._digest(password))

    def _digest(self, password: str) -> bytes:
        return hashlib.sha256(self.salt + password.encode()).digest()


def _refuse(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=message, headers={"WWW-Authenticate": REALM}
    )


def _too_many(wait: int) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        detail=f"too many failed logins for this user or client; try again in {wait} s",
        headers={"Retry-After": str(wait)},
    )


def client_address(request: Request) -> str:
    """The client's address: the peer's, or the one a trusted proxy forwarded
    (uvicorn rewrites it only for peers in ``server.trusted_proxies``)."""
    return request.client.host if request.client else "?"


def require_user(
    request: Request, credentials: HTTPBasicCredentials | None = Depends(basic)
) -> str:
    """The authenticated user's name; 401, or 429 while locked out."""
    if credentials is None:
        raise _refuse("authentication required (HTTP Basic)")
    throttle: LoginThrottle = request.app.state.throttle
    cache: PasswordCache = request.app.state.password_cache
    user, password = credentials.username, credentials.password
    client = client_address(request)
    wait = throttle.retry_after(client, user)
    if wait is not None:
        raise _too_many(wait)
    if cache.hit(user, password):
        throttle.succeeded(client, user, started=False)  # the right password: a fresh count
        return user
    wait = throttle.start(client, user)
    if wait is not None:
        raise _too_many(wait)
    if request.app.state.services.users.verify(user, password):
        throttle.succeeded(client, user)
        cache.remember(user, password)
        return user
    throttle.failed(client, user)
    raise _refuse("wrong user name or password")


def require_role(role: str) -> Any:
    """Declare the role a route needs: ``sv: Services = require_role("editor")`` gives
    the services acting for the user, once the user holds `role` (else 403).

    The role is kept on the dependency (``required_role``) so the router can put it in
    the OpenAPI document and a test can refuse a route without one.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")

    def dependency(request: Request, user: str = Depends(require_user)) -> Services:
        services: Services = request.app.state.services
        services.users.authorize(user, role)  # PermissionDeniedError -> 403
        return services.as_actor(f"api:{user}")

    dependency.required_role = role  # type: ignore[attr-defined]
    return Depends(dependency)


def declared_role(route: Any) -> str | None:
    """The role `route` declares with ``require_role``, or None if it declares none."""
    dependant = getattr(route, "dependant", None)
    for dep in dependant.dependencies if dependant else ():
        role = getattr(dep.call, "required_role", None)
        if role is not None:
            return str(role)
    return None
