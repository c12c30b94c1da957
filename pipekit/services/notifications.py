"""Failure notifications: sent wherever a run ends, shown and tested by the console.

The server's background runs end in its run pool (``on_finished``); the command
line's runs (`pipekit run`, `run-group`, cron jobs calling them) end in this
process. Both call ``run_ended``, which sends the mail and/or webhook of
``pipekit.runtime.notify`` when the run or group run failed. A module run inside
a group is reported with its group, once. ``notify.cli_runs: false`` keeps the
command line quiet (for a crontab that mails its own output, say).

The settings are read-only (they live in the bootstrap YAML): ``settings()`` shows
them and ``send_test()`` sends a test notice through the very code that sends
failure notices (``GET /api/settings/notifications``, ``POST …/test``, and the web
console's settings page).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from pipekit.errors import InvalidError
from pipekit.redact import redact

if TYPE_CHECKING:
    from pipekit.runtime.notify import Notifier
    from pipekit.services import Services

log = logging.getLogger("pipekit.notify")


NOT_CONFIGURED = (
    "no notification is configured; set smtp.host and smtp.recipients (email) or "
    "notify.webhook_url (webhook) in the config file, then restart `pipekit serve`"
)


@dataclass(frozen=True)
class NotificationSettingsView:
    """What is configured. The SMTP password is its ``$VAR`` reference, never a value;
    the webhook URL is shown with any credentials in it masked."""

    email_enabled: bool
    smtp_host: str | None
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_starttls: bool
    sender: str | None
    recipients: list[str]
    webhook_enabled: bool
    webhook_url: str | None
    base_url: str | None
    config_path: str | None


@dataclass(frozen=True)
class DeliveryView:
    channel: str  # email | webhook
    ok: bool
    error: str | None


@dataclass(frozen=True)
class TestNotificationView:
    deliveries: list[DeliveryView]


class NotificationService:
    """Failure notices for runs that ended (never raising), the settings, a test."""

    def __init__(self, sv: Services) -> None:
        self._sv = sv

    def _fresh_notifier(self) -> Notifier:
        from pipekit.runtime.notify import Notifier

        return Notifier.from_config(self._sv.config)

    @cached_property
    def _notifier(self) -> Notifier | None:
        try:
            return self._fresh_notifier()
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

    def settings(self) -> NotificationSettingsView:
        n = self._fresh_notifier()
        path = self._sv.config.path
        return NotificationSettingsView(
            email_enabled=n.email_enabled,
            smtp_host=n.smtp_host,
            smtp_port=int(n.smtp_port),
            smtp_user=n.smtp_user,
            smtp_password=n.smtp_password if n.smtp_password else None,
            smtp_starttls=n.starttls,
            sender=n.sender,
            recipients=list(n.recipients),
            webhook_enabled=n.webhook_enabled,
            webhook_url=redact(n.webhook_url) if n.webhook_url else None,
            base_url=n.base_url,
            config_path=str(path) if path else None,
        )

    def send_test(self) -> TestNotificationView:
        """Send a test notice by every configured channel; each channel's outcome (a
        failure is reported, redacted, not raised). InvalidError when none is set up."""
        n = self._fresh_notifier()
        if not n.enabled:
            raise InvalidError(NOT_CONFIGURED, path="notifications")
        who = self._sv.actor
        subject = "Pipekit: test notification"
        body = f"This is a test notification, sent by {who} from the Pipekit console.\n"
        out = []
        if n.email_enabled:
            try:
                n.send_email(subject, body)
                out.append(DeliveryView("email", True, None))
            except Exception as exc:
                out.append(DeliveryView("email", False, redact(f"{type(exc).__name__}: {exc}")))
        if n.webhook_enabled:
            try:
                n.post_webhook({"text": f"{subject}: {body.strip()}", "test": True})
                out.append(DeliveryView("webhook", True, None))
            except Exception as exc:
                out.append(DeliveryView("webhook", False, redact(f"{type(exc).__name__}: {exc}")))
        return TestNotificationView(out)
