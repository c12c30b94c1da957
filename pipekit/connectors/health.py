"""A manifest's ``health_check``: one HTTP request that says the source is reachable.

::

    health_check:
      endpoint: "${url}/v2/storage"          # ${NAME}: a setting, else a declared env var
      method: GET                            # GET (default), HEAD or POST
      headers: {X-Token: "${ACME_TOKEN}"}
      expect_status: 200                     # default 200
      timeout_seconds: 10                    # default 10

``pipekit connector test`` runs it (the ``health`` check) before the others. The
values substituted from environment variables are masked in whatever it reports.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from pipekit.errors import Problem
from pipekit.redact import redact

__all__ = ["KEYS", "check_spec", "run_health_check"]

KEYS = ("endpoint", "method", "headers", "expect_status", "timeout_seconds")
METHODS = ("GET", "HEAD", "POST")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def check_spec(spec: dict[str, Any]) -> list[Problem]:
    """What is wrong with a ``health_check`` mapping, each with its path."""
    problems = [
        Problem(f"health_check.{k}", f"unknown key; the keys are: {', '.join(KEYS)}")
        for k in spec
        if k not in KEYS
    ]
    if not isinstance(spec.get("endpoint"), str) or not spec["endpoint"]:
        problems.append(Problem("health_check.endpoint", "is required: the URL to request"))
    if spec.get("method", "GET") not in METHODS:
        problems.append(Problem("health_check.method", f"must be one of: {', '.join(METHODS)}"))
    headers = spec.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        problems.append(Problem("health_check.headers", "must map header names to strings"))
    status = spec.get("expect_status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        problems.append(Problem("health_check.expect_status", "must be an HTTP status (200)"))
    timeout = spec.get("timeout_seconds", 10)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        problems.append(Problem("health_check.timeout_seconds", "must be a number above 0"))
    return problems


def run_health_check(
    spec: Mapping[str, Any], settings: Mapping[str, Any], environ: Mapping[str, str]
) -> str:
    """Request the endpoint; the status line on success, AssertionError saying what
    went wrong otherwise (with the substituted secrets masked)."""
    secrets: list[str] = []

    def fill(text: str) -> str:
        def value(m: re.Match[str]) -> str:
            name = m.group(1)
            if name in settings:
                return str(settings[name])
            if environ.get(name):
                secrets.append(environ[name])
                return environ[name]
            raise AssertionError(
                f"health_check: ${{{name}}} is neither a setting nor a set environment variable"
            )

        return _PLACEHOLDER.sub(value, text)

    url = fill(str(spec["endpoint"]))
    headers = {k: fill(v) for k, v in (spec.get("headers") or {}).items()}
    method = spec.get("method", "GET")
    expected = spec.get("expect_status", 200)
    shown = redact(url, secrets)
    if not url.startswith(("http://", "https://")):
        raise AssertionError(f"health_check: {shown!r} is not an http:// or https:// URL")
    request = urllib.request.Request(url, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=spec.get("timeout_seconds", 10)) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AssertionError(f"{method} {shown} failed: {redact(str(reason), secrets)}") from None
    if status != expected:
        raise AssertionError(f"{method} {shown} answered {status}, expected {expected}")
    return f"{method} {shown} answered {status}"
