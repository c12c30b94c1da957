"""How the TUI writes values: status icons, times, row counts and durations.

Times are shown in the app's time zone, relative to the app's clock (both are
injected, so snapshots do not depend on when or where they are taken).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from pipekit.status import RunStatus

Clock = Callable[[], dt.datetime]

#: the tree's icons: last run ok, failed, disabled, running, never ran
ICON_OK, ICON_FAILED, ICON_DISABLED, ICON_RUNNING, ICON_NEVER = "✔", "✘", "○", "▶", "·"
#: the colour each run status is shown in
STATUS_STYLE: dict[str, str] = {
    RunStatus.QUEUED: "blue",
    RunStatus.RUNNING: "yellow",
    RunStatus.SUCCESS: "green",
    RunStatus.DRY_RUN: "cyan",
    RunStatus.ERROR: "red",
    RunStatus.CANCELLED: "magenta",
}


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def module_icon(*, enabled: bool, running: bool, last_status: str | None) -> str:
    """The tree icon of a module: running beats disabled beats its last run."""
    if running or last_status in (RunStatus.RUNNING, RunStatus.QUEUED):
        return ICON_RUNNING
    if not enabled:
        return ICON_DISABLED
    if last_status is None:
        return ICON_NEVER
    if last_status in (RunStatus.SUCCESS, RunStatus.DRY_RUN):
        return ICON_OK
    return ICON_FAILED


def when(ts: dt.datetime | None, now: dt.datetime, tz: dt.tzinfo | None) -> str:
    """`ts` as the time of day when it is today (in `tz`), else as date and time."""
    if ts is None:
        return "-"
    local, today = ts.astimezone(tz), now.astimezone(tz)
    if local.date() == today.date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M")


def rows(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def seconds(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 60:
        return f"{s:.1f} s"
    minutes, rest = divmod(int(s), 60)
    return f"{minutes}m{rest:02d}s"


def yes_no(value: bool) -> str:
    return "yes" if value else "no"
