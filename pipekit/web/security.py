"""Who may see a page: signed session cookies, CSRF tokens, the login throttle, roles.

- **Session**: one cookie, ``pipekit_session``, signed with itsdangerous (the key is
  kept in the state DB's settings, so sessions survive a restart and every worker
  accepts them). It is HttpOnly, SameSite=Lax, Secure when the request came over
  TLS, and expires ``SESSION_MAX_AGE_S`` after login. Every visitor gets one, an
  anonymous one before login, so the login form carries a CSRF token too; logging
  in issues a new session (new id, new token), logging out revokes the old id.
- **CSRF**: every unsafe request (POST ...) must send the session's token, as the
  form field ``csrf_token`` or the header ``X-CSRF-Token`` (htmx sends it from
  ``hx-headers`` on ``<body>``); otherwise it is answered 403 before any handler runs.
- **Throttle**: ``pipekit.throttle.LoginThrottle``, the one the REST API's Basic auth
  uses too (the server shares one instance): a locked-out login is answered 429 with
  ``Retry-After`` at once, without checking the password. Nothing sleeps.
- **Roles**: every page declares the role it needs with ``requires(role)``, one of
  ``pipekit.roles.ROLES`` (``viewer`` < ``operator`` < ``editor`` < ``admin``); the
  services check that the logged-in user holds it (``users.authorize``), and a user
  who does not gets the error page with 403 naming the role needed.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Depends, Request
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool

from pipekit.roles import ROLES
from pipekit.throttle import LoginThrottle

if TYPE_CHECKING:
    from pipekit.services import Services

#: what a page that anyone may open (the login form) declares instead of a role
ANONYMOUS = "anonymous"

SESSION_COOKIE = "pipekit_session"
SESSION_MAX_AGE_S = 8 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Session:
    """What the cookie carries: its id, the user (None before login), the CSRF token."""

    sid: str
    user: str | None
    csrf: str
    issued: float

    @classmethod
    def anonymous(cls, now: float) -> Session:
        return cls(secrets.token_urlsafe(16), None, secrets.token_urlsafe(24), now)

    @classmethod
    def login(cls, user: str, now: float) -> Session:
        return cls(secrets.token_urlsafe(16), user, secrets.token_urlsafe(24), now)


class SessionCodec:
    """Signs sessions into cookie values and reads them back (None: forged or expired)."""

    def __init__(
        self,
        secret: str,
        max_age_s: float = SESSION_MAX_AGE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        class Signer(TimestampSigner):
            # the signer's idea of "now", injectable so expiry is tested without waiting
            def get_timestamp(self) -> int:
                return int(clock())

        self._s = URLSafeTimedSerializer(secret, salt="pipekit.web.session", signer=Signer)
        self.max_age_s = max_age_s

    def dumps(self, session: Session) -> str:
        return str(self._s.dumps([session.sid, session.user, session.csrf, session.issued]))

    def loads(self, value: str) -> Session | None:
        try:
            sid, user, csrf, issued = self._s.loads(value, max_age=int(self.max_age_s))
        except (BadSignature, ValueError, TypeError):
            return None
        return Session(str(sid), user, str(csrf), float(issued))


@dataclass
class Revoked:
    """Session ids logged out before they expired (this process; they expire anyway)."""

    until: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sid: str, until: float) -> None:
        with self.lock:
            now = time.time()
            for old in [s for s, t in self.until.items() if t < now]:
                del self.until[old]
            self.until[sid] = until

    def __contains__(self, sid: object) -> bool:
        with self.lock:
            return sid in self.until


@dataclass
class WebSecurity:
    """The session codec, the throttle and the revoked sessions of one app."""

    codec: SessionCodec
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    revoked: Revoked = field(default_factory=Revoked)

    def read(self, cookie: str | None) -> Session | None:
        session = self.codec.loads(cookie) if cookie else None
        if session is None or session.sid in self.revoked:
            return None
        return session

    def logout(self, session: Session) -> None:
        self.revoked.add(session.sid, session.issued + self.codec.max_age_s)


# -- what a request must bring -------------------------------------------------------


class LoginRequired(Exception):
    """No logged-in session: GET pages redirect to the login form, the rest get 401."""


class CsrfRefused(Exception):
    """An unsafe request without the session's CSRF token: 403, nothing done."""


@dataclass(frozen=True)
class WebUser:
    """The logged-in user a page acts for, with the services acting as them."""

    name: str
    #: the role the user holds (at least the one the page declared)
    role: str
    sv: Services


def session_of(request: Request) -> Session:
    """The request's session (the middleware in ``pipekit.web`` put it there)."""
    session: Session = request.state.session
    return session


async def check_csrf(request: Request) -> None:
    """Refuse an unsafe request whose token does not match its session's."""
    if request.method not in UNSAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    expected = session_of(request).csrf
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused()


def requires(role: str) -> Any:
    """Declare the role a page needs: ``dependencies=[requires("operator")]``.

    ``ANONYMOUS`` declares a page anyone may open (the login form). The declared role is
    kept on the dependency (``required_role``) so a test can walk every route.
    """
    if role != ANONYMOUS and role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")

    async def dependency(request: Request) -> WebUser | None:
        session = session_of(request)
        if role == ANONYMOUS:
            await check_csrf(request)
            return None
        if session.user is None:
            raise LoginRequired()
        await check_csrf(request)
        services = request.app.state.services
        # PermissionDeniedError (403, the error page naming the role) when too weak
        held = await run_in_threadpool(services.users.authorize, session.user, role)
        return WebUser(session.user, held, services.as_actor(f"web:{session.user}"))

    dependency.required_role = role  # type: ignore[attr-defined]
    return Depends(dependency)


def declared_role(route: Any) -> str | None:
    """The role `route` declares with ``requires``, or None if it declares none."""
    dependant = getattr(route, "dependant", None)
    for dep in dependant.dependencies if dependant else ():
        role = getattr(dep.call, "required_role", None)
        if role is not None:
            return str(role)
    return None
