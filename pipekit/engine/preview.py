"""What a module's next run would execute, planned as a dry run plans it, recorded nowhere.

``Engine.preview`` opens the connections to read (watermarks resolved, the
query probed, the merge planned) but begins, finishes, locks and logs nothing
in the state store: the log lines are kept in memory and returned.
"""

from __future__ import annotations

import json
import threading
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipekit.engine.execute import ModuleRun, describe

if TYPE_CHECKING:
    from pipekit.engine.run import Engine
    from pipekit.store.modules import Module


@dataclass(frozen=True)
class Preview:
    """The plan of a module's next run (``Engine.preview``); `error` when it cannot be made."""

    source_query: str | None
    merge_sql: str | None
    check_sql: str | None
    merge_strategy: str | None
    watermarks: dict[str, Any]
    error: str | None
    log: list[str]


class PreviewRun(ModuleRun):
    """A dry run's planning without its bookkeeping: log lines are kept in memory,
    and nothing is begun, finished, locked or unlocked in the state store."""

    def __init__(self, engine: Engine, module: Module) -> None:
        # run id 0: no run exists (it only names the swap tag and the audit literal)
        super().__init__(
            engine,
            module,
            0,
            dry_run=True,
            full_refresh=False,
            cancel=threading.Event(),
            on_event=None,
        )
        self.lines: list[str] = []

    def log(self, message: str, *, phase: str | None = None) -> None:
        if phase:
            self.phase = phase
        self.lines.append(message)

    def plan(self) -> Preview:
        error = None
        try:
            self._run()
        except Exception as exc:
            error = describe(exc)
        finally:
            for d in self.drivers:
                with suppress(Exception):
                    d.close()
        return Preview(
            source_query=self.record.get("source_query"),
            merge_sql=self.record.get("merge_sql"),
            check_sql="\n".join(self.check_sql) or None,
            merge_strategy=self.record.get("merge_strategy"),
            watermarks=json.loads(json.dumps(self.watermarks, default=str)),
            error=error,
            log=self.lines,
        )
