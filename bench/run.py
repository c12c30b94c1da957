"""Pipekit's benchmark suite: TPC-H syncs side by side with the raw pipe and the peers.

    python -m bench [--scale 1] [--scenario 0,1,2,3,4,5] [--peers dlt,ingestr,sling]
                    [--runs 3] [--memory-scales 0.1,1,3] [--memory-scenarios 1,3,4]
                    [--keep] [--profile]

Scenarios (issue 5): 1 full lineitem PostgreSQL→PostgreSQL; 2 incremental after 1 %
of rows updated and 1 % inserted; 3 full MariaDB→PostgreSQL; 4 full SQLite→DuckDB;
5 key_sync after 0.5 % of keys deleted; 0 the start-up of a 10-row module. In each
round every method runs once, in an order rotated by one per round; every result is
verified (row count and a checksum of every column against the source) and a run
that fails verification is reported FAILED with the reason, never with a figure.

Data is generated with DuckDB's tpch extension and cached in bench/.data and in the
databases (``pipekit_bench`` on PostgreSQL and MariaDB, a SQLite file); results are
printed and written to bench/.data/results-<timestamp>.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from bench import common as C
from bench import data as D
from bench import verify as V
from bench.methods import SCENARIOS, Method, Pipekit, Scenario, all_methods, versions
from bench.proc import Measured, run_steps

ALL_PEERS = ["dlt", "dlt-connectorx", "ingestr", "sling"]


@dataclass
class Result:
    scenario: int
    method: str
    role: str
    anchor: bool
    walls: list[float] = field(default_factory=list)
    peaks: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    types: str = ""
    rows: int = 0  # rows moved per run (source rows; changed rows for incremental)
    size: int = 0  # source bytes (full scenarios)
    skipped: str = ""  # why the method did not run
    setup_wall: float | None = None  # untimed first full load of incremental scenarios

    @property
    def ok(self) -> bool:
        return not self.skipped and not self.failures and bool(self.walls)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def peak(self) -> int:
        return max(self.peaks)


class Suite:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.logs = C.LOGS / self.stamp
        self.results: dict[tuple[int, str], Result] = {}
        self.notes: list[str] = []
        self.memory: list[tuple[float, str, Result]] = []
        self.methods = all_methods(args.peers)
        self.pipekit = next(m for m in self.methods if isinstance(m, Pipekit))

    # -- running -----------------------------------------------------------------------

    def log_path(self, sc: Scenario, m: Method, label: str) -> os.PathLike:
        return self.logs / f"s{sc.id}-{m.slug}-{label}.log"

    def measure(self, sc: Scenario, m: Method, label: str) -> Measured:
        steps = m.steps(sc)
        if self.args.profile and m.role == "pipekit" and label.startswith("r"):
            out = self.logs / f"s{sc.id}-pipekit-{label}.speedscope.json"
            steps[0].argv = [
                str(Path(C.PIPEKIT).with_name("py-spy")), "record", "--idle", "-r", "50",
                "-f", "speedscope", "-o", str(out), "--", *steps[0].argv,
            ]  # fmt: skip
        return run_steps(steps, self.log_path(sc, m, label), timeout_s=self.args.timeout)

    def failure_reason(self, res: Measured) -> str:
        try:
            text = res.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        words = ("error", "exception", "failed", "fatal", "panic", "unable", "cannot")
        interesting = [
            ln
            for ln in lines
            if any(w in ln.lower() for w in words)
            and len(ln) > 20
            and not ln.lower().endswith("execution failed")
            and not ln.startswith(("bench:", "$ "))
        ]
        tail = (interesting or lines or ["(no output)"])[-1]
        return f"exit {res.returncode}: {tail[:300]}"

    def run_scenario(self, sc: Scenario, scale: float, runs: int) -> None:
        print(f"\n## Scenario {sc.id}: {sc.title} (scale {scale:g})", flush=True)
        methods = [m for m in self.methods if sc.id in m.scenarios]
        active: list[Method] = []
        for m in methods:
            r = self.results.setdefault(
                (sc.id, m.slug), Result(sc.id, m.name, m.role, sc.id in m.anchor_for)
            )
            reason = m.unavailable(sc)
            if reason:
                r.skipped = reason
                print(f"  {m.name}: not run: {reason}")
            else:
                active.append(m)

        # the reference the destinations are checked against
        ref_types = V.source_types(sc.base)
        size = 0
        if sc.kind == "full":
            size = D.source_size(sc.store, sc.src_table)
        if sc.kind in ("incremental", "key_sync"):
            D.reset_copy(sc.base, sc.src_table)
            for m in list(active):
                r = self.results[(sc.id, m.slug)]
                m.reset(sc)
                res = run_steps(m.setup(sc), self.log_path(sc, m, "setup"), self.args.timeout)
                if res.returncode != 0:
                    r.failures.append(f"first full load: {self.failure_reason(res)}")
                    active.remove(m)
                    print(f"  {m.name}: first load FAILED: {r.failures[-1]}")
                    continue
                r.setup_wall = res.wall_s
                print(f"  {m.name}: first full load {res.wall_s:.2f} s (untimed)")
        for round_no in range(runs):
            moved = 0
            if sc.kind == "incremental":
                upd, ins = D.mutate_incremental(sc.src_table, round_no + 1)
                moved = upd + ins
                print(
                    f"  round {round_no + 1}: {upd:,} rows updated, {ins:,} inserted at the source"
                )
            elif sc.kind == "key_sync":
                deleted = D.delete_keys(sc.src_table, round_no + 1)
                print(f"  round {round_no + 1}: {deleted:,} keys deleted at the source")
            if sc.dest == "duckdb":
                parquet = str(D.data_dir(scale) / f"{sc.base}.parquet")
                ref, ref_types = V.duck_reference(parquet)
            elif sc.kind == "startup":
                ref = None
            else:
                src_table = f"src.{sc.src_table if sc.store == 'pg' else sc.base}"
                ref = V.pg_checksum(C.PG_SRC_DB, src_table, ref_types)
                if sc.kind == "key_sync":
                    moved = ref.rows
            order = active[round_no % len(active) :] + active[: round_no % len(active)]
            for m in order:
                r = self.results[(sc.id, m.slug)]
                if sc.kind in ("full", "startup"):
                    m.prepare(sc)
                res = self.measure(sc, m, f"r{round_no + 1}")
                if res.returncode != 0:
                    r.failures.append(self.failure_reason(res))
                    print(f"  {m.name}: FAILED: {r.failures[-1]}")
                    continue
                verdict = self.check(sc, m, ref, ref_types)
                if not verdict.ok:
                    r.failures.append(f"verification: {verdict.reason}")
                    print(
                        f"  {m.name}: {res.wall_s:.2f} s but FAILED verification: {verdict.reason}"
                    )
                    continue
                r.walls.append(res.wall_s)
                r.peaks.append(res.peak_rss)
                r.types = verdict.type_changes
                r.rows = moved or (ref.rows if ref else 10)
                r.size = 0 if sc.kind != "full" else size
                print(
                    f"  {m.name}: {res.wall_s:.2f} s, peak RSS {res.peak_rss / 2**20:.0f} MB, "
                    "verified"
                    + (f" (types: {verdict.type_changes})" if verdict.type_changes else "")
                )
        if not self.args.keep:
            for m in methods:
                m.reset(sc)

    def check(self, sc: Scenario, m: Method, ref, ref_types) -> V.Verdict:
        if sc.kind == "startup":
            types = V.pg_columns(C.PG_DST_DB, m.dest_table(sc))
            if not types:
                return V.Verdict(False, "destination table missing")
            with C.pg_connect(C.PG_DST_DB) as conn:
                n = conn.execute(f"SELECT count(*) FROM {m.dest_table(sc)}").fetchone()[0]
            return V.Verdict(n == 10, f"{n} rows, expected 10")
        if sc.dest == "duckdb":
            return V.verify_duckdb(ref, ref_types, str(m.duck_path(sc)), m.dest_table(sc))
        # MariaDB's DATETIME(6) has no zone: timestamp is its faithful PostgreSQL type
        expect = {"updated_at": "timestamp"} if sc.store == "mariadb" else None
        return V.verify_pg(ref, ref_types, C.PG_DST_DB, m.dest_table(sc), expect)

    def memory_scales(self, scales: list[float], scenarios: list[int]) -> None:
        for scale in scales:
            for sc_id in scenarios:
                self.memory_run(SCENARIOS[sc_id], scale)

    def memory_run(self, sc: Scenario, scale: float) -> None:
        """Pipekit alone on full scenario `sc` at `scale`, verified: a first load into
        an empty destination, then a full refresh over the table it left (a second
        run is a different path: PostgreSQL and DuckDB swap in a new table)."""
        print(f"\n## Memory: Pipekit scenario {sc.id} at scale {scale:g}", flush=True)
        D.prepare(scale, {"pg", sc.store})
        ref_types = V.source_types(sc.base)
        if sc.dest == "duckdb":
            parquet = str(D.data_dir(scale) / f"{sc.base}.parquet")
            ref, ref_types = V.duck_reference(parquet)
        else:
            ref = V.pg_checksum(C.PG_SRC_DB, f"src.{sc.base}", ref_types)
        m = self.pipekit
        m.prepare(sc)
        for what in ("first load", "refresh"):
            r = Result(sc.id, m.name, m.role, False)
            res = self.measure(sc, m, f"mem-sf{scale:g}-{what.split()[0]}")
            if res.returncode != 0:
                r.failures.append(self.failure_reason(res))
            else:
                verdict = self.check(sc, m, ref, ref_types)
                if verdict.ok:
                    r.walls.append(res.wall_s)
                    r.peaks.append(res.peak_rss)
                    r.rows = ref.rows
                    r.size = D.source_size(sc.store, sc.src_table)
                else:
                    r.failures.append(f"verification: {verdict.reason}")
            print(
                f"  sf {scale:g}, {what}: "
                + (f"{r.wall:.2f} s, peak RSS {r.peak / 2**20:.0f} MB" if r.ok else r.failures[-1])
            )
            self.memory.append((scale, what, r))
        if not self.args.keep:
            m.reset(sc)

    # -- reporting ---------------------------------------------------------------------

    def machine(self) -> list[str]:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        cpu = "?"
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        with C.pg_connect("postgres") as conn:
            pg = conn.execute("SELECT current_setting('server_version')").fetchone()[0]
        conn = C.my_connect(None)
        try:
            cur = conn.cursor()
            cur.execute("SELECT version()")
            my = cur.fetchone()[0]
        finally:
            conn.close()
        libs = []
        for p in ("pyarrow", "duckdb", "adbc-driver-postgresql", "psycopg", "PyMySQL"):
            with contextlib.suppress(metadata.PackageNotFoundError):
                libs.append(f"{p} {metadata.version(p)}")
        peers = ", ".join(f"{k} {v}" for k, v in versions().items())
        load = os.getloadavg()
        lite = subprocess.run(["sqlite3", "--version"], capture_output=True, text=True).stdout
        lite = (lite.split() or ["?"])[0]
        return [
            f"- machine: {os.cpu_count()} cores (`nproc`), {mem:.1f} GiB memory, {cpu}; "
            f"Linux {platform.release()}",
            f"- load average when the suite started: {self.load_start[0]:.2f} "
            f"(1 min), at the end: {load[0]:.2f}",
            f"- Python {platform.python_version()}; {', '.join(libs)}; "
            f"TPC-H by duckdb-extension-tpch {D.TPCH_VERSION}",
            f"- servers (local, loopback): PostgreSQL {pg}, MariaDB {my}, SQLite {lite}",
            f"- peers (each in its own venv under bench/.venvs): {peers or 'none installed'}",
            f"- command: `{self.command}`",
        ]

    def table(self, sc_id: int) -> list[str]:
        sc = SCENARIOS[sc_id]
        rows = [r for (s, _), r in self.results.items() if s == sc_id]
        anchor = next((r for r in rows if r.anchor and r.ok), None)
        peers = [r for r in rows if r.role == "peer" and r.ok]
        fastest_peer = min(peers, key=lambda r: r.wall) if peers else None
        inc = sc.kind in ("incremental", "key_sync")
        what = "rows changed" if sc.kind == "incremental" else "source keys"
        head = "| method | runs | median wall s | rows/s | MB/s | peak RSS MB | speed vs raw pipe |"
        sep = "|---|---:|---:|---:|---:|---:|---:|"
        if inc:
            head = head.replace("| MB/s ", "| first full load s ").replace("rows/s", f"{what}/s")
        out = [f"### Scenario {sc.id}: {sc.title}", "", head + " notes |", sep + "---|"]
        for r in rows:
            if r.skipped:
                out.append(f"| {r.method} | - | - | - | - | - | - | not run: {r.skipped} |")
                continue
            if not r.ok:
                reason = " ".join("; ".join(dict.fromkeys(r.failures)).split())
                reason = reason[:400].replace("|", "\\|")
                out.append(f"| {r.method} | - | **FAILED** | - | - | - | - | {reason} |")
                continue
            notes = []
            if r.types:
                notes.append(f"types changed: {r.types}")
            if r.anchor:
                notes.append("anchor")
            if r.role == "pipekit" and fastest_peer:
                notes.append(
                    f"{fastest_peer.wall / r.wall:.2f}x the fastest peer ({fastest_peer.method})"
                )
            if r.role == "pipekit" and inc and r.setup_wall:
                notes.append(f"{r.wall / r.setup_wall:.0%} of its own full load")
            ratio = f"{anchor.wall / r.wall:.2f}x" if anchor else "-"
            third = f"{r.setup_wall:.2f}" if inc else f"{r.size / 2**20 / r.wall:.1f}"
            if inc and r.setup_wall is None:
                third = "-"
            out.append(
                f"| {r.method} | {len(r.walls)} | {r.wall:.2f} | {r.rows / r.wall:,.0f} | "
                f"{third} | {r.peak / 2**20:.0f} | {ratio} | {'; '.join(notes)} |"
            )
        return out

    def report(self) -> str:
        lines = []
        if self.args.scenario:
            lines += [
                f"Scale factor {self.args.scale:g} (lineitem {self.counts['lineitem']:,} rows, "
                f"orders {self.counts['orders']:,} rows); {self.args.runs} run(s) per method, "
                "alternating; every figure verified (row count and a checksum of every column).",
                "",
            ]
        lines += [*self.machine(), ""]
        for sc_id in self.args.scenario:
            lines += [*self.table(sc_id), ""]
        if self.memory:
            lines += [
                "### Memory: Pipekit's full scenarios by scale",
                "",
                "| scenario | scale | run | rows | wall s | rows/s | peak RSS MB |",
                "|---:|---:|---|---:|---:|---:|---:|",
            ]
            for scale, what, r in sorted(self.memory, key=lambda x: (x[2].scenario, x[0])):
                if r.ok:
                    lines.append(
                        f"| {r.scenario} | {scale:g} | {what} | {r.rows:,} | {r.wall:.2f} | "
                        f"{r.rows / r.wall:,.0f} | {r.peak / 2**20:.0f} |"
                    )
                else:
                    lines.append(
                        f"| {r.scenario} | {scale:g} | {what} | - | **FAILED** | - | "
                        f"{r.failures[-1][:200]} |"
                    )
            lines.append("")
        lines += self.notes
        return "\n".join(lines)

    def main(self) -> int:
        a = self.args
        self.command = "python -m bench " + " ".join(shlex.quote(x) for x in sys.argv[1:])
        self.load_start = os.getloadavg()
        print(f"load average {self.load_start[0]:.2f}; logs in {self.logs}")
        stores = {SCENARIOS[s].store for s in a.scenario}
        self.counts = D.prepare(a.scale, stores | {"pg"}) if a.scenario else {}
        scs = [SCENARIOS[s] for s in a.scenario]
        if any(sc.id in self.pipekit.scenarios for sc in scs) or a.memory_scales:
            self.pipekit.configure(scs)
        for sc in scs:
            self.run_scenario(sc, a.scale, a.runs)
        if a.memory_scales:
            self.memory_scales(a.memory_scales, a.memory_scenarios)
        text = self.report()
        out = C.DATA / f"results-{self.stamp}.md"
        out.write_text(text + "\n")
        print("\n" + text)
        print(f"\nwritten to {out}")
        return 0


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=1.0, help="TPC-H scale factor (default 1)")
    p.add_argument(
        "--scenario",
        default="0,1,2,3,4,5",
        help="comma-separated scenario ids (0 start-up, 1-5 as in issue 5; 'none' with "
        "--memory-scales alone); default all",
    )
    p.add_argument(
        "--peers",
        default=",".join(ALL_PEERS),
        help=f"comma-separated peers to run beside Pipekit and the raw pipe: {','.join(ALL_PEERS)} "
        "(default all; 'none' for none)",
    )
    p.add_argument("--runs", type=int, default=3, help="timed runs per method (default 3)")
    p.add_argument(
        "--memory-scales",
        default="",
        help="after the scenarios, run Pipekit's --memory-scenarios at these scales, e.g. "
        "0.1,1,3: a first load, then a full refresh over the table it left",
    )
    p.add_argument(
        "--memory-scenarios",
        default="1",
        help="the full scenarios --memory-scales measures (of 1, 3, 4; default 1)",
    )
    p.add_argument("--keep", action="store_true", help="keep the destination tables afterwards")
    p.add_argument(
        "--profile",
        action="store_true",
        help="run Pipekit's timed runs under py-spy (speedscope files in the log folder; "
        "its wall time and RSS then include the profiler)",
    )
    p.add_argument("--timeout", type=float, default=3600, help="seconds before a run is killed")
    a = p.parse_args(argv)
    text = "" if a.scenario == "none" else a.scenario
    a.scenario = [int(x) for x in text.split(",") if x.strip()]
    unknown = [s for s in a.scenario if s not in SCENARIOS]
    if unknown:
        p.error(f"unknown scenario(s) {unknown}; known: {sorted(SCENARIOS)}")
    a.peers = [] if a.peers in ("", "none") else [x.strip() for x in a.peers.split(",")]
    bad = [x for x in a.peers if x not in ALL_PEERS]
    if bad:
        p.error(f"unknown peer(s) {bad}; known: {ALL_PEERS}")
    a.memory_scales = _floats(a.memory_scales)
    a.memory_scenarios = [int(x) for x in a.memory_scenarios.split(",") if x.strip()]
    if any(s not in (1, 3, 4) for s in a.memory_scenarios):
        p.error(f"--memory-scenarios takes full scenarios 1, 3, 4, not {a.memory_scenarios}")
    return a


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    rc = Suite(args).main()
    print(f"suite took {time.monotonic() - started:.0f} s")
    return rc
