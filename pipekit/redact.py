"""One way to mask secret values in text: passwords in URLs and ``password=`` settings.

    >>> redact("cannot parse postgresql://etl:hunter2@db1:99999/erp")
    'cannot parse postgresql://etl:***@db1:99999/erp'
    >>> redact("connect failed: password=hunter2 host=db1")
    'connect failed: password=*** host=db1'

Every ``PipekitError`` message passes through ``redact`` when the error is made
(``pipekit.errors``), and so do run-log lines and the errors of foreign
exceptions the engine records, so no face has to remember to scrub. Known
secret values (a driver's resolved password) can be given as ``secrets`` and
are masked wherever they appear.

As Airflow masks task logs, every secret value this process has read (the
secrets file's values, a ``$VAR`` resolved from the environment) is remembered
(``remember``) and masked by every later ``redact`` call, whatever the text: a
query that selects a password, a database error quoting it, a watermark holding
it. The state store's run records and live log, API error answers and CLI
errors all pass through ``redact``.

    >>> remember(["s3cr3t-Value"])
    >>> redact("SELECT 's3cr3t-Value' AS leaked")
    "SELECT '***' AS leaked"
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
#: shorter values are not masked: masking "a" or "1" would mangle every message
MIN_SECRET_LENGTH = 3
_known: set[str] = set()

# scheme://user:SECRET@host  (the user part may be empty: scheme://:SECRET@host)
# (greedy up to the last "@" before the host, so a password holding "@" is masked whole)
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^/:@\s'\"]*:)[^\s'\"/]*@")
# password=SECRET, pwd=SECRET, PGPASSWORD='SECRET' ... in query strings and DSNs
_SETTING = re.compile(
    r"(?P<head>\b(?:[A-Za-z_]*password|passwd|pwd|api_key)\s*=\s*)"
    r"(?:(?P<quote>['\"]).*?(?P=quote)|[^\s'\"&;,)]+)",
    re.IGNORECASE,
)


def remember(secrets: Iterable[str | None]) -> None:
    """Mask these values in every later ``redact`` of this process (the values a
    process reads from the secrets file or resolves from the environment)."""
    _known.update(s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with URL passwords, ``password=...`` values, every remembered secret value
    and the given `secrets` masked."""
    if not text:
        return text
    given = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
    # the longest first: a secret that contains another is masked whole
    for secret in sorted(given | _known, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{MASK}@", text)
    return _SETTING.sub(
        lambda m: f"{m.group('head')}{m.group('quote') or ''}{MASK}{m.group('quote') or ''}", text
    )
