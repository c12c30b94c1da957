"""Failure notifications delivered to a real local SMTP server (aiosmtpd) and a
real local HTTP server, each started by the test on a free port."""

from __future__ import annotations

import email
import logging
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from pipekit.config import parse_config
from pipekit.runtime.notify import Notifier
from pipekit.secrets import SecretsFile
from pipekit.store import Store
from pipekit.store.runs import GroupRun, Run
from tests.helpers import http_server

BASE_URL = "https://pipekit.example.com"
ERROR = "CheckFailedError: check no_negative_totals returned 3 row(s)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- a local SMTP server ------------------------------------------------------------


@dataclass
class Inbox:
    messages: list[tuple[list[str], Message]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((user, password))
        # handled=False: aiosmtpd answers 535 itself (else the client waits for an answer)
        return AuthResult(success=(user, password) == ("etl", "s3cret"), handled=False)


@contextmanager
def smtp_server(**kwargs: Any) -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=inbox.authenticate,
        auth_require_tls=kwargs.pop("auth_require_tls", False),
        **kwargs,
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


# -- a local HTTP server ------------------------------------------------------------


# -- runs to notify about -------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "state.db")
    s.init()
    s.modules.add("orders")
    s.modules.add("customers")
    s.groups.add("nightly", members=["customers", "orders"])
    yield s
    s.close()


@pytest.fixture
def failed_run(store: Store) -> Run:
    run_id = store.runs.start("orders", triggered_by="schedule:3", pid=1, host="h")
    return store.runs.finish(run_id, "error", error=ERROR)


@pytest.fixture
def failed_group(store: Store) -> tuple[GroupRun, list[Run]]:
    gid = store.runs.start_group("nightly", triggered_by="schedule:3")
    ok = store.runs.start("customers", group_run_id=gid, triggered_by="schedule:3", pid=1, host="h")
    bad = store.runs.start("orders", group_run_id=gid, triggered_by="schedule:3", pid=1, host="h")
    runs = [store.runs.finish(ok, "success"), store.runs.finish(bad, "error", error=ERROR)]
    return store.runs.finish_group(gid, "error", error=f"orders: {ERROR}"), runs


@pytest.fixture
def secrets(tmp_path: Path) -> SecretsFile:
    f = SecretsFile(tmp_path / "secrets.env")
    f.set("SMTP_PW", "s3cret")
    return f


def _notifier(port: int, secrets: SecretsFile | None = None, **kw: Any) -> Notifier:
    settings: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "starttls": False,
        "sender": "pipekit@example.com",
        "recipients": ("ops@example.com", "dba@example.com"),
        "base_url": BASE_URL,
        "secrets": secrets,
        "timeout": 5,
    }
    return Notifier(**{**settings, **kw})


# -- email ----------------------------------------------------------------------------


def test_run_failure_email_reaches_a_real_smtp_server_with_login(
    failed_run: Run, secrets: SecretsFile, caplog: pytest.LogCaptureFixture
) -> None:
    with smtp_server() as (inbox, port):
        notifier = _notifier(port, secrets, smtp_user="etl", smtp_password="$SMTP_PW")
        with caplog.at_level(logging.INFO, logger="pipekit.notify"):
            notifier.notify_run_failed(failed_run)
    assert inbox.logins == [("etl", "s3cret")]  # the $VAR reference, resolved from the file
    ((rcpt, msg),) = inbox.messages
    assert rcpt == ["ops@example.com", "dba@example.com"]
    assert msg["From"] == "pipekit@example.com"
    assert msg["Subject"] == f"[pipekit] module orders failed (run {failed_run.id})"
    body = msg.get_payload(decode=True).decode()
    assert "module:       orders" in body
    assert f"run id:       {failed_run.id}" in body
    assert ERROR in body
    assert f"{BASE_URL}/runs/{failed_run.id}" in body
    assert "triggered by: schedule:3" in body
    assert "emailed the failure" in caplog.text
    assert "s3cret" not in caplog.text


def test_group_failure_email_lists_the_member_runs(
    failed_group: tuple[GroupRun, list[Run]],
) -> None:
    group_run, runs = failed_group
    with smtp_server() as (inbox, port):
        _notifier(port).notify_group_failed(group_run, runs)
    ((_, msg),) = inbox.messages
    assert msg["Subject"] == f"[pipekit] group nightly failed (group run {group_run.id})"
    body = msg.get_payload(decode=True).decode()
    assert f"{BASE_URL}/group-runs/{group_run.id}" in body
    assert f"orders: run {runs[1].id}, error: {ERROR}" in body
    assert f"customers: run {runs[0].id}, success" in body
    assert f"{BASE_URL}/runs/{runs[1].id}" in body


def test_wrong_smtp_password_is_logged_not_raised(
    failed_run: Run, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = SecretsFile(tmp_path / "wrong.env")
    wrong.set("SMTP_PW", "guess")
    with smtp_server() as (inbox, port), caplog.at_level(logging.WARNING, "pipekit.notify"):
        _notifier(port, wrong, smtp_user="etl", smtp_password="$SMTP_PW").notify_run_failed(
            failed_run
        )
    assert inbox.messages == []
    assert "could not email the failure of run" in caplog.text
    assert "SMTPAuthenticationError" in caplog.text
    assert "guess" not in caplog.text


def test_a_literal_or_missing_password_is_logged_not_raised(
    failed_run: Run, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    empty = SecretsFile(tmp_path / "none.env")
    with caplog.at_level(logging.WARNING, "pipekit.notify"):
        _notifier(free_port(), empty, smtp_user="etl", smtp_password="hunter2").notify_run_failed(
            failed_run
        )
        _notifier(
            free_port(), empty, smtp_user="etl", smtp_password="$PIPEKIT_TEST_NO_SUCH_VAR"
        ).notify_run_failed(failed_run)
    assert caplog.text.count("could not email") == 2
    assert "secret reference" in caplog.text and "PIPEKIT_TEST_NO_SUCH_VAR" in caplog.text
    assert "hunter2" not in caplog.text


def test_unreachable_smtp_server_is_logged_not_raised(
    failed_run: Run, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "pipekit.notify"):
        _notifier(free_port()).notify_run_failed(failed_run)  # nobody listens there
    assert "could not email the failure of run" in caplog.text
    assert "ConnectionRefusedError" in caplog.text


def test_starttls_not_offered_is_logged_not_sent_in_clear(
    failed_run: Run, caplog: pytest.LogCaptureFixture
) -> None:
    with smtp_server() as (inbox, port), caplog.at_level(logging.WARNING, "pipekit.notify"):
        _notifier(port, starttls=True).notify_run_failed(failed_run)
    assert inbox.messages == []
    assert "STARTTLS extension not supported" in caplog.text


@pytest.fixture(scope="module")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.fail(
            "the openssl command is needed to make a test certificate; scripts/test.sh "
            "installs it (apt-get install openssl)",
            pytrace=False,
        )
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_starttls_with_login_against_a_tls_server(
    failed_run: Run, secrets: SecretsFile, tls_cert: tuple[Path, Path]
) -> None:
    cert, key = tls_cert
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    with smtp_server(tls_context=server_ctx, require_starttls=True, auth_require_tls=True) as (
        inbox,
        port,
    ):
        _notifier(
            port,
            secrets,
            starttls=True,
            smtp_user="etl",
            smtp_password="$SMTP_PW",
            tls_context=client_ctx,
        ).notify_run_failed(failed_run)
    assert inbox.logins == [("etl", "s3cret")]
    assert len(inbox.messages) == 1


def test_starttls_to_an_untrusted_certificate_is_logged_not_raised(
    failed_run: Run, tls_cert: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    cert, key = tls_cert
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    with (
        smtp_server(tls_context=server_ctx, require_starttls=True) as (inbox, port),
        caplog.at_level(logging.WARNING, "pipekit.notify"),
    ):
        _notifier(port, starttls=True).notify_run_failed(failed_run)  # system CAs only
    assert inbox.messages == []
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text


# -- webhook --------------------------------------------------------------------------


def test_run_failure_posts_slack_compatible_json(failed_run: Run) -> None:
    with http_server() as (received, url):
        Notifier(webhook_url=url, base_url=BASE_URL + "/").notify_run_failed(failed_run)
    ((post,),) = [received]
    assert post["path"] == "/services/T000/B000/XXXX"
    assert post["type"] == "application/json"
    payload = post["json"]
    link = f"{BASE_URL}/runs/{failed_run.id}"
    assert payload["text"].startswith(f"Pipekit: module *orders* failed (run {failed_run.id}): ")
    assert ERROR in payload["text"] and link in payload["text"]
    assert payload["event"] == "run_failed"
    assert payload["module"] == "orders" and payload["run_id"] == failed_run.id
    assert payload["error"] == ERROR and payload["url"] == link
    assert payload["triggered_by"] == "schedule:3"


def test_group_failure_posts_json_with_members(failed_group: tuple[GroupRun, list[Run]]) -> None:
    group_run, runs = failed_group
    with http_server() as (received, url):
        Notifier(webhook_url=url).notify_group_failed(group_run, runs)
    payload = received[0]["json"]
    assert payload["event"] == "group_failed" and payload["group"] == "nightly"
    assert payload["group_run_id"] == group_run.id
    assert payload["url"] is None  # no server.base_url: no links
    assert payload["failed_modules"] == ["orders"]
    assert [(r["module"], r["status"], r["error"]) for r in payload["runs"]] == [
        ("customers", "success", None),
        ("orders", "error", ERROR),
    ]


def test_email_and_webhook_together(failed_run: Run) -> None:
    with smtp_server() as (inbox, port), http_server() as (received, url):
        _notifier(port, webhook_url=url).notify_run_failed(failed_run)
    assert len(inbox.messages) == 1 and len(received) == 1


def test_webhook_errors_are_logged_not_raised(
    failed_run: Run, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "pipekit.notify"):
        with http_server(status=500) as (received, url):
            Notifier(webhook_url=url).notify_run_failed(failed_run)
        Notifier(webhook_url=f"http://127.0.0.1:{free_port()}/hook").notify_run_failed(failed_run)
    assert len(received) == 1
    assert caplog.text.count("could not post the failure of run") == 2
    assert "HTTP Error 500" in caplog.text
    assert "Connection refused" in caplog.text
    assert "XXXX" not in caplog.text  # the webhook's secret path is not logged


# -- configuration ----------------------------------------------------------------------


def test_nothing_configured_is_a_no_op(failed_run: Run, caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier.from_config(parse_config({}, None))
    assert not notifier.enabled
    # recipients without a host, or a host without recipients, send no mail either
    assert not Notifier(smtp_host="127.0.0.1").enabled
    assert not Notifier(recipients=("ops@example.com",)).enabled
    with caplog.at_level(logging.DEBUG, "pipekit.notify"):
        notifier.notify_run_failed(failed_run)
    assert caplog.text == ""


def test_from_config_reads_the_settings(tmp_path: Path) -> None:
    config = parse_config(
        {
            "secrets_file": "s.env",
            "smtp": {
                "host": "mail.example.com",
                "port": 2525,
                "user": "etl",
                "password": "$SMTP_PW",
                "starttls": False,
                "sender": "etl@example.com",
                "recipients": ["ops@example.com"],
            },
            "notify": {"webhook_url": "https://hooks.example.com/x"},
            "server": {"base_url": "https://pipekit.example.com"},
        },
        tmp_path / "pipekit.yaml",
    )
    n = Notifier.from_config(config)
    assert (n.smtp_host, n.smtp_port, n.smtp_user, n.smtp_password) == (
        "mail.example.com",
        2525,
        "etl",
        "$SMTP_PW",
    )
    assert n.starttls is False and n.sender == "etl@example.com"
    assert n.recipients == ("ops@example.com",)
    assert n.webhook_url == "https://hooks.example.com/x"
    assert n.link("runs/7") == "https://pipekit.example.com/runs/7"
    assert n.secrets is not None and n.secrets.path == config.secrets_path
    assert n.email_enabled and n.webhook_enabled
