"""Failure notifications: an email (SMTP) and/or a JSON POST to a webhook.

``Notifier.from_config(config)`` reads the ``smtp.*``, ``notify.webhook_url``
and ``server.base_url`` settings. ``notify_run_failed(run)`` and
``notify_group_failed(group_run, runs)`` send whatever is configured; nothing
configured is a no-op. A notification that cannot be delivered is logged on
the ``pipekit.notify`` logger and never raised: it must not fail the run.
What a message looks like is in docs/scheduler.md.
"""

from __future__ import annotations

import json
import logging
import smtplib
import socket
import ssl
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from pipekit.secrets import SecretsFile, resolve

if TYPE_CHECKING:
    from pipekit.config import Config
    from pipekit.store.runs import GroupRun, Run

log = logging.getLogger("pipekit.notify")

#: seconds to wait for the SMTP server or the webhook
TIMEOUT_S = 10.0
#: longest error text put in a webhook message (Slack truncates long texts anyway)
MAX_ERROR_CHARS = 2000


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S %Z") if value is not None else "-"


def _clip(text: str | None, limit: int = MAX_ERROR_CHARS) -> str:
    text = text or "(no error message)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Notifier:
    """Where failure notifications go; see the module docstring."""

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    #: a ``$VAR`` reference, resolved from `secrets` (then the environment) when sending
    smtp_password: str | None = None
    starttls: bool = True
    sender: str | None = None
    recipients: tuple[str, ...] = ()
    webhook_url: str | None = None
    base_url: str | None = None
    secrets: SecretsFile | None = None
    #: TLS context for STARTTLS; None = the system's trusted CAs
    tls_context: ssl.SSLContext | None = field(default=None, compare=False)
    timeout: float = TIMEOUT_S

    @classmethod
    def from_config(cls, config: Config) -> Notifier:
        v = config.values
        return cls(
            smtp_host=v.get("smtp.host") or None,
            smtp_port=v.get("smtp.port", 587),
            smtp_user=v.get("smtp.user") or None,
            smtp_password=v.get("smtp.password") or None,
            starttls=bool(v.get("smtp.starttls", True)),
            sender=v.get("smtp.sender") or None,
            recipients=tuple(str(r) for r in v.get("smtp.recipients") or ()),
            webhook_url=v.get("notify.webhook_url") or None,
            base_url=v.get("server.base_url") or None,
            secrets=SecretsFile(config.secrets_path),
        )

    # -- what is configured ------------------------------------------------------

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host and self.recipients)

    @property
    def webhook_enabled(self) -> bool:
        return bool(self.webhook_url)

    @property
    def enabled(self) -> bool:
        return self.email_enabled or self.webhook_enabled

    def link(self, path: str) -> str | None:
        """``{server.base_url}/{path}``, or None without a base URL."""
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}" if self.base_url else None

    # -- the notifications -------------------------------------------------------

    def notify_run_failed(self, run: Run) -> None:
        """Tell that module run `run` failed (its status and error as recorded)."""
        if not self.enabled:
            return
        url = self.link(f"runs/{run.id}")
        subject = f"[pipekit] module {run.module_name} failed (run {run.id})"
        rows = [
            ("module", run.module_name),
            ("run id", str(run.id)),
            ("status", run.status),
            ("triggered by", run.triggered_by or "-"),
            ("started", _when(run.started_at)),
            ("finished", _when(run.finished_at)),
            ("error", run.error or "(no error message)"),
        ]
        if url:
            rows.append(("link", url))
        body = f"Pipekit run {run.id} of module {run.module_name} failed.\n\n" + _table(rows)
        text = f"Pipekit: module *{run.module_name}* failed (run {run.id}): {_clip(run.error)}"
        if url:
            text += f"\n{url}"
        payload = {
            "text": text,
            "event": "run_failed",
            "module": run.module_name,
            "run_id": run.id,
            "status": run.status,
            "triggered_by": run.triggered_by,
            "error": run.error,
            "url": url,
        }
        self._deliver(f"run {run.id}", subject, body, payload)

    def notify_group_failed(self, group_run: GroupRun, runs: Sequence[Run] = ()) -> None:
        """Tell that group run `group_run` failed; `runs` are its member runs."""
        if not self.enabled:
            return
        url = self.link(f"group-runs/{group_run.id}")
        failed = [r for r in runs if r.status == "error"]
        subject = f"[pipekit] group {group_run.group_name} failed (group run {group_run.id})"
        rows = [
            ("group", group_run.group_name),
            ("group run id", str(group_run.id)),
            ("status", group_run.status),
            ("triggered by", group_run.triggered_by or "-"),
            ("started", _when(group_run.started_at)),
            ("finished", _when(group_run.finished_at)),
            ("error", group_run.error or "(no error message)"),
        ]
        if url:
            rows.append(("link", url))
        body = (
            f"Pipekit group run {group_run.id} of group {group_run.group_name} failed.\n\n"
            + _table(rows)
        )
        if runs:
            body += "\nMember runs:\n"
            for r in runs:
                body += f"  - {r.module_name}: run {r.id}, {r.status}"
                body += f": {r.error}\n" if r.error else "\n"
                member_url = self.link(f"runs/{r.id}")
                if member_url:
                    body += f"    {member_url}\n"
        text = (
            f"Pipekit: group *{group_run.group_name}* failed (group run {group_run.id}): "
            + _clip(group_run.error)
        )
        if url:
            text += f"\n{url}"
        payload = {
            "text": text,
            "event": "group_failed",
            "group": group_run.group_name,
            "group_run_id": group_run.id,
            "status": group_run.status,
            "triggered_by": group_run.triggered_by,
            "error": group_run.error,
            "url": url,
            "runs": [
                {
                    "module": r.module_name,
                    "run_id": r.id,
                    "status": r.status,
                    "error": r.error,
                    "url": self.link(f"runs/{r.id}"),
                }
                for r in runs
            ],
            "failed_modules": [r.module_name for r in failed],
        }
        self._deliver(f"group run {group_run.id}", subject, body, payload)

    # -- delivery ----------------------------------------------------------------

    def _deliver(self, what: str, subject: str, body: str, payload: dict[str, Any]) -> None:
        if self.email_enabled:
            try:
                self.send_email(subject, body)
            except Exception as exc:
                log.warning(
                    "could not email the failure of %s via %s:%s: %s",
                    what,
                    self.smtp_host,
                    self.smtp_port,
                    _describe(exc),
                )
            else:
                log.info("emailed the failure of %s to %s", what, ", ".join(self.recipients))
        if self.webhook_enabled:
            try:
                self.post_webhook(payload)
            except Exception as exc:
                log.warning(
                    "could not post the failure of %s to the webhook %s: %s",
                    what,
                    _safe_url(self.webhook_url or ""),
                    _describe(exc),
                )
            else:
                log.info("posted the failure of %s to the webhook", what)

    def send_email(self, subject: str, body: str) -> None:
        """Send one plain-text mail to the recipients; raises on any failure."""
        msg = EmailMessage()
        msg["Subject"] = subject
        msg["From"] = self.sender or f"pipekit@{socket.getfqdn()}"
        msg["To"] = ", ".join(self.recipients)
        msg.set_content(body)
        password = resolve(self.smtp_password, self.secrets) if self.smtp_password else None
        assert self.smtp_host
        with smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=self.timeout) as smtp:
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=self.tls_context or ssl.create_default_context())
                smtp.ehlo()
            if self.smtp_user and password:
                smtp.login(self.smtp_user, password)
            smtp.send_message(msg)

    def post_webhook(self, payload: dict[str, Any]) -> None:
        """POST `payload` as JSON; raises on a connection error or a non-2xx answer."""
        assert self.webhook_url
        request = urllib.request.Request(
            self.webhook_url,
            data=json.dumps(payload, default=str).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "pipekit"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            response.read()


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows) + 1
    return "".join(f"{(k + ':').ljust(width)} {v}\n" for k, v in rows)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _safe_url(url: str) -> str:
    """The webhook URL without its path: Slack puts the secret token there."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}/…"
