"""Start-up without the cyclic garbage collector walking the freshly imported modules.

A command imports most of what it uses lazily: typer, Rich, SQLAlchemy, sqlglot,
pyarrow, a driver — some 130,000 tracked objects for a ``pipekit run``, nearly
all alive until exit. Python's collector makes a full pass each time enough new
objects pile up, so during start-up it walks that growing heap again and again,
and once more at interpreter shutdown.

``main()`` holds the collector off (``hold``) and ``started()``, called once the
command has its store open, moves everything alive by then into the permanent
generation (``gc.freeze``) and turns collection back on, so later passes look
only at objects made after start-up and a long run or ``pipekit serve`` is
collected as usual. Commands that never open the store are short and keep the
collector off to the end. ``finish()`` freezes again before exit, so the
shutdown pass has nothing left to walk; the process is ending, and everything
Pipekit must flush or close (state DB, drivers, files) it closes explicitly.

Only the console entry point holds the collector: importing ``pipekit.cli``
(tests, the API) leaves it alone.
"""

from __future__ import annotations

import gc

_held = False


def hold() -> None:
    """Pause cyclic collection for the start-up of a command."""
    global _held
    if gc.isenabled():
        gc.disable()
        _held = True


def started() -> None:
    """Start-up is over: freeze what exists and collect again (no-op unless held)."""
    global _held
    if _held:
        gc.freeze()
        gc.enable()
        _held = False


def finish() -> None:
    """The command is done: spare the shutdown pass the objects alive now."""
    gc.freeze()
