"""Run one module in a process of its own, so a test can SIGKILL it mid-run.

Usage: python _run_child.py STATE_DB MODULE [LIVE_EVERY_S]

LIVE_EVERY_S makes the live log report rows more often than the engine's default
(so a test sees "rows so far" sooner). Prints the run's status when it ends (it
normally does not: the test kills it).
"""

from __future__ import annotations

import sys

from pipekit.engine import staging
from pipekit.engine.run import Engine
from pipekit.store import Store


def main() -> int:
    state_db, module = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3:
        staging.LIVE_EVERY_S = float(sys.argv[3])
    with Store.open(state_db) as store:
        run = Engine(store).run_module(module, triggered_by="test-child")
    print(run.status, run.error or "", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
