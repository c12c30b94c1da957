"""Run a method's commands and measure wall time and the peak RSS of the process tree.

A method is a list of steps run one after another; each step is an argv (a pipe is
``bash -o pipefail -c "a | b"``, whose shell is left out of the memory figure). While a
step runs, its process tree is polled through /proc every 50 ms: every process's peak
(VmHWM) is read, and the figure of the moment is the sum over the processes then
alive. The step's peak is the largest such sum, so both ends of a pipe count, and a
process that peaks between two polls still counts through its VmHWM.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

POLL_S = 0.05


@dataclass
class Step:
    argv: list[str]
    #: the root is a shell that only waits for the pipe: its own memory is not counted
    shell: bool = False
    env: dict[str, str] | None = None
    cwd: str | None = None


@dataclass
class Measured:
    wall_s: float
    peak_rss: int  # bytes
    returncode: int
    log: Path
    step_walls: list[float] = field(default_factory=list)


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.extend(int(x) for x in f.read().split())
        except OSError:
            continue
    return out


def _hwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _tree(root: int) -> list[int]:
    seen, todo = [], [root]
    while todo:
        pid = todo.pop()
        seen.append(pid)
        todo.extend(_children(pid))
    return seen


def run_steps(steps: list[Step], log: Path, timeout_s: float = 3600) -> Measured:
    """Run `steps` in order (stop at the first failure); stdout and stderr go to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    peak = 0
    walls: list[float] = []
    rc = 0
    started = time.perf_counter()
    with open(log, "ab") as out:
        for step in steps:
            out.write(f"\n$ {' '.join(step.argv)}\n".encode())
            out.flush()
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                step.argv, stdout=out, stderr=subprocess.STDOUT, env=step.env, cwd=step.cwd
            )
            hwm: dict[int, int] = {}
            while True:
                if proc.poll() is not None:
                    break
                pids = _tree(proc.pid)
                now = 0
                for pid in pids:
                    if step.shell and pid == proc.pid:
                        continue
                    h = _hwm(pid)
                    if h:
                        hwm[pid] = max(hwm.get(pid, 0), h)
                        now += hwm[pid]
                peak = max(peak, now)
                if time.perf_counter() - t0 > timeout_s:
                    proc.kill()
                    proc.wait()
                    out.write(f"\nbench: killed after {timeout_s:.0f} s\n".encode())
                    rc = -9
                    break
                time.sleep(POLL_S)
            walls.append(time.perf_counter() - t0)
            rc = rc or proc.returncode
            if rc != 0:
                out.write(f"\nbench: exit code {rc}\n".encode())
                break
    return Measured(time.perf_counter() - started, peak, rc, log, walls)
