"""A real `pipekit serve` on a free port, with its own state DB and user (one per xdist
worker; tests that stop or crash a server start their own with `Server`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

USER, PASSWORD = "admin", "s3cret-pw"
PIPEKIT = [sys.executable, "-m", "pipekit"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    home: Path
    port: int
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PIPEKIT_CONFIG": str(self.home / "pipekit.yaml")}

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*PIPEKIT, *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def start(self) -> None:
        self.port = free_port()
        log = open(self.home / "serve.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [*PIPEKIT, "serve", "--port", str(self.port), "--grace", "3"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pipekit serve exited: {(self.home / 'serve.log').read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("pipekit serve did not answer /health within 30 s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def client(self, auth: tuple[str, str] | None = (USER, PASSWORD)) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=auth, timeout=30)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("serve")
    (home / "pipekit.yaml").write_text("database: state.db\nmax_concurrent_runs: 2\n")
    srv = Server(home, 0)
    assert srv.cli("init").returncode == 0
    r = srv.cli("set-password", USER, input=f"{PASSWORD}\n")
    assert r.returncode == 0, r.stderr
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def api(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c
