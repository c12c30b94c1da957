"""Driver.session / end_session: ending a (killed run's) session from another connection."""

from __future__ import annotations

import pytest

from pipekit.errors import DatabaseError
from tests.helpers import open_driver


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_end_session_ends_the_other_session_once(kind: str, driver_urls: dict[str, str]) -> None:
    victim = open_driver(kind, driver_urls)
    ender = open_driver(kind, driver_urls)
    try:
        session = victim.session()
        assert session is not None and session != ender.session()
        assert victim.query("SELECT 1") == [(1,)]
        assert ender.end_session(session) is True
        with pytest.raises(DatabaseError):
            victim.query("SELECT 1")
        assert ender.end_session(session) is False  # gone already
        assert ender.query("SELECT 1") == [(1,)]  # the ender's own session is untouched
    finally:
        victim.close()
        ender.close()


def test_a_later_backend_with_the_same_pid_is_not_ended(driver_urls: dict[str, str]) -> None:
    """A PostgreSQL session is named by pid and start time: a stale record never ends
    another backend that was given the same pid."""
    live = open_driver("postgresql", driver_urls)
    ender = open_driver("postgresql", driver_urls)
    try:
        pid = (live.session() or "").split("@")[0]
        assert ender.end_session(f"{pid}@2001-01-01 00:00:00+00") is False
        assert live.query("SELECT 1") == [(1,)]
    finally:
        live.close()
        ender.close()


def test_postgresql_sessions_check_that_their_client_is_there(
    driver_urls: dict[str, str],
) -> None:
    d = open_driver("postgresql", driver_urls)
    try:
        (value,) = d.query("SELECT current_setting('client_connection_check_interval')")[0]
        assert value == "1s"
    finally:
        d.close()


def test_embedded_databases_have_no_session_to_end(driver_urls: dict[str, str]) -> None:
    d = open_driver("sqlite", driver_urls)
    try:
        assert d.session() is None and d.end_session("1") is False
    finally:
        d.close()
