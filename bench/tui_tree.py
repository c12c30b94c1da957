"""Measure the TUI's module tree with many modules: how long it takes to open, and how
long a key press takes to be answered.

    python -m bench.tui_tree [--modules 1000] [--runs 50] [--presses 40] [--rounds 3]

It starts a `pipekit serve` of its own (a temporary folder, a free port), adds
`--modules` modules over the REST API (on SQLite connections: nothing needs a
database server) and runs `--runs` of them so the tree shows recorded runs too. Then,
`--rounds` times, it starts the app headless (Textual's pilot, 160x48, no polling)
and measures:

- open: from starting the app to the tree showing every module (the two API calls,
  ``GET /modules`` and ``GET /runs/latest``, and building the tree);
- each key (`j`, `k`, `G`, `g`, and typing a search): from sending the key to the app
  having handled it and redrawn (the pilot's press returns then).

Targets (issue 23): open < 1 s, a key press < 100 ms. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

USER, PASSWORD = "bench", "bench-password"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serve:
    """`pipekit serve` in a temporary folder."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PIPEKIT_CONFIG": str(home / "pipekit.yaml")}
        (home / "pipekit.yaml").write_text("database: state.db\nmax_concurrent_runs: 2\n")
        self.cli("init")
        self.cli("set-password", USER, input=f"{PASSWORD}\n")
        log = (home / "serve.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipekit", "serve", "--port", str(self.port), "--grace", "1"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("pipekit serve did not start; see " + str(home / "serve.log"))

    def cli(self, *args: str, input: str | None = None) -> None:
        subprocess.run(
            [sys.executable, "-m", "pipekit", *args],
            env=self.env,
            input=input,
            text=True,
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def populate(api: httpx.Client, home: Path, modules: int, runs: int) -> None:
    """`modules` modules over 4 source connections; `runs` of them run once."""
    sources = [f"src{i}" for i in range(4)]
    for name in [*sources, "dw"]:
        url = f"sqlite:///{home / (name + '.sqlite')}?create=true"
        api.post("/api/connections", json={"name": name, "url": url}).raise_for_status()
    for i in range(modules):
        body = {
            "name": f"module_{i:04d}",
            "source": sources[i % len(sources)],
            "dest": "dw",
            "dest_table": f"t_{i:04d}",
            "source_query": f"SELECT {i} AS id, 'row {i}' AS label",
            "merge_strategy": "full",
        }
        api.post("/api/modules", json=body).raise_for_status()
    # a JSON body, even an empty one: the API refuses other bodies (CSRF)
    run = "/api/modules/module_{:04d}/run"
    started = [api.post(run.format(i), json={}).json()["run_id"] for i in range(runs)]
    for run_id in started:
        while api.get(f"/api/runs/{run_id}").json()["status"] in ("queued", "running"):
            time.sleep(0.1)


async def measure(url: str, modules: int, presses: int) -> dict[str, Any]:
    from pipekit.client import PipekitClient
    from pipekit.tui.app import PipekitApp
    from pipekit.tui.screens.main import MainScreen

    out: dict[str, Any] = {}
    with PipekitClient(url, USER, PASSWORD) as client:
        app = PipekitApp(client, poll_s=0)
        started, cpu = time.perf_counter(), time.process_time()
        async with app.run_test(size=(160, 48)) as pilot:
            while not (
                isinstance(app.screen, MainScreen)
                and app.screen.shown
                and len(app.screen.nodes) == modules
            ):
                await pilot.pause(0.005)
            await pilot.pause()  # the first frame with the tree
            out["open"] = time.perf_counter() - started
            out["open cpu"] = time.process_time() - cpu
            while not app.screen.loaded:
                await pilot.pause(0.005)
            await pilot.pause()
            out["filled"] = time.perf_counter() - started
            out["filled cpu"] = time.process_time() - cpu
            for key in ("j", "k", "G", "g"):
                out[key], out[f"{key} cpu"] = await _presses(pilot, [key] * presses)
            await pilot.press("slash")
            out["search"], out["search cpu"] = await _presses(pilot, list("0901"))
            started = time.perf_counter()
            while len(app.screen.nodes) != 1:  # module_0901
                await pilot.pause(0.005)
            out["filtered"] = time.perf_counter() - started
    return out


async def _presses(pilot: Any, keys: list[str]) -> tuple[list[float], list[float]]:
    """Wall time of each press (the pilot returns once the app has handled the key and
    gone idle: it waits at least 2 x 20 ms itself), and the CPU time the TUI's process
    spent meanwhile (what the key cost, whatever else the machine was doing)."""
    walls, cpus = [], []
    for key in keys:
        t0, c0 = time.perf_counter(), time.process_time()
        await pilot.press(key)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return walls, cpus


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--presses", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pk_bench_tui_") as folder:
        serve = Serve(Path(folder))
        try:
            with httpx.Client(base_url=serve.url, auth=(USER, PASSWORD), timeout=60) as api:
                t0 = time.perf_counter()
                populate(api, Path(folder), args.modules, args.runs)
                print(
                    f"set-up: {args.modules} modules, {args.runs} runs in "
                    f"{time.perf_counter() - t0:.1f} s",
                    file=sys.stderr,
                )
                calls = {}
                for path in ("/api/modules", "/api/runs/latest"):
                    walls = []
                    for _ in range(5):
                        t1 = time.perf_counter()
                        api.get(path).raise_for_status()
                        walls.append(time.perf_counter() - t1)
                    calls[path] = statistics.median(walls)
            rounds = [
                asyncio.run(measure(serve.url, args.modules, args.presses))
                for _ in range(args.rounds)
            ]
        finally:
            serve.stop()
    report(args, rounds, calls)
    return 0


def report(args: argparse.Namespace, rounds: list[dict[str, Any]], calls: dict[str, float]) -> None:
    ms = 1000.0
    print(
        f"- machine: {os.cpu_count()} cores, {platform.platform()}; Python "
        f"{platform.python_version()}, textual {metadata.version('textual')}; load average "
        f"{os.getloadavg()[0]:.1f} at the end"
    )
    print(
        f"- {args.modules} modules in 5 groups (source connections), {args.runs} with a "
        f"recorded run; {args.rounds} rounds, {args.presses} presses of each key per round"
    )
    print("- command: `python -m bench.tui_tree " + " ".join(sys.argv[1:]) + "`\n")
    print("| what | median | max | CPU (median) | target |\n|---|---:|---:|---:|---:|")
    for key, label, target in (
        ("open", f"open: the tree shows all {args.modules} modules", "< 1000 ms"),
        ("filled", "... with every module's last run", ""),
    ):
        walls = [r[key] for r in rounds]
        cpus = [r[f"{key} cpu"] for r in rounds]
        print(
            f"| {label} | {statistics.median(walls) * ms:.0f} ms | {max(walls) * ms:.0f} ms "
            f"| {statistics.median(cpus) * ms:.0f} ms | {target} |"
        )
    for path, wall in calls.items():
        print(f"| `GET {path}` alone (server, median of 5) | {wall * ms:.0f} ms | | | |")
    names = {
        "j": "`j` (down)",
        "k": "`k` (up)",
        "G": "`G` (bottom)",
        "g": "`g` (top)",
        "search": "a key typed in the search box",
    }
    for key, label in names.items():
        walls = [t for r in rounds for t in r[key]]
        cpus = [t for r in rounds for t in r[f"{key} cpu"]]
        print(
            f"| {label} | {statistics.median(walls) * ms:.0f} ms | {max(walls) * ms:.0f} ms "
            f"| {statistics.median(cpus) * ms:.0f} ms | < 100 ms |"
        )
    done = [r["filtered"] for r in rounds]
    print(
        f"| still to wait for the filtered tree after the last key | "
        f"{statistics.median(done) * ms:.0f} ms "
        f"| {max(done) * ms:.0f} ms | | |"
    )


if __name__ == "__main__":
    raise SystemExit(main())
