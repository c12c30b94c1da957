"""A run's progress as events, for progress bars: each live-log line and the row count."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RunEvent:
    """Progress of a run, for progress bars: each live-log line and the row count."""

    run_id: int
    module: str
    phase: str
    message: str | None
    rows: int
    rows_per_s: float


EventHandler = Callable[[RunEvent], None]
