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
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"

# scheme://user:SECRET@host  (the user part may be empty: scheme://:SECRET@host)
# (greedy up to the last "@" before the host, so a password holding "@" is masked whole)
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^/:@\s'\"]*:)[^\s'\"/]*@")
# password=SECRET, pwd=SECRET, PGPASSWORD='SECRET' ... in query strings and DSNs
_SETTING = re.compile(
    r"(?P<head>\b(?:[A-Za-z_]*password|passwd|pwd|api_key)\s*=\s*)"
    r"(?:(?P<quote>['\"]).*?(?P=quote)|[^\s'\"&;,)]+)",
    re.IGNORECASE,
)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with URL passwords, ``password=...`` values and the given `secrets` masked."""
    if not text:
        return text
    for secret in secrets:
        if secret and len(secret) >= 3:  # masking "a" would mangle every message
            text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{MASK}@", text)
    return _SETTING.sub(
        lambda m: f"{m.group('head')}{m.group('quote') or ''}{MASK}{m.group('quote') or ''}", text
    )
