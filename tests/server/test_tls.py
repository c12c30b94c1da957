"""`pipekit serve --tls-cert/--tls-key`: HTTPS with a certificate made by openssl here,
verified by the client; a bad certificate or key is one clear error line."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import PASSWORD, USER, Server


def make_cert(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (PEM), by openssl."""
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("tls")
    (home / "pipekit.yaml").write_text("database: state.db\n")
    srv = Server(home, 0)
    assert srv.cli("init").returncode == 0
    assert srv.cli("set-password", USER, input=PASSWORD + "\n").returncode == 0
    return home


@pytest.fixture(scope="module")
def tls_server(home: Path) -> Iterator[Server]:
    cert, key = make_cert(home, "server")
    srv = Server(home, 0, serve_args=("--tls-cert", str(cert), "--tls-key", str(key)), ca=cert)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_the_server_speaks_https_verified_against_its_certificate(tls_server: Server) -> None:
    assert tls_server.url.startswith("https://")
    with tls_server.client() as c:
        assert c.get("/api/modules").status_code == 200
        assert c.get("/health").json()["status"] == "ok"
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{tls_server.url}/health")  # not trusted without the certificate
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{tls_server.port}/health")  # no plain HTTP
    log = (tls_server.home / "serve.log").read_text()
    assert f"pipekit serve on https://127.0.0.1:{tls_server.port}" in log


def _serve_fails(home: Path, *args: str) -> str:
    """The one error line of `pipekit serve ARGS` (in-process: it fails before serving)."""
    from typer.testing import CliRunner

    from pipekit.cli import app
    from tests.helpers import assert_clean_failure

    result = CliRunner().invoke(
        app,
        ["serve", "--port", "1", *args],
        env={"PIPEKIT_CONFIG": str(home / "pipekit.yaml"), "COLUMNS": "250"},
    )
    return assert_clean_failure(result)


def test_bad_certificates_are_one_clear_line(home: Path, tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path, "a")
    _, other_key = make_cert(tmp_path, "b")
    missing = str(tmp_path / "missing.pem")
    line = _serve_fails(home, "--tls-cert", missing, "--tls-key", str(key))
    assert line == f"error: --tls-cert {missing}: no such file"
    line = _serve_fails(home, "--tls-cert", str(cert), "--tls-key", str(other_key))
    assert "the key does not belong to the certificate" in line
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    line = _serve_fails(home, "--tls-cert", str(garbage), "--tls-key", str(key))
    assert "not a PEM certificate and key" in line
    line = _serve_fails(home, "--tls-cert", str(cert))
    assert "give both --tls-cert and --tls-key" in line
    if os.geteuid() != 0:  # root reads any file
        key.chmod(0)
        line = _serve_fails(home, "--tls-cert", str(cert), "--tls-key", str(key))
        assert "not readable" in line
