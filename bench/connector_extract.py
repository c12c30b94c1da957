"""Peak memory and speed of a Connector Kit extract, by table size.

Runs ``pipekit connector extract sample`` (the built-in connector: 7 columns of
int, string, double, bool, timestamp and date) in a child process for each row
count, and, at the two largest counts, an incremental run that adds 1 % of rows
(the earlier file is merged into a new one batch by batch). The peak RSS is
the child's VmHWM (bench/proc.py); a flat peak across sizes means memory is
bounded by the batch, not the table.

    python -m bench.connector_extract [--rows 10000,100000,1000000,3000000]
                                      [--batch-size 10000] [--runs 3]

Extract folders are temporary and removed at the end; logs go to bench/.data/logs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import shutil
import statistics
import tempfile
from pathlib import Path

from bench import common as C
from bench.proc import Measured, Step, run_steps

DEFAULT_ROWS = "10000,100000,1000000,3000000"


def _extract(out: Path, rows: int, batch_size: int, env: dict[str, str], log: Path) -> Measured:
    argv = [C.PIPEKIT, "connector", "extract", "sample", "--out", str(out)]
    argv += ["--set", f"rows={rows}", "--batch-size", str(batch_size), "--table", "orders"]
    return run_steps([Step(argv, env=env)], log)


def main(argv: list[str] | None = None) -> int:
    import os

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rows", default=DEFAULT_ROWS, help="comma-separated row counts")
    p.add_argument("--batch-size", type=int, default=10_000)
    p.add_argument("--runs", type=int, default=3, help="runs per size (median wall, max peak)")
    args = p.parse_args(argv)
    sizes = [int(r) for r in args.rows.split(",")]
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    logs = C.LOGS / f"connector-{stamp}"
    work = Path(tempfile.mkdtemp(prefix="pipekit-bench-connector-"))
    (work / "pipekit.yaml").write_text("")
    env = {**os.environ, "PIPEKIT_CONFIG": str(work / "pipekit.yaml")}
    lines = [
        "| run | rows | wall s (median) | rows/s | peak RSS MB (max) | Parquet MB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    try:
        for rows in sizes:
            walls, peaks, size = [], [], 0
            for i in range(args.runs):
                out = work / f"full-{rows}-{i}"
                m = _extract(out, rows, args.batch_size, env, logs / f"full-{rows}.log")
                if m.returncode != 0:
                    print(f"FAILED: {rows} rows, see {m.log}")
                    return 1
                walls.append(m.wall_s)
                peaks.append(m.peak_rss)
                size = (out / "data" / "orders.parquet").stat().st_size
                if i < args.runs - 1:
                    shutil.rmtree(out)
            wall = statistics.median(walls)
            lines.append(
                f"| full | {rows:,} | {wall:.2f} | {rows / wall:,.0f} | "
                f"{max(peaks) / 2**20:.0f} | {size / 2**20:.1f} |"
            )
            print(lines[-1], flush=True)
        for base in sizes[-2:]:
            # the last full run's folder is kept: add 1 % and merge it in
            out = work / f"full-{base}-{args.runs - 1}"
            more = base + base // 100
            m = _extract(out, more, args.batch_size, env, logs / f"incremental-{base}.log")
            if m.returncode != 0:
                print(f"FAILED: incremental, see {m.log}")
                return 1
            size = (out / "data" / "orders.parquet").stat().st_size
            new = more - base + 1  # the sample's key is re-read from the last id (>=)
            lines.append(
                f"| incremental +1 % (merged into {base:,}) | {new:,} | {m.wall_s:.2f} | "
                f"{new / m.wall_s:,.0f} | {m.peak_rss / 2**20:.0f} | {size / 2**20:.1f} |"
            )
            print(lines[-1], flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nmachine: {os.cpu_count()} cores; Python {platform.python_version()}")
    print(
        f"command: python -m bench.connector_extract --rows {args.rows} "
        f"--batch-size {args.batch_size} --runs {args.runs}"
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
