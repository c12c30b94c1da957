"""TPC-H data: generated once per scale, loaded into PostgreSQL, MariaDB and SQLite, cached.

Each store keeps a marker table ``bench_meta`` (table, scale, rows); a store whose
marker and actual row counts match the wanted scale is used as it is, anything else
is reloaded from bench/.data/tpch/sf<scale>/ (generated first when missing).
Scenario tables that the benchmark changes (``src.lineitem_inc``, ``src.orders_ks``)
are copies rebuilt from the cached tables at the start of their scenario.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import common as C

TPCH_VERSION = "1.5.5"  # duckdb-extension-tpch; the duckdb it loads into must match
FORMAT_VERSION = 1  # bump when the bench copy of the tables changes shape


@dataclass(frozen=True)
class Col:
    name: str
    pg: str
    my: str
    sqlite: str


def _cols(spec: str) -> tuple[Col, ...]:
    out = []
    for line in spec.strip().splitlines():
        name, pg, my, lite = (p.strip() for p in line.split("|"))
        out.append(Col(name, pg, my, lite))
    return tuple(out)


TABLES: dict[str, tuple[Col, ...]] = {
    "lineitem": _cols(
        """
        l_orderkey      | bigint        | BIGINT        | BIGINT
        l_partkey       | bigint        | BIGINT        | BIGINT
        l_suppkey       | bigint        | BIGINT        | BIGINT
        l_linenumber    | bigint        | BIGINT        | BIGINT
        l_quantity      | numeric(15,2) | DECIMAL(15,2) | DECIMAL(15,2)
        l_extendedprice | numeric(15,2) | DECIMAL(15,2) | DECIMAL(15,2)
        l_discount      | numeric(15,2) | DECIMAL(15,2) | DECIMAL(15,2)
        l_tax           | numeric(15,2) | DECIMAL(15,2) | DECIMAL(15,2)
        l_returnflag    | varchar(1)    | VARCHAR(1)    | VARCHAR(1)
        l_linestatus    | varchar(1)    | VARCHAR(1)    | VARCHAR(1)
        l_shipdate      | date          | DATE          | DATE
        l_commitdate    | date          | DATE          | DATE
        l_receiptdate   | date          | DATE          | DATE
        l_shipinstruct  | varchar(25)   | VARCHAR(25)   | VARCHAR(25)
        l_shipmode      | varchar(10)   | VARCHAR(10)   | VARCHAR(10)
        l_comment       | varchar(44)   | VARCHAR(44)   | VARCHAR(44)
        updated_at      | timestamptz   | DATETIME(6)   | TIMESTAMP
        """
    ),
    "orders": _cols(
        """
        o_orderkey      | bigint        | BIGINT        | BIGINT
        o_custkey       | bigint        | BIGINT        | BIGINT
        o_orderstatus   | varchar(1)    | VARCHAR(1)    | VARCHAR(1)
        o_totalprice    | numeric(15,2) | DECIMAL(15,2) | DECIMAL(15,2)
        o_orderdate     | date          | DATE          | DATE
        o_orderpriority | varchar(15)   | VARCHAR(15)   | VARCHAR(15)
        o_clerk         | varchar(15)   | VARCHAR(15)   | VARCHAR(15)
        o_shippriority  | integer       | INT           | INTEGER
        o_comment       | varchar(79)   | VARCHAR(79)   | VARCHAR(79)
        updated_at      | timestamptz   | DATETIME(6)   | TIMESTAMP
        """
    ),
}
KEYS = {"lineitem": ["l_orderkey", "l_linenumber"], "orders": ["o_orderkey"]}
#: which store holds which table
SQLITE_TABLES = ("lineitem",)


def scale_label(scale: float) -> str:
    return f"{scale:g}"


def data_dir(scale: float) -> Path:
    return C.DATA / "tpch" / f"sf{scale_label(scale)}"


def pg_create_sql(
    schema: str, table: str, name: str | None = None, *, pk: bool = True, naive: bool = False
) -> str:
    """CREATE TABLE for the bench copy of `table`; `naive`: updated_at without a zone."""
    cols = [
        f"{c.name} {'timestamp(6)' if naive and c.pg == 'timestamptz' else c.pg} NOT NULL"
        for c in TABLES[table]
    ]
    if pk:
        cols.append(f"PRIMARY KEY ({', '.join(KEYS[table])})")
    return f"CREATE TABLE {schema}.{name or table} ({', '.join(cols)})"


# -- generation ---------------------------------------------------------------------


def _generator_python() -> str:
    """An interpreter whose duckdb matches the tpch extension package (built on demand)."""
    probe = (
        "import duckdb, duckdb_extension_tpch, pathlib; "
        "p = pathlib.Path(duckdb_extension_tpch.__file__).parent / 'extensions' / "
        "f'v{duckdb.__version__}'; raise SystemExit(0 if p.exists() else 1)"
    )
    if subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0:
        return sys.executable
    venv = C.VENVS / "duckdb"
    py = venv / "bin" / "python"
    if not py.exists() or subprocess.run([str(py), "-c", probe], capture_output=True).returncode:
        print(f"  building {venv} (duckdb=={TPCH_VERSION} with its tpch and sqlite extensions)")
        C.run([sys.executable, "-m", "venv", "--clear", str(venv)])
        C.run(
            [
                str(py),
                "-m",
                "pip",
                "install",
                "-q",
                f"duckdb=={TPCH_VERSION}",
                f"duckdb-extension-tpch=={TPCH_VERSION}",
                f"duckdb-extension-sqlite=={TPCH_VERSION}",
            ]
        )
    return str(py)


def generate(scale: float) -> dict[str, int]:
    out = data_dir(scale)
    counts_file = out / "counts.json"
    if counts_file.exists():
        return json.loads(counts_file.read_text())["rows"]
    print(f"  generating TPC-H sf={scale_label(scale)} into {out}")
    C.run([_generator_python(), str(C.BENCH / "gen_tpch.py"), str(scale), str(out)])
    return json.loads(counts_file.read_text())["rows"]


# -- PostgreSQL ---------------------------------------------------------------------


def _marker_ok(rows: list[tuple], scale: float, counts: dict[str, int], tables) -> bool:
    have = {r[0]: (float(r[1]), int(r[2]), int(r[3])) for r in rows}
    return all(have.get(t) == (scale, counts[t], FORMAT_VERSION) for t in tables)


def load_pg(scale: float, counts: dict[str, int]) -> None:
    C.pg_ensure_db(C.PG_SRC_DB)
    C.pg_ensure_db(C.PG_DST_DB)
    with C.pg_connect(C.PG_SRC_DB) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS src")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS public.bench_meta (table_name text PRIMARY KEY, "
            "scale float8, row_count bigint, format int)"
        )
        marker = conn.execute("SELECT table_name, scale, row_count, format FROM bench_meta")
        actual = {}
        for t in TABLES:
            exists = conn.execute("SELECT to_regclass(%s)", (f"src.{t}",)).fetchone()[0]
            actual[t] = exists and conn.execute(f"SELECT count(*) FROM src.{t}").fetchone()[0]
        if _marker_ok(marker.fetchall(), scale, counts, TABLES) and all(
            actual[t] == counts[t] for t in TABLES
        ):
            return
        for t in TABLES:
            print(f"  loading PostgreSQL {C.PG_SRC_DB}.src.{t} ({counts[t]:,} rows)")
            conn.execute(f"DROP TABLE IF EXISTS src.{t}")
            conn.execute(pg_create_sql("src", t, pk=False))
            path = data_dir(scale) / f"{t}.tsv"
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY src.{t} FROM STDIN") as copy,
                open(path, "rb") as f,
            ):
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
            conn.execute(f"ALTER TABLE src.{t} ADD PRIMARY KEY ({', '.join(KEYS[t])})")
            conn.execute(f"VACUUM ANALYZE src.{t}")
            conn.execute(
                "INSERT INTO bench_meta VALUES (%s, %s, %s, %s) ON CONFLICT (table_name) DO "
                "UPDATE SET scale = excluded.scale, row_count = excluded.row_count, "
                "format = excluded.format",
                (t, scale, counts[t], FORMAT_VERSION),
            )


# -- MariaDB ------------------------------------------------------------------------


def load_mariadb(scale: float, counts: dict[str, int]) -> None:
    conn = C.my_connect(None)
    try:
        cur = conn.cursor()
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {C.MY_DB}")
        cur.execute(f"USE {C.MY_DB}")
        cur.execute(
            "CREATE TABLE IF NOT EXISTS bench_meta (table_name VARCHAR(64) PRIMARY KEY, "
            "scale DOUBLE, row_count BIGINT, format INT)"
        )
        cur.execute("SELECT table_name, scale, row_count, format FROM bench_meta")
        marker = cur.fetchall()
        actual = {}
        for t in TABLES:
            cur.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = %s AND table_name = %s",
                (C.MY_DB, t),
            )
            if cur.fetchone()[0]:
                cur.execute(f"SELECT count(*) FROM {t}")
                actual[t] = cur.fetchone()[0]
        if _marker_ok(marker, scale, counts, TABLES) and all(
            actual.get(t) == counts[t] for t in TABLES
        ):
            return
        cur.execute("SET GLOBAL local_infile = 1")
        for t in TABLES:
            print(f"  loading MariaDB {C.MY_DB}.{t} ({counts[t]:,} rows)")
            cols = [f"{c.name} {c.my} NOT NULL" for c in TABLES[t]]
            cols.append(f"PRIMARY KEY ({', '.join(KEYS[t])})")
            cur.execute(f"DROP TABLE IF EXISTS {t}")
            cur.execute(f"CREATE TABLE {t} ({', '.join(cols)}) ENGINE=InnoDB")
            path = data_dir(scale) / f"{t}.tsv"
            cur.execute("SET SESSION time_zone = '+00:00'")
            cur.execute(f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE {t}")
            cur.execute("SHOW WARNINGS")
            warnings = cur.fetchall()
            if warnings:
                raise RuntimeError(f"MariaDB LOAD DATA {t}: {warnings[:3]}")
            cur.execute(f"ANALYZE TABLE {t}")
            cur.fetchall()
            cur.execute(
                "REPLACE INTO bench_meta VALUES (%s, %s, %s, %s)",
                (t, scale, counts[t], FORMAT_VERSION),
            )
    finally:
        conn.close()


# -- SQLite -------------------------------------------------------------------------


def load_sqlite(scale: float, counts: dict[str, int]) -> None:
    import sqlite3

    path = C.SQLITE_SRC
    if path.exists():
        con = sqlite3.connect(path)
        try:
            marker = con.execute(
                "SELECT table_name, scale, row_count, format FROM bench_meta"
            ).fetchall()
            actual = {
                t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in SQLITE_TABLES
            }
            if _marker_ok(marker, scale, counts, SQLITE_TABLES) and all(
                actual[t] == counts[t] for t in SQLITE_TABLES
            ):
                return
        except sqlite3.Error:
            pass
        finally:
            con.close()
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    for t in SQLITE_TABLES:
        print(f"  loading SQLite {path.name} {t} ({counts[t]:,} rows)")
        cols = [f"{c.name} {c.sqlite} NOT NULL" for c in TABLES[t]]
        cols.append(f"PRIMARY KEY ({', '.join(KEYS[t])})")
        script = (
            f"CREATE TABLE {t} ({', '.join(cols)});\n"
            '.mode ascii\n.separator "\\t" "\\n"\n'
            f".import {data_dir(scale) / (t + '.tsv')} {t}\n"
        )
        C.run(["sqlite3", str(path)], input=script)
    con = sqlite3.connect(path)
    with con:
        con.execute(
            "CREATE TABLE bench_meta (table_name TEXT PRIMARY KEY, scale REAL, row_count INTEGER, "
            "format INTEGER)"
        )
        for t in SQLITE_TABLES:
            n = con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            if n != counts[t]:
                raise RuntimeError(f"SQLite {t}: {n} rows imported, expected {counts[t]}")
            con.execute(
                "INSERT INTO bench_meta VALUES (?, ?, ?, ?)", (t, scale, counts[t], FORMAT_VERSION)
            )
    con.execute("ANALYZE")
    con.close()


def prepare(scale: float, stores: set[str]) -> dict[str, int]:
    """Make sure the wanted stores hold TPC-H at `scale`; returns the row counts."""
    counts = generate(scale)
    if "pg" in stores:
        load_pg(scale, counts)
    if "mariadb" in stores:
        load_mariadb(scale, counts)
    if "sqlite" in stores:
        load_sqlite(scale, counts)
    return counts


def reset_copy(table: str, copy: str) -> None:
    """src.<copy>: a fresh copy of src.<table> with its primary key (the scenario changes it)."""
    with C.pg_connect(C.PG_SRC_DB) as conn:
        conn.execute(f"DROP TABLE IF EXISTS src.{copy}")
        conn.execute(f"CREATE TABLE src.{copy} AS TABLE src.{table}")
        conn.execute(f"ALTER TABLE src.{copy} ADD PRIMARY KEY ({', '.join(KEYS[table])})")
        conn.execute(f"VACUUM ANALYZE src.{copy}")


def mutate_incremental(copy: str, round_no: int) -> tuple[int, int]:
    """Update 1 % of src.lineitem_inc's rows and insert 1 % new ones, all newer than before.

    Deterministic per round; returns (updated, inserted).
    """
    stamp = f"timestamptz '2021-01-01 00:00:00+00' + interval '{round_no} day'"
    sel = "abs(hashint8(l_orderkey * 8 + l_linenumber + {salt})) % 100 = 0"
    with C.pg_connect(C.PG_SRC_DB) as conn:
        upd = conn.execute(
            f"UPDATE src.{copy} SET l_comment = 'updated in round {round_no}', "
            f"l_quantity = l_quantity + 1, updated_at = {stamp} + "
            "(l_linenumber * interval '1 microsecond') "
            f"WHERE {sel.format(salt=round_no * 1000003)}"
        ).rowcount
        offset = 1_000_000_000 * (round_no + 1)
        cols = [c.name for c in TABLES["lineitem"]]
        values = [
            f"l_orderkey + {offset}"
            if c == "l_orderkey"
            else (
                f"{stamp} + (l_linenumber * interval '1 microsecond') + interval '1 second'"
                if c == "updated_at"
                else c
            )
            for c in cols
        ]
        ins = conn.execute(
            f"INSERT INTO src.{copy} ({', '.join(cols)}) SELECT {', '.join(values)} "
            f"FROM src.{copy} WHERE l_orderkey < 1000000000 AND "
            f"{sel.format(salt=round_no * 1000003 + 7)}"
        ).rowcount
        conn.execute(f"ANALYZE src.{copy}")
    return upd, ins


def delete_keys(copy: str, round_no: int) -> int:
    """Delete 0.5 % of src.orders_ks's keys (a different set each round)."""
    with C.pg_connect(C.PG_SRC_DB) as conn:
        n = conn.execute(
            f"DELETE FROM src.{copy} WHERE abs(hashint8(o_orderkey + {round_no * 7919})) % 200 = 0"
        ).rowcount
        conn.execute(f"ANALYZE src.{copy}")
    return n


def source_size(store: str, table: str) -> int:
    """Bytes of the source table (with its indexes)."""
    if store == "pg":
        with C.pg_connect(C.PG_SRC_DB) as conn:
            return int(
                conn.execute("SELECT pg_total_relation_size(%s)", (f"src.{table}",)).fetchone()[0]
            )
    if store == "mariadb":
        conn = C.my_connect()
        try:
            cur = conn.cursor()
            cur.execute(
                "SELECT data_length + index_length FROM information_schema.tables "
                "WHERE table_schema = %s AND table_name = %s",
                (C.MY_DB, table),
            )
            return int(cur.fetchone()[0])
        finally:
            conn.close()
    return os.path.getsize(C.SQLITE_SRC)
