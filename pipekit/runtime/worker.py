"""A child process that carries out one run opened by the server (``RunPool``).

    python -m pipekit.runtime.worker [--config PATH] [--memory-limit-mb N]
        module RUN_ID NAME [--dry-run] [--full-refresh]
    python -m pipekit.runtime.worker [--config PATH] [--memory-limit-mb N]
        group GROUP_RUN_ID NAME [--dry-run] [--triggered-by WHO]

The parent has already opened the run (and, for a module, taken its lock); this
process adopts it (its pid goes on the run and the lock), carries it out with
the engine and records the outcome. SIGTERM asks the run to stop, like
``pipekit runs cancel``: the statement in flight is interrupted, the
destination rolls back. Exit code 0 means the run was carried out and recorded,
whatever its status; anything else (a traceback, a signal) is seen by the
parent, which records the run as failed and frees its lock.

A worker whose server died (killed, out of memory) kills itself at once: nobody
would record its end, and the queue the server left is restarted, not its runs
(a run that was going ends ``error`` "interrupted" when its lease is recovered,
and the database sessions it recorded are ended then).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

#: how often a worker checks that its server is still there
PARENT_POLL_S = 0.5


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m pipekit.runtime.worker")
    p.add_argument("--config", type=Path, default=None, help="bootstrap config to load")
    p.add_argument(
        "--memory-limit-mb",
        type=int,
        default=None,
        help="address-space limit of this process (RLIMIT_AS), in MiB",
    )
    sub = p.add_subparsers(dest="kind", required=True)
    m = sub.add_parser("module", help="carry out a module run opened by Engine.start_module")
    m.add_argument("id", type=int)
    m.add_argument("name")
    m.add_argument("--dry-run", action="store_true")
    m.add_argument("--full-refresh", action="store_true")
    g = sub.add_parser("group", help="carry out a group run opened by runs.start_group")
    g.add_argument("id", type=int)
    g.add_argument("name")
    g.add_argument("--dry-run", action="store_true")
    g.add_argument("--triggered-by", default="api")
    return p


def _watch_parent(parent: int, every_s: float = PARENT_POLL_S) -> None:
    """SIGKILL this process once its parent is gone (re-parented: the pid changes)."""

    def loop() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=loop, name="pipekit-parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.memory_limit_mb:
        import resource

        limit = args.memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    _watch_parent(os.getppid())
    cancel = threading.Event()
    # SIGTERM (server shutdown, group cancel) stops the run the way a cancel does.
    signal.signal(signal.SIGTERM, lambda *_: cancel.set())

    # Imported after the limit is set, so the limit covers everything the run loads.
    from pipekit.config import load_config
    from pipekit.engine.run import Engine, run_group
    from pipekit.store import Store

    config = load_config(args.config)
    with Store.open(config) as store:
        engine = Engine.from_config(store, config)
        if args.kind == "module":
            engine.run_module(
                args.name,
                run_id=args.id,
                dry_run=args.dry_run,
                full_refresh=args.full_refresh,
                cancel=cancel,
            )
        else:
            run_group(
                engine,
                args.name,
                group_run_id=args.id,
                dry_run=args.dry_run,
                triggered_by=args.triggered_by,
                cancel=cancel,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
