"""Connector sources as modules: files into DuckDB and PostgreSQL, and a REST API beside dlt.

1. A 1M-row CSV and a 1M-row Parquet file (written by DuckDB: int, text, double,
   zoned timestamp, bool) read by the ``files`` connector into DuckDB and
   PostgreSQL with ``pipekit run`` (strategy full) in a child process: wall time
   and the peak RSS of the process tree (bench/proc.py).
2. 200k records from the fake API (tests/helpers.py ``FakeApi``, served by this
   process on 127.0.0.1 by threads, 100 per page: 2,000 pages) into DuckDB by
   ``pipekit run`` (``rest_json``), and by dlt 1.31's REST API source on the same
   server (bench/peer_dlt_rest.py in bench/.venvs/dlt). The server's own time
   (building and encoding the pages) is reported beside each.

    python -m bench.connector_sources [--rows 1000000] [--records 200000] [--runs 3]

Work folders are temporary; logs go to bench/.data/logs. The figures go to
docs/benchmarks.md by hand, with the load average printed here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench import common as C
from bench.proc import Measured, Step, run_steps

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _pipekit(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([C.PIPEKIT, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"pipekit {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def _files(work: Path, rows: int) -> None:
    import duckdb

    data = work / "landing"
    data.mkdir()
    query = f"""
        SELECT i AS id, 'customer ' || (i % 9973) AS name, (i % 100000) / 100.0 AS amount,
               TIMESTAMPTZ '2026-01-01 00:00:00+00' + i * INTERVAL 1 SECOND AS updated_at,
               i % 2 = 0 AS flag, 'cat_' || (i % 17) AS category
        FROM range(1, {rows} + 1) t(i)"""
    with duckdb.connect() as db:
        db.execute("SET TimeZone = 'UTC'")
        db.execute(f"COPY ({query}) TO '{data / 'orders.csv'}' (HEADER)")
        db.execute(f"COPY ({query}) TO '{data / 'orders.parquet'}' (FORMAT parquet)")


def _median(runs: list[Measured]) -> tuple[float, float]:
    return statistics.median(r.wall_s for r in runs), max(r.peak_rss for r in runs) / 2**20


def main(argv: list[str] | None = None) -> int:
    import sys

    sys.path.insert(0, str(C.ROOT))
    from bench.methods import peer_env, peer_venv
    from tests.helpers import FakeApi, api_record

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--records", type=int, default=200_000)
    p.add_argument("--per-page", type=int, default=100)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--skip-files", action="store_true")
    p.add_argument("--skip-api", action="store_true")
    args = p.parse_args(argv)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    logs = C.LOGS / f"connector-sources-{stamp}"
    work = Path(tempfile.mkdtemp(prefix="pipekit-bench-sources-"))
    (work / "pipekit.yaml").write_text(f"database: {work / 'state.db'}\n")
    env = {**os.environ, "PIPEKIT_CONFIG": str(work / "pipekit.yaml")}
    out: list[str] = []
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    try:
        _pipekit(env, "init")
        if not args.skip_files:
            _files(work, args.rows)
            (work / "files.yaml").write_text(
                json.dumps(
                    {
                        "tables": {
                            "csv": {"glob": "orders.csv", "primary_key": "id"},
                            "parquet": {"glob": "orders.parquet", "primary_key": "id"},
                        }
                    }
                )
            )
            _pipekit(env, "connections", "add", "files", f"file://{work / 'landing'}",
                     "--options", str(work / "files.yaml"))  # fmt: skip
            duck = work / "dw.duckdb"
            _pipekit(env, "connections", "add", "duck", f"duckdb:///{duck}?create=true")
            C.pg_ensure_db(C.PG_DST_DB)
            _pipekit(env, "connections", "add", "pg", C.pg_url(C.PG_DST_DB), "--user", C.PG_USER)
            out += [
                f"files: {args.rows:,} rows; load average before: {load}",
                "",
                "| source | destination | wall s (median) | rows/s | peak RSS MB (max) |",
                "|---|---|---:|---:|---:|",
            ]
            for fmt in ("csv", "parquet"):
                for dest, table in (("duck", "main.bench_" + fmt), ("pg", "public.bench_" + fmt)):
                    name = f"{fmt}_{dest}"
                    _pipekit(env, "modules", "add", name, "--source", "files", "--dest", dest,
                             "--dest-table", table, "--source-table", fmt)  # fmt: skip
                    runs = [
                        run_steps([Step([C.PIPEKIT, "run", name], env=env)], logs / f"{name}.log")
                        for _ in range(args.runs)
                    ]
                    if any(r.returncode for r in runs):
                        raise SystemExit(f"{name} failed; see {runs[0].log}")
                    wall, peak = _median(runs)
                    label = {"duck": "DuckDB", "pg": "PostgreSQL"}[dest]
                    rate = args.rows / wall
                    line = f"| {fmt.upper()} | {label} | {wall:.2f} | {rate:,.0f} | {peak:.0f} |"
                    print(line, flush=True)
                    out.append(line)
        if not args.skip_api:
            records = [
                api_record(i, T0 + dt.timedelta(seconds=i)) for i in range(1, args.records + 1)
            ]
            venv, problem = peer_venv("dlt")
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            out += [
                "",
                f"API: {args.records:,} records, {args.per_page} per page; "
                f"load average before: {load}",
                "",
                "| tool | wall s (median) | records/s | server s (median) | peak RSS MB (max) |",
                "|---|---:|---:|---:|---:|",
            ]
            with FakeApi(records) as api:
                (work / "api.yaml").write_text(
                    json.dumps(
                        {
                            "page_size": args.per_page,
                            "tables": {"orders": {"path": "/page", "records": "data.items"}},
                        }
                    )
                )
                env["PIPEKIT_BENCH_TOKEN"] = str(api.token)  # a $VAR reference reads the env
                _pipekit(env, "connections", "add", "api", f"rest+{api.base}/", "--password",
                         "$PIPEKIT_BENCH_TOKEN", "--options", str(work / "api.yaml"))  # fmt: skip
                if not (work / "dw.duckdb").exists():
                    _pipekit(env, "connections", "add", "duck",
                             f"duckdb:///{work / 'dw.duckdb'}?create=true")  # fmt: skip
                _pipekit(env, "modules", "add", "api_orders", "--source", "api", "--dest", "duck",
                         "--dest-table", "main.api_orders", "--source-table", "orders")  # fmt: skip
                results: dict[str, tuple[list[Measured], list[float]]] = {}
                tools = ["pipekit"] + ([] if problem else ["dlt"])
                for i in range(args.runs):
                    for tool in tools:
                        api.server_seconds = 0.0
                        if tool == "pipekit":
                            step = Step([C.PIPEKIT, "run", "api_orders"], env=env)
                        else:
                            pipelines = work / f"dlt-{i}"
                            step = Step(
                                [str(venv / "bin" / "python"), str(C.BENCH / "peer_dlt_rest.py"),
                                 "--base", api.base, "--token", str(api.token),
                                 "--per-page", str(args.per_page),
                                 "--dest", f"duckdb:{work / f'dlt-{i}.duckdb'}",
                                 "--pipelines-dir", str(pipelines), "--name", f"bench_{i}"],
                                env=peer_env(),
                            )  # fmt: skip
                        m = run_steps([step], logs / f"api-{tool}.log")
                        if m.returncode:
                            raise SystemExit(f"{tool} failed; see {m.log}")
                        results.setdefault(tool, ([], []))
                        results[tool][0].append(m)
                        results[tool][1].append(api.server_seconds)
                for tool, (runs, server) in results.items():
                    wall, peak = _median(runs)
                    line = (
                        f"| {tool} | {wall:.2f} | {args.records / wall:,.0f} | "
                        f"{statistics.median(server):.2f} | {peak:.0f} |"
                    )
                    print(line, flush=True)
                    out.append(line)
                if "dlt" in results:
                    ratio = _median(results["dlt"][0])[0] / _median(results["pipekit"][0])[0]
                    out.append(f"\npipekit is {ratio:.2f}x as fast as dlt on the same server")
                else:
                    out.append(f"\ndlt not run: {problem}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nmachine: {os.cpu_count()} cores, {platform.platform()}; load average after: {load}")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
