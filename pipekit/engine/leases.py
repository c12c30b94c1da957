"""Module leases: who holds a module's lock, and ending a killed run's database sessions.

A run holds its module's lock as a lease: its process names itself (``owner_id()``:
``host:pid:random``; the random part tells a process from a later one given the same
pid) and renews the lease while the run goes (``Heartbeat``, from the run's watcher
thread). A lease that expired is recovered by the next run on any host; the run
that held it ends ``error`` "interrupted" and is not retried, and the database
sessions it recorded (``Driver.session()``) are ended, so a killed worker's
statement does not run on holding locks the next run needs.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipekit.drivers.base import Driver

log = logging.getLogger("pipekit.leases")

_RANDOM = secrets.token_hex(4)


def owner_id() -> str:
    """This process's id: host name, pid and a random tag fixed at import."""
    return f"{socket.gethostname()}:{os.getpid()}:{_RANDOM}"


def session_record(connection: str, driver: Driver) -> dict[str, str] | None:
    """What a run records about one of its connections' server session, or None."""
    with suppress(Exception):  # recording must never be what fails a run
        session = driver.session()
        if session is not None:
            return {"connection": connection, "kind": driver.kind, "session": session}
    return None


def end_sessions(sessions_json: str | None, open_connection: Callable[[str], Driver]) -> list[str]:
    """End the recorded sessions of a run whose process is gone, each from a new
    connection of the same name; returns what was done, one line per session. A
    session that cannot be ended (connection removed, server down) is logged."""
    done: list[str] = []
    for item in json.loads(sessions_json or "[]"):
        name, session = item["connection"], item["session"]
        try:
            with open_connection(name) as driver:
                ended = driver.end_session(session)
        except Exception as exc:
            log.warning("cannot end session %s of connection %s: %s", session, name, exc)
            continue
        done.append(f"{name}: session {session} {'ended' if ended else 'already gone'}")
    return done


class Heartbeat:
    """Renews a lease every `every_s` seconds of `monotonic` time, when ``beat()`` is
    called often enough (the run's watcher calls it on each poll)."""

    def __init__(
        self,
        renew: Callable[[], bool],
        every_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._renew = renew
        self._every_s = every_s
        self._monotonic = monotonic
        self._last = monotonic()
        self.lost = False

    def beat(self) -> bool:
        """Renew if due; False once the lease was found gone (then never again)."""
        if self.lost or self._monotonic() - self._last < self._every_s:
            return not self.lost
        self._last = self._monotonic()
        with suppress(Exception):  # the store unreachable for a moment: try next time
            if not self._renew():
                self.lost = True
        return not self.lost
