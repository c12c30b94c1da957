"""Bad connection inputs: each gets a clear error, and no secret ever shows in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipekit.drivers import connect, kind_for_url, parse_url
from pipekit.errors import (
    ConnectionSpecError,
    TerminalDatabaseError,
    TransientDatabaseError,
    UnknownSchemeError,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", "empty"),
        ("127.0.0.1:5432/erp", "expected kind://host"),
        ("postgresql://:5432/erp", "no host"),
        ("postgresql://db:notaport/erp", "Port could not be cast"),
        ("sqlite://relative.db", "three slashes"),
    ],
)
def test_malformed_url(url: str, expected: str) -> None:
    with pytest.raises(ConnectionSpecError, match=expected):
        parse_url(url)


def test_password_inside_url_is_refused_and_not_echoed() -> None:
    with pytest.raises(ConnectionSpecError) as info:
        parse_url("postgresql://etl:hunter2@127.0.0.1/erp")
    assert "hunter2" not in str(info.value)
    assert "pipekit secrets set" in str(info.value)


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(UnknownSchemeError, match=r"oracle.*known schemes: .*postgresql"):
        kind_for_url("oracle://db/x")


def test_unreachable_host_is_transient_and_says_why() -> None:
    with pytest.raises(TransientDatabaseError, match="refused") as info:
        connect("postgresql://127.0.0.1:1/test", user="postgres", password="s3cr3t-value")
    assert "s3cr3t-value" not in str(info.value)


def test_wrong_password_is_terminal_and_never_printed(mysql_url: str) -> None:
    with pytest.raises(TerminalDatabaseError, match="Access denied") as info:
        connect(mysql_url, user="root", password="wr0ng-Pa55")
    assert "wr0ng-Pa55" not in str(info.value)
    assert "wr0ng-Pa55" not in repr(info.value.reason)


def test_unknown_postgres_database(pg_url: str) -> None:
    bad = pg_url.rsplit("/", 1)[0] + "/no_such_database_here"
    with pytest.raises(TerminalDatabaseError, match="does not exist"):
        connect(bad, user="postgres")


@pytest.mark.parametrize("scheme", ["sqlite", "duckdb"])
def test_missing_database_file_is_not_created(scheme: str, tmp_path: Path) -> None:
    missing = tmp_path / "nope" / f"missing.{scheme}"
    with pytest.raises(ConnectionSpecError, match=r"does not exist.*create=true"):
        connect(f"{scheme}:///{missing}")
    assert not missing.exists()


def test_relative_file_urls_are_made_absolute(tmp_path: Path) -> None:
    from pipekit.drivers.url import absolute_file_url

    assert absolute_file_url("sqlite:///data/x.db?create=true", tmp_path) == (
        f"sqlite:///{tmp_path}/data/x.db?create=true"
    )
    assert absolute_file_url(f"duckdb:///{tmp_path}/w.duckdb", Path("/elsewhere")) == (
        f"duckdb:///{tmp_path}/w.duckdb"
    )
    assert absolute_file_url("postgresql://h/db", tmp_path) == "postgresql://h/db"
