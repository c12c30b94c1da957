"""JDBC read speed and memory: PostgreSQL through its JDBC jar vs the native driver.

Builds a 1,000,000-row, 8-column table (bigint, bigint, numeric(15,5), float8,
text, char(10), timestamp, date) in a scratch PostgreSQL database, then reads it
in child processes, each alone, and reports the wall time of the read, the time to
connect before it (the JVM's start included) and the peak RSS of the whole child
(VmHWM: the JVM included):

- ``native``      Pipekit's PostgreSQL driver (``postgresql://``), Arrow batches
- ``jdbc-cold``   Pipekit's JDBC driver (``jdbc:postgresql://``) in a process with no
                  class-data sharing archive yet (the first JDBC process of an install,
                  or after a jar or the JDK changed): it records its classes, and the
                  archive is built in the background after the read (the bench waits
                  for that build before the next child)
- ``jdbc``        the same in a process that starts from that archive (every later
                  process: each run of the server); JPype, ResultSet -> Arrow inside
                  the JVM (jaydebeapiarrow's extension), C data interface
- ``jdbc-warm``   the same read a second time in the same process (the JVM's JIT warm)
- ``jpype-rows``  JPype alone, value by value (``rs.getLong`` …) into Python lists,
                  on the first 100,000 rows only (scaled to 1M in the report; skipped
                  with ``--quick``)

    python -m bench.jdbc_read [--rows 1000000] [--heap 256m] [--repeat 3] [--quick]

With ``--repeat N`` the modes run N times, interleaved, and the median is reported
(with the range): the machine is shared, and one child's figure is noise.

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust), Java and
/usr/share/java/postgresql.jar (scripts/test.sh installs them). The scratch
database and class cache are removed at the end, also on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql://postgres@127.0.0.1:5432"

TABLE_SQL = """
CREATE TABLE t AS SELECT g::bigint AS id, (g * 2)::bigint AS qty,
  (g / 7.0)::numeric(15,5) AS amount, g * 1.5::float8 AS price, 'name ' || g AS name,
  'ab'::char(10) AS code, timestamp '2024-01-01' + g * interval '1 second' AS ts,
  date '2024-01-01' + (g % 1000) AS d
FROM generate_series(1, {rows}) g
"""


def child(mode: str, db: str, heap: str, cache: str) -> None:
    """Run one read in this process and print its figures as JSON."""
    sys.path.insert(0, str(ROOT))
    from pipekit.drivers import connect, jvm

    jvm.configure(max_heap=heap, class_cache=cache)
    out: dict[str, float | int | str] = {}
    start = time.perf_counter()
    if mode == "native":
        d = connect(f"{PG}/{db}", user="postgres")
        out["connect"] = time.perf_counter() - start
        start = time.perf_counter()
        out["rows"] = sum(b.num_rows for b in d.read("SELECT * FROM t"))
        out["seconds"] = time.perf_counter() - start
    elif mode in ("jdbc", "jdbc-cold", "jdbc-warm"):
        d = connect(f"jdbc:postgresql://127.0.0.1:5432/{db}", user="postgres")
        out["connect"] = time.perf_counter() - start
        out["sharing"] = jvm.sharing()
        for _ in range(2 if mode == "jdbc-warm" else 1):
            start = time.perf_counter()
            out["rows"] = sum(b.num_rows for b in d.read("SELECT * FROM t"))
            out["seconds"] = time.perf_counter() - start
    elif mode == "jpype-rows":
        import jpype

        jvm.ensure_started()
        conn = jpype.JClass("java.sql.DriverManager").getConnection(
            f"jdbc:postgresql://127.0.0.1:5432/{db}", "postgres", ""
        )
        conn.setAutoCommit(False)
        st = conn.createStatement()
        st.setFetchSize(10_000)
        start = time.perf_counter()
        rs = st.executeQuery("SELECT * FROM t LIMIT 100000")
        cols: list[list[object]] = [[] for _ in range(8)]
        n = 0
        while rs.next():
            cols[0].append(int(rs.getLong(1)))
            cols[1].append(int(rs.getLong(2)))
            cols[2].append(str(rs.getBigDecimal(3)))
            cols[3].append(float(rs.getDouble(4)))
            cols[4].append(str(rs.getString(5)))
            cols[5].append(str(rs.getString(6)))
            cols[6].append(str(rs.getTimestamp(7)))
            cols[7].append(str(rs.getDate(8)))
            n += 1
        out["rows"] = n
        out["seconds"] = (time.perf_counter() - start) * 10  # scaled to 1M rows
    status = Path("/proc/self/status").read_text()
    hwm = next(line for line in status.splitlines() if line.startswith("VmHWM"))
    out["peak_rss_mb"] = int(hwm.split()[1]) / 1024
    print(json.dumps(out))


def run_child(mode: str, db: str, heap: str, cache: Path) -> dict[str, float | int | str]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.jdbc_read", "--heap", heap, "--child", mode, db, str(cache)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float | int | str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def wait_for_archive(cache: Path, timeout: float = 120) -> bool:
    """Wait until the class archive build a JDBC child started has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not list(cache.glob("*.building")):
            return bool(list(cache.glob("*.ok")))
        time.sleep(0.5)
    return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--heap", default="256m")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="skip the value-by-value read")
    ap.add_argument("--child", nargs=3, metavar=("MODE", "DB", "CACHE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.heap, args.child[2])
        return
    import psycopg

    db = f"pk_bench_jdbc_{secrets.token_hex(4)}"
    tmp = Path(tempfile.mkdtemp(prefix="pk_bench_jdbc_"))
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{db}"')
    try:
        with psycopg.connect(f"{PG}/{db}", autocommit=True) as c:
            c.execute(TABLE_SQL.format(rows=int(args.rows)))
            c.execute("VACUUM ANALYZE t")
        # the archive every later process starts from (untimed)
        warm = tmp / "cache"
        run_child("jdbc-cold", db, args.heap, warm)
        if not wait_for_archive(warm):
            print("class archive was not built: jdbc runs without it")
        print(f"load average {os.getloadavg()[0]:.1f}; {args.rows:,} rows x 8 columns")
        modes = ["native", "jdbc-cold", "jdbc", "jdbc-warm"]
        if not args.quick:
            modes.append("jpype-rows")
        results: dict[str, list[dict[str, float | int | str]]] = {m: [] for m in modes}
        for rep in range(args.repeat):
            for mode in modes:
                cache = tmp / f"cold-{rep}" if mode == "jdbc-cold" else warm
                results[mode].append(run_child(mode, db, args.heap, cache))
                if mode == "jdbc-cold":
                    wait_for_archive(cache)  # its background build must not slow the next
        median: dict[str, float] = {}
        for mode in modes:
            rs = results[mode]
            secs = [float(r["seconds"]) for r in rs]
            median[mode] = statistics.median(secs)
            rss = max(float(r["peak_rss_mb"]) for r in rs)
            line = f"{mode:11} {median[mode]:6.2f} s"
            if len(rs) > 1:
                line += f" ({min(secs):.2f}-{max(secs):.2f})"
            line += f"  peak RSS {rss:5.0f} MB"
            if "connect" in rs[0]:
                connect = statistics.median(float(r["connect"]) for r in rs)
                line += f"  connect {connect:5.2f} s"
            if "sharing" in rs[0]:
                line += f"  CDS {rs[0]['sharing']}"
            print(line)
        native = median["native"]
        for mode in ("jdbc-cold", "jdbc", "jdbc-warm"):
            print(f"{mode}: {native / median[mode]:.2f} x native speed")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


if __name__ == "__main__":
    main()
