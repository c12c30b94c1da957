"""The manifest's health_check: one request to a real HTTP server on 127.0.0.1,
with settings and env vars substituted and the env-var values masked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipekit.connectors.health import check_spec, run_health_check
from tests.connectors.sources import status_server
from tests.helpers import free_port


@pytest.fixture
def server() -> Iterator[str]:
    with status_server("tok-31337") as url:
        yield url


SPEC = {"endpoint": "${url}/v2/storage", "headers": {"X-Token": "${ACME_TOKEN}"}}


def test_health_check_passes_with_settings_and_env_vars(server: str) -> None:
    detail = run_health_check(SPEC, {"url": server}, {"ACME_TOKEN": "tok-31337"})
    assert detail == f"GET {server}/v2/storage answered 200"


def test_wrong_status_and_unreachable_server_fail_without_the_token(server: str) -> None:
    with pytest.raises(AssertionError, match="answered 401, expected 200"):
        run_health_check(SPEC, {"url": server}, {"ACME_TOKEN": "wrong-token"})
    spec = {
        "endpoint": f"http://127.0.0.1:{free_port()}/?key=${{ACME_TOKEN}}",
        "timeout_seconds": 2,
    }
    with pytest.raises(AssertionError, match="failed") as exc:
        run_health_check(spec, {}, {"ACME_TOKEN": "tok-31337"})
    assert "tok-31337" not in str(exc.value) and "***" in str(exc.value)
    with pytest.raises(AssertionError, match=r"\$\{nope\} is neither a setting"):
        run_health_check({"endpoint": "${nope}/x"}, {}, {})


def test_a_bad_health_check_spec_names_each_key() -> None:
    problems = {
        p.path: p.message
        for p in check_spec({"method": "PATCH", "expect_status": "ok", "retries": 3})
    }
    assert set(problems) == {
        "health_check.endpoint",
        "health_check.method",
        "health_check.expect_status",
        "health_check.retries",
    }
