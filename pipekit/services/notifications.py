"""Failure notifications for every run, wherever it ends.

The server's background runs end in its run pool (``on_finished``); the command
line's runs (`pipekit run`, `run-group`, cron jobs calling them) end in this
process. Both call ``run_ended``, which sends the mail and/or webhook of
``pipekit.runtime.notify`` when the run or group run failed. A module run inside
a group is reported with its group, once. ``notify.cli_runs: false`` keeps the
command line quiet (for a crontab that mails its own output, say).
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipekit.services import Services

log = logging.getLogger("pipekit.notify")


class NotificationService:
    """Sends the failure notification of a run that ended; never raises."""

    def __init__(self, sv: Services) -> None:
        self._sv = sv

    @cached_property
    def _notifier(self) -> Any:
        from pipekit.runtime.notify import Notifier

        try:
            return Notifier.from_config(self._sv.config)
        except Exception:
            log.exception("notifications disabled: the notifier could not be set up")
            return None

    @property
    def for_cli(self) -> bool:
        """Whether runs started from the command line notify (``notify.cli_runs``)."""
        return bool(self._sv.config["notify.cli_runs"])

    def run_ended(self, run_id: int | None = None, group_run_id: int | None = None) -> bool:
        """Notify about run `run_id` or group run `group_run_id` if it failed; True when
        a notification was attempted. Delivery problems are logged, never raised."""
        config = self._sv.config
        if not (config["smtp.host"] or config["notify.webhook_url"]):
            return False  # nothing configured: not even the mail and HTTP modules load
        notifier = self._notifier
        if notifier is None or not notifier.enabled:
            return False
        runs = self._sv.store.runs
        try:
            if run_id is not None:
                run = runs.get(run_id)
                if run.status != "error" or run.group_run_id is not None:
                    return False
                notifier.notify_run_failed(run)
                return True
            if group_run_id is not None:
                group_run = runs.get_group(group_run_id)
                if group_run.status != "error":
                    return False
                notifier.notify_group_failed(
                    group_run, runs.list(group_run_id=group_run_id, limit=1000)
                )
                return True
        except Exception:
            log.exception("a failure notification could not be sent")
        return False
