"""The Dagster sensor's cursor over Pipekit's run log (``RunCursor``).

It keeps the highest run id looked at, plus the ids to look at again: runs that were
still running, and ids below the highest that were not there yet (a run whose insert
had not committed when a later one had). So each finished run is seen once, even
when runs end out of id order. Pure: it reads nothing itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipekit.integrations.dagster.resource import started_by_dagster
from pipekit.services.runs import RunView
from pipekit.status import ACTIVE

#: ticks an id missing below the cursor is looked for before it is given up
#: (an id a rolled-back insert used never appears)
GAP_TICKS = 10


@dataclass
class RunCursor:
    """The sensor's cursor: `last` run id looked at, `running` ids to look at again,
    `gaps` missing ids with the ticks left to wait for them."""

    last: int | None = None
    running: list[int] = field(default_factory=list)
    gaps: dict[int, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None) -> RunCursor:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            data["last"],
            [int(i) for i in data.get("running", [])],
            {int(k): int(v) for k, v in data.get("gaps", {}).items()},
        )

    def dump(self) -> str:
        return json.dumps(
            {"last": self.last, "running": self.running, "gaps": self.gaps}, sort_keys=True
        )

    def again(self) -> list[int]:
        """The ids below `last` to read again."""
        return sorted({*self.running, *self.gaps})

    def advance(self, runs: Sequence[RunView]) -> tuple[RunCursor, list[RunView]]:
        """The next cursor after reading `runs` (``RunService.after(last, also=again())``)
        and the finished runs Dagster did not start, each once, by id."""
        last = self.last or 0
        seen = {r.id: r for r in runs}
        running: list[int] = []
        gaps: dict[int, int] = {}
        report: list[RunView] = []
        new_last = max([last, *(i for i in seen if i > last)])
        expected = set(range(last + 1, new_last)) | set(self.gaps)
        for run_id in sorted(seen):
            run = seen[run_id]
            if run.status in ACTIVE:  # queued or running: read again until it ends
                running.append(run_id)
            else:
                report.append(run)
        for run_id in sorted(expected - seen.keys()):
            left = self.gaps.get(run_id, GAP_TICKS) - 1
            if left > 0:
                gaps[run_id] = left
        outside = [r for r in report if not started_by_dagster(r.triggered_by)]
        return RunCursor(new_last, running, gaps), outside
