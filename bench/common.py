"""Paths, connection settings and small database helpers shared by the suite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / ".data"
VENVS = BENCH / ".venvs"
LOGS = DATA / "logs"

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
MY_HOST, MY_PORT, MY_USER = "127.0.0.1", 3306, "root"
#: sources (cached TPC-H tables, marker) and destinations live in separate databases
PG_SRC_DB = "pipekit_bench"
PG_DST_DB = "pipekit_bench_dst"
MY_DB = "pipekit_bench"
SQLITE_SRC = DATA / "pipekit_bench.sqlite"

#: the interpreter of the project's venv (Pipekit, psycopg, pymysql, duckdb)
PY = sys.executable
PIPEKIT = str(Path(sys.executable).parent / "pipekit")


def pg_url(db: str, *, password: bool = False, scheme: str = "postgresql") -> str:
    auth = f"{PG_USER}:bench" if password else PG_USER
    return f"{scheme}://{auth}@{PG_HOST}:{PG_PORT}/{db}"


def my_url(db: str = MY_DB, *, scheme: str = "mysql") -> str:
    return f"{scheme}://{MY_USER}@{MY_HOST}:{MY_PORT}/{db}"


def psql(db: str, *extra: str) -> list[str]:
    """A psql command line that stops on the first error and reads no ~/.psqlrc."""
    return [
        "psql",
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        PG_HOST,
        "-p",
        str(PG_PORT),
        "-U",
        PG_USER,
        "-d",
        db,
        *extra,
    ]


def mariadb(*extra: str) -> list[str]:
    client = shutil.which("mariadb") or shutil.which("mysql") or "mariadb"
    return [client, "-h", MY_HOST, "-P", str(MY_PORT), "-u", MY_USER, *extra]


def sh_join(argv: Sequence[str]) -> str:
    import shlex

    return " ".join(shlex.quote(a) for a in argv)


def pg_connect(db: str) -> Any:
    import psycopg

    conn = psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=db, autocommit=True, connect_timeout=10
    )
    conn.execute("SET TimeZone = 'UTC'")
    return conn


def pg_ensure_db(db: str) -> None:
    with pg_connect("postgres") as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone()
        if not found:
            conn.execute(f'CREATE DATABASE "{db}"')


def my_connect(db: str | None = MY_DB) -> Any:
    import pymysql

    return pymysql.connect(
        host=MY_HOST,
        port=MY_PORT,
        user=MY_USER,
        password="",
        database=db,
        autocommit=True,
        local_infile=True,
        connect_timeout=10,
    )


def qi(name: str) -> str:
    """PostgreSQL / DuckDB identifier quoting."""
    return '"' + name.replace('"', '""') + '"'


def run(argv: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run a helper command (not measured); raise with its output on failure."""
    done = subprocess.run(list(argv), capture_output=True, text=True, **kw)
    if done.returncode != 0:
        raise RuntimeError(
            f"{sh_join(argv)} exited {done.returncode}: {(done.stderr or done.stdout)[-2000:]}"
        )
    return done


def env_utc(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PGTZ"] = "UTC"
    env["PGOPTIONS"] = "-c TimeZone=UTC"
    env.update(extra)
    return env
