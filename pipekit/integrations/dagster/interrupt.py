"""A Pipekit run inside a Dagster step, cancelled cleanly when Dagster terminates the run.

Dagster stops a run it terminates by raising ``DagsterExecutionInterruptedError`` (or
``KeyboardInterrupt``) in the step's thread. Raised inside the engine, that would end
the Pipekit run as an error at whatever point it reached; so the run goes on in a
worker thread while the step's thread waits, and an interruption of the wait sets the
run's cancel event instead: the engine stops, rolls back (the destination as it was),
ends the run ``cancelled`` and releases the lock; then the interruption goes on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

#: how often the waiting thread wakes to take an interruption (seconds)
WAKE_S = 0.25


class _Outcome(Generic[T]):
    def __init__(self) -> None:
        self.value: T | None = None
        self.error: BaseException | None = None


def run_cancellable(work: Callable[[threading.Event], T], *, name: str = "pipekit-run") -> T:
    """``work(cancel)`` in a worker thread; what it answers or raises. If this thread is
    interrupted meanwhile, `cancel` is set, the worker waited for, and the interruption
    re-raised."""
    cancel, done = threading.Event(), threading.Event()
    outcome: _Outcome[T] = _Outcome()

    def target() -> None:
        try:
            outcome.value = work(cancel)
        except BaseException as exc:  # handed to the waiting thread
            outcome.error = exc
        finally:
            done.set()

    # Waited for on an Event, not Thread.join: an interruption inside join() can leave
    # the thread looking finished while it still runs.
    threading.Thread(target=target, name=name, daemon=True).start()
    try:
        # Woken now and then: a signal the kernel hands to another thread is only
        # raised here when this thread runs Python code again.
        while not done.wait(WAKE_S):
            pass
    except BaseException:
        cancel.set()
        done.wait()
        raise
    if outcome.error is not None:
        raise outcome.error
    return outcome.value  # type: ignore[return-value]  # set when no error was raised
