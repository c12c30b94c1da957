"""What `pipekit serve` writes to its log: one line per event, as text or as JSON.

``setup(fmt)`` sends the ``pipekit.*`` and uvicorn loggers to stderr, one line each:

- ``text``: ``2026-12-06 05:00:00Z INFO pipekit.runs: run 12 ended success: …``
- ``json``: ``{"time": "…Z", "level": "INFO", "logger": "pipekit.runs", "message":
  "…", "event": "run_ended", "run_id": 12, "module_name": "orders", …}`` for journald
  and log shippers; the fields of ``EXTRA_FIELDS`` given with ``extra=`` become
  keys of their own.

Messages are redacted (``pipekit.redact``) on the way out as a last guard; run
errors are redacted already when recorded.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Literal

from pipekit.redact import redact

LogFormat = Literal["text", "json"]
FORMATS: tuple[LogFormat, ...] = ("text", "json")
#: structured fields a log call may pass with ``extra=`` (JSON keys of their own)
EXTRA_FIELDS = (
    "event",
    "run_id",
    "group_run_id",
    "module_name",
    "group_name",
    "trigger",
    "status",
    "rows",
    "duration_s",
    "error",
    "schedule_id",
    "cron",
    "url",
)


def _utc(record: logging.LogRecord) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{stamp}.{int(record.msecs):03d}Z"


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = f"{_utc(record)} {record.levelname} {record.name}: {redact(record.getMessage())}"
        if record.exc_info:
            line += "\n" + redact(self.formatException(record.exc_info))
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "time": _utc(record),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key in EXTRA_FIELDS:
            value = record.__dict__.get(key)
            if value is not None:
                doc[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            doc["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(doc, default=str)


def setup(fmt: LogFormat = "text", level: int = logging.INFO) -> None:
    """Route pipekit's and uvicorn's loggers to one stderr handler in format `fmt`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    for name in ("pipekit", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
