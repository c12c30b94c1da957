"""A typed client of Pipekit's REST API, for the TUI, the tests and any other tool.

    with PipekitClient("http://127.0.0.1:8100", "admin", password) as api:
        for m in api.modules():
            ...

It imports only httpx and Pipekit's foundation (``errors``, ``status``): it
talks to a server over HTTP and never reaches into the services or the store.
Errors come back as the ``pipekit.errors`` classes the server raised.
"""

from __future__ import annotations

from pipekit.client.http import PipekitClient, RunStream
from pipekit.client.models import (
    Cancel,
    ColumnMapping,
    Connection,
    Hook,
    LogLine,
    Mapping,
    Module,
    Preview,
    Probe,
    Proposal,
    ProposedColumn,
    RecentRun,
    Run,
    RunEnded,
    StreamEvent,
    Tables,
    Unlock,
)

__all__ = [
    "Cancel",
    "ColumnMapping",
    "Connection",
    "Hook",
    "LogLine",
    "Mapping",
    "Module",
    "PipekitClient",
    "Preview",
    "Probe",
    "Proposal",
    "ProposedColumn",
    "RecentRun",
    "Run",
    "RunEnded",
    "RunStream",
    "StreamEvent",
    "Tables",
    "Unlock",
]
