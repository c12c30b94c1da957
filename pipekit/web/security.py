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
- **Throttle**: after ``MAX_FAILURES`` failed logins for one (client, user) pair,
  or ``MAX_FAILURES_PER_CLIENT`` for one client, further attempts are answered 429
  with ``Retry-After`` at once, without checking the password, until the lockout
  ends; it doubles with each further lockout. Nothing sleeps. The clock is injected.
- **Roles**: every page declares the role it needs with ``requires(role)``:
  ``viewer`` < ``operator`` < ``editor`` < ``admin`` (DESIGN §7). Until users have
  roles (issue 17), every logged-in user holds all of them; the declaration is the
  place that check goes.
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

if TYPE_CHECKING:
    from pipekit.services import Services

#: the roles of DESIGN §7, weakest first
ROLES: tuple[str, ...] = ("viewer", "operator", "editor", "admin")
#: what a page that anyone may open (the login form) declares instead of a role
ANONYMOUS = "anonymous"

SESSION_COOKIE = "pipekit_session"
SESSION_MAX_AGE_S = 8 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

MAX_FAILURES = 5
MAX_FAILURES_PER_CLIENT = 20
FAILURE_WINDOW_S = 900.0
LOCKOUT_S = 60.0
LOCKOUT_MAX_S = 3600.0


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
class _Count:
    failures: int = 0
    last: float = 0.0
    lockouts: int = 0
    locked_until: float = 0.0


@dataclass
class LoginThrottle:
    """Failed logins per (client, user) and per client; answers how long to refuse."""

    clock: Callable[[], float] = time.monotonic
    counts: dict[Any, _Count] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def retry_after(self, client: str, user: str) -> int | None:
        """Seconds until `user` may try again from `client`, or None if it may now."""
        now = self.clock()
        with self.lock:
            waits = [
                c.locked_until - now
                for c in (self.counts.get((client, user)), self.counts.get(client))
                if c is not None and c.locked_until > now
            ]
        return max(1, int(max(waits) + 0.999)) if waits else None

    def failed(self, client: str, user: str) -> None:
        now = self.clock()
        with self.lock:
            for key, limit in (((client, user), MAX_FAILURES), (client, MAX_FAILURES_PER_CLIENT)):
                c = self.counts.setdefault(key, _Count())
                if now - c.last > FAILURE_WINDOW_S:
                    c.failures = 0
                c.failures += 1
                c.last = now
                if c.failures >= limit:
                    c.locked_until = now + min(LOCKOUT_S * 2**c.lockouts, LOCKOUT_MAX_S)
                    c.lockouts += 1
                    c.failures = 0

    def succeeded(self, client: str, user: str) -> None:
        with self.lock:
            self.counts.pop((client, user), None)


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
    #: the role the page declared (held by every user until issue 17)
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
        # Issue 17 gives users roles; until then a logged-in user holds every role.
        await check_csrf(request)
        sv = request.app.state.services.as_actor(f"web:{session.user}")
        return WebUser(session.user, role, sv)

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
