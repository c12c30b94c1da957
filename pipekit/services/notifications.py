"""Failure notifications as configured (read-only: they live in the bootstrap YAML), and
a test notification sent through the very code that sends failure notices.

``GET /api/settings/notifications`` and ``POST /api/settings/notifications/test`` give
the same views as the web console's settings page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipekit.errors import InvalidError
from pipekit.redact import redact

if TYPE_CHECKING:
    from pipekit.runtime.notify import Notifier
    from pipekit.services import Services

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
    def __init__(self, sv: Services) -> None:
        self._sv = sv

    def _notifier(self) -> Notifier:
        from pipekit.runtime.notify import Notifier

        return Notifier.from_config(self._sv.config)

    def settings(self) -> NotificationSettingsView:
        n = self._notifier()
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
        n = self._notifier()
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
