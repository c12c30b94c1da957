"""Measure driver candidates for reading a query into Arrow and bulk-loading Arrow.

Library-level only (no Pipekit code). For PostgreSQL, MariaDB, DuckDB and SQLite it
builds the same N-row table (default 1,000,000) in a scratch database, then runs each
candidate reader and loader in its own child process, three times, and reports the
median wall time, the peak RSS (VmHWM of the child) and the type fidelity of what
arrived (readers) or of what was stored (loaders).

    python bench/drivers_candidates.py [--rows 1000000] [--only REGEX] [--no-docs]

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and MariaDB on
127.0.0.1:3306 (root, empty password, local_infile on). Optional bench-only
packages, skipped when missing: connectorx, mysql-connector-python, adbc-driver-sqlite.
Scratch databases (pk_bench_<random>) and temporary files are removed at exit,
also on failure.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Iterator
from decimal import Decimal
from importlib import metadata
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
MY_HOST, MY_PORT = "127.0.0.1", 3306
REPEATS = 3
READ_BATCH = 65_536
COLS = ["id", "qty", "price", "big", "ratio", "name", "flag", "d", "ts", "tstz", "u"]
EPOCH_D = dt.date(2000, 1, 1)
EPOCH_TS = dt.datetime(2000, 1, 1)
UTC = dt.UTC
DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADING = "## Driver candidates (1M rows)"


# ----------------------------------------------------------------------------- data
# Every value is a function of the row id i, so any reader's output can be checked
# against expected_row(i), and every database builds its table from the same formulas.


def expected_row(i: int, with_uuid: bool = True) -> dict:
    frac = (i * 7919) % 10**10
    big = Decimal(f"{'-' if i % 2 == 0 else ''}{i}{'0' * 17}.{frac:010d}")
    ts = EPOCH_TS + dt.timedelta(seconds=i * 37, microseconds=(i * 7) % 1_000_000)
    row = {
        "id": i,
        "qty": None if i % 101 == 0 else (i * 13) % 100_000 - 50_000,
        "price": Decimal((i * 37) % 10_000_000).scaleb(-2),
        "big": big,
        "ratio": i / 7,
        "name": None if i % 50 == 0 else f"name-{i}-ü€😀",
        "flag": i % 3 == 0,
        "d": EPOCH_D + dt.timedelta(days=i % 20_000),
        "ts": ts,
        "tstz": ts.replace(tzinfo=UTC),
    }
    if with_uuid:
        import hashlib

        row["u"] = uuid.UUID(hashlib.md5(str(i).encode()).hexdigest())
    return row


def arrow_schema(with_uuid: bool) -> pa.Schema:
    fields = [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("qty", pa.int32()),
        pa.field("price", pa.decimal128(12, 2)),
        pa.field("big", pa.decimal128(38, 10)),
        pa.field("ratio", pa.float64()),
        pa.field("name", pa.string()),
        pa.field("flag", pa.bool_()),
        pa.field("d", pa.date32()),
        pa.field("ts", pa.timestamp("us")),
        pa.field("tstz", pa.timestamp("us", tz="UTC")),
    ]
    if with_uuid:
        fields.append(pa.field("u", pa.uuid()))
    return pa.schema(fields)


def canonical_batches(n: int, with_uuid: bool, size: int = 100_000) -> Iterator[pa.RecordBatch]:
    """The table as Arrow, built with Python objects (exact by construction)."""
    schema = arrow_schema(with_uuid)
    for start in range(1, n + 1, size):
        rows = [expected_row(i, with_uuid) for i in range(start, min(n, start + size - 1) + 1)]
        cols = []
        for f in schema:
            vals = [r[f.name] for r in rows]
            if f.name == "u":
                cols.append(pa.array([v.bytes for v in vals], pa.binary(16)).cast(pa.uuid()))
            else:
                cols.append(pa.array(vals, f.type))
        yield pa.record_batch(cols, schema=schema)


PG_DDL = """CREATE TABLE {t} (
    id bigint PRIMARY KEY, qty integer, price numeric(12,2), big numeric(38,10),
    ratio double precision, name text, flag boolean, d date, ts timestamp(6),
    tstz timestamptz(6), u uuid)"""

PG_FILL = """INSERT INTO src
SELECT i,
       CASE WHEN i % 101 = 0 THEN NULL ELSE (i * 13) % 100000 - 50000 END,
       ((i * 37) % 10000000)::numeric / 100,
       (CASE WHEN i % 2 = 0 THEN '-' ELSE '' END || i || '00000000000000000.'
        || lpad(((i * 7919) % 10000000000)::text, 10, '0'))::numeric(38,10),
       i::float8 / 7,
       CASE WHEN i % 50 = 0 THEN NULL ELSE 'name-' || i || '-ü€😀' END,
       i % 3 = 0,
       date '2000-01-01' + (i % 20000)::int,
       timestamp '2000-01-01' + make_interval(secs => i * 37)
           + ((i * 7) % 1000000) * interval '1 microsecond',
       (timestamp '2000-01-01' + make_interval(secs => i * 37)
           + ((i * 7) % 1000000) * interval '1 microsecond') AT TIME ZONE 'UTC',
       md5(i::text)::uuid
FROM generate_series(1::bigint, {n}) AS i"""

MY_DDL = """CREATE TABLE {t} (
    id bigint PRIMARY KEY, qty int, price decimal(12,2), big decimal(38,10),
    ratio double, name text, flag boolean, d date, ts datetime(6),
    tstz timestamp(6) NULL DEFAULT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"""

MY_FILL = """INSERT INTO src
SELECT i,
       IF(i % 101 = 0, NULL, (i * 13) % 100000 - 50000),
       ((i * 37) % 10000000) / 100,
       CAST(CONCAT(IF(i % 2 = 0, '-', ''), i, '00000000000000000.',
                   LPAD((i * 7919) % 10000000000, 10, '0')) AS DECIMAL(38,10)),
       i / 7e0,
       IF(i % 50 = 0, NULL, CONCAT('name-', i, '-ü€😀')),
       i % 3 = 0,
       DATE'2000-01-01' + INTERVAL (i % 20000) DAY,
       TIMESTAMP'2000-01-01 00:00:00' + INTERVAL (i * 37) SECOND
           + INTERVAL ((i * 7) % 1000000) MICROSECOND,
       TIMESTAMP'2000-01-01 00:00:00' + INTERVAL (i * 37) SECOND
           + INTERVAL ((i * 7) % 1000000) MICROSECOND
FROM (SELECT CAST(seq AS SIGNED) AS i FROM seq_1_to_{n}) AS g"""

# SQLite keeps what it is given: numerics as TEXT (exact), dates and times as ISO text.
SQLITE_DDL = """CREATE TABLE {t} (
    id INTEGER PRIMARY KEY, qty INTEGER, price TEXT, big TEXT, ratio REAL, name TEXT,
    flag INTEGER, d TEXT, ts TEXT, tstz TEXT)"""

DUCK_DDL = """CREATE TABLE {t} (
    id BIGINT PRIMARY KEY, qty INTEGER, price DECIMAL(12,2), big DECIMAL(38,10),
    ratio DOUBLE, name VARCHAR, flag BOOLEAN, d DATE, ts TIMESTAMP, tstz TIMESTAMPTZ)"""

SELECT = "SELECT id, qty, price, big, ratio, name, flag, d, ts, tstz{u} FROM src"


# ------------------------------------------------------------------ measurement helpers


def vm_hwm_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def pg_connect_psycopg(ctx: dict, **kw):
    import psycopg

    return psycopg.connect(ctx["pg_url"], **kw)


def my_connect(ctx: dict, **kw):
    import pymysql

    return pymysql.connect(
        host=MY_HOST,
        port=MY_PORT,
        user="root",
        password="",
        database=ctx["my_db"],
        charset="utf8mb4",
        init_command="SET time_zone = '+00:00'",
        **kw,
    )


def ipc_batches(path: str) -> Iterator[pa.RecordBatch]:
    with pa.memory_map(path) as src:
        reader = pa.ipc.open_file(src)
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i)


def ipc_reader(path: str) -> pa.RecordBatchReader:
    src = pa.memory_map(path)
    f = pa.ipc.open_file(src)
    return pa.RecordBatchReader.from_batches(
        f.schema, (f.get_batch(i) for i in range(f.num_record_batches))
    )


# ------------------------------------------------------------------------ fidelity


def _norm(got, exp):
    """Value as the expected type when it only differs in representation."""
    if got is None or exp is None:
        return got
    if isinstance(exp, Decimal) and not isinstance(got, Decimal):
        return Decimal(repr(got)) if isinstance(got, float) else Decimal(str(got))
    if isinstance(exp, uuid.UUID) and not isinstance(got, uuid.UUID):
        return uuid.UUID(bytes=got) if isinstance(got, bytes) else uuid.UUID(str(got))
    if isinstance(exp, dt.datetime):
        if isinstance(got, str):
            got = dt.datetime.fromisoformat(got)
        if exp.tzinfo is not None and got.tzinfo is None:
            return got.replace(tzinfo=UTC)
        return got
    if isinstance(exp, dt.date) and isinstance(got, str):
        return dt.date.fromisoformat(got)
    if isinstance(exp, bool) and isinstance(got, int):
        return bool(got)
    return got


def fidelity(table: pa.Table, with_uuid: bool, naive_tstz_ok: bool = False) -> dict:
    """Compare Arrow types and the first rows' values with the expected ones."""
    want = arrow_schema(with_uuid)
    table = table.slice(0, 2000)
    ids = table.column("id").to_pylist()
    exp_rows = [expected_row(int(i), with_uuid) for i in ids]
    types, wrong_type, wrong_value = {}, [], []
    for f in want:
        if f.name not in table.column_names:
            wrong_type.append(f"{f.name}: missing")
            continue
        col = table.column(f.name)
        t = col.type
        types[f.name] = str(t)
        same = t == f.type or (f.name == "name" and t == pa.large_string())
        if f.name == "tstz" and naive_tstz_ok and t == pa.timestamp("us"):
            same = True
        if f.name == "tstz" and t in (
            pa.timestamp("us", tz="+00:00"),
            pa.timestamp("us", "Etc/UTC"),
        ):
            same = True  # the same zone spelled differently
        if not same:
            wrong_type.append(f"{f.name}: {_short(t)}")
        got = col.to_pylist()
        for g, r in zip(got, exp_rows, strict=True):
            if _norm(g, r[f.name]) != r[f.name]:
                wrong_value.append(f"{f.name} (id {r['id']}: got {g!r}, want {r[f.name]!r})")
                break
    return {
        "types": types,
        "wrong_type": wrong_type,
        "wrong_value": wrong_value,
        "rows_checked": len(ids),
    }


def _short(t: pa.DataType) -> str:
    if isinstance(t, pa.OpaqueType):
        return f"opaque {t.type_name}/{t.storage_type}"
    if isinstance(t, pa.ExtensionType):
        return f"{t.extension_name}"
    return str(t)


# --------------------------------------------------------------------- conversions


def pylist_columns_to_arrow(rows: list[tuple], schema: pa.Schema) -> pa.RecordBatch:
    """Row tuples (DB-API objects) -> Arrow with the target schema."""
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    arrays = []
    for f, vals in zip(schema, cols, strict=True):
        if f.name == "u":
            arrays.append(
                pa.array([v.bytes if v is not None else None for v in vals], pa.binary(16)).cast(
                    pa.uuid()
                )
            )
        elif f.type == pa.bool_() and vals and not isinstance(_first(vals), bool):
            arrays.append(pa.array(vals, pa.int8()).cast(pa.bool_()))
        else:
            arrays.append(pa.array(vals, f.type))
    return pa.record_batch(arrays, schema=schema)


def _first(vals):
    return next((v for v in vals if v is not None), None)


def strings_to_arrow(rows: list[tuple], schema: pa.Schema) -> pa.RecordBatch:
    """Row tuples of str/bytes -> Arrow, parsed with pyarrow.compute casts."""
    cols = list(zip(*rows, strict=True))
    arrays = []
    for f, vals in zip(schema, cols, strict=True):
        if f.type == pa.string():
            arrays.append(pa.array(vals, pa.string()))
            continue
        raw = pa.array(vals, pa.string())
        if f.type == pa.bool_():
            arrays.append(raw.cast(pa.int8()).cast(pa.bool_()))
        elif pa.types.is_timestamp(f.type) and f.type.tz is not None:
            naive = raw.cast(pa.timestamp(f.type.unit))
            arrays.append(pc.assume_timezone(naive, f.type.tz))
        else:
            arrays.append(raw.cast(f.type))
    return pa.record_batch(arrays, schema=schema)


# ====================================================================== candidates
# Each candidate runs in a child process: fn(ctx) -> dict with "rows" and maybe
# "fidelity"/"note". The child times fn's "timed" section itself.

CANDIDATES: dict[str, dict] = {}


def candidate(name: str, db: str, kind: str, label: str, requires: str | None = None):
    def deco(fn):
        CANDIDATES[name] = {"fn": fn, "db": db, "kind": kind, "label": label, "requires": requires}
        return fn

    return deco


class Timer:
    def __init__(self):
        self.start = self.end = None
        self.base_kb = 0

    def __enter__(self):
        self.base_kb = vm_hwm_kb()
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.end = time.perf_counter()

    @property
    def seconds(self) -> float:
        return self.end - self.start


# ---------------------------------------------------------------- PostgreSQL read


def _pg_adbc_read(ctx: dict, cast: bool, timer: Timer) -> dict:
    import adbc_driver_postgresql.dbapi as adbc

    conn = adbc.connect(ctx["pg_url"])
    cur = conn.cursor()
    first = None
    rows = 0
    with timer:
        cur.execute(SELECT.format(u=", u"))
        reader = cur.fetch_record_batch()
        for batch in reader:
            if cast:
                batch = adbc_numeric_to_decimal(batch)
            rows += batch.num_rows
            if first is None:
                first = batch
    cur.close()
    conn.close()
    return {"rows": rows, "first": first, "with_uuid": True}


def adbc_numeric_to_decimal(batch: pa.RecordBatch) -> pa.RecordBatch:
    """ADBC hands numeric over as opaque text; cast it using the column's typmod."""
    arrays, fields = [], []
    for f, col in zip(batch.schema, batch.columns, strict=True):
        md = f.metadata or {}
        if isinstance(f.type, pa.OpaqueType) and md.get(b"POSTGRESQL:type") == b"numeric":
            typmod = int(md.get(b"POSTGRESQL:typmod", b"-1"))
            if typmod >= 4:
                p, s = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
                col = pc.cast(col.storage, pa.decimal128(p, s) if p <= 38 else pa.decimal256(p, s))
                f = pa.field(f.name, col.type, f.nullable, md)
        arrays.append(col)
        fields.append(f)
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


@candidate("pg_read_adbc", "PostgreSQL", "read", "ADBC fetch_record_batch (numeric as text)")
def pg_read_adbc(ctx, timer):
    return _pg_adbc_read(ctx, cast=False, timer=timer)


@candidate("pg_read_adbc_cast", "PostgreSQL", "read", "ADBC + cast numeric→decimal128 (typmod)")
def pg_read_adbc_cast(ctx, timer):
    return _pg_adbc_read(ctx, cast=True, timer=timer)


def _pg_psycopg_named(ctx, timer, binary: bool):
    conn = pg_connect_psycopg(ctx)
    conn.execute("SET TIME ZONE 'UTC'")
    schema = arrow_schema(True)
    rows = 0
    first = None
    with timer, conn.cursor(name="bench", binary=binary) as cur:
        cur.itersize = READ_BATCH
        cur.execute(SELECT.format(u=", u"))
        while chunk := cur.fetchmany(READ_BATCH):
            batch = pylist_columns_to_arrow(chunk, schema)
            rows += batch.num_rows
            if first is None:
                first = batch
    conn.close()
    return {"rows": rows, "first": first, "with_uuid": True}


@candidate("pg_read_psycopg_named", "PostgreSQL", "read", "psycopg named cursor → pa.array")
def pg_read_psycopg_named(ctx, timer):
    return _pg_psycopg_named(ctx, timer, binary=False)


@candidate(
    "pg_read_psycopg_named_bin",
    "PostgreSQL",
    "read",
    "psycopg named cursor binary → pa.array",
)
def pg_read_psycopg_named_bin(ctx, timer):
    return _pg_psycopg_named(ctx, timer, binary=True)


@candidate(
    "pg_read_psycopg_copy", "PostgreSQL", "read", "psycopg COPY TO STDOUT binary, rows() → pa.array"
)
def pg_read_psycopg_copy(ctx, timer):
    conn = pg_connect_psycopg(ctx)
    conn.execute("SET TIME ZONE 'UTC'")
    schema = arrow_schema(True)
    types = [
        "int8",
        "int4",
        "numeric",
        "numeric",
        "float8",
        "text",
        "bool",
        "date",
        "timestamp",
        "timestamptz",
        "uuid",
    ]
    rows = 0
    first = None
    with timer, conn.cursor() as cur:
        sql = f"COPY ({SELECT.format(u=', u')}) TO STDOUT (FORMAT binary)"
        with cur.copy(sql) as copy:
            copy.set_types(types)
            buf = []
            for row in copy.rows():
                buf.append(row)
                if len(buf) == READ_BATCH:
                    batch = pylist_columns_to_arrow(buf, schema)
                    rows += batch.num_rows
                    first = first or batch
                    buf = []
            if buf:
                batch = pylist_columns_to_arrow(buf, schema)
                rows += batch.num_rows
                first = first or batch
    conn.close()
    return {"rows": rows, "first": first, "with_uuid": True}


@candidate(
    "pg_read_connectorx",
    "PostgreSQL",
    "read",
    "connectorx read_sql(return_type='arrow')",
    requires="connectorx",
)
def pg_read_connectorx(ctx, timer):
    import connectorx as cx

    with timer:
        table = cx.read_sql(ctx["pg_url"], SELECT.format(u=", u"), return_type="arrow")
        rows = table.num_rows
    return {"rows": rows, "first": table.slice(0, 2000), "with_uuid": True}


@candidate(
    "pg_read_connectorx_stream",
    "PostgreSQL",
    "read",
    "connectorx read_sql(return_type='arrow_stream')",
    requires="connectorx",
)
def pg_read_connectorx_stream(ctx, timer):
    import connectorx as cx

    rows = 0
    first = None
    with timer:
        reader = cx.read_sql(
            ctx["pg_url"], SELECT.format(u=", u"), return_type="arrow_stream", batch_size=READ_BATCH
        )
        for batch in reader:
            rows += batch.num_rows
            first = first or batch
    return {"rows": rows, "first": first, "with_uuid": True}


@candidate(
    "pg_read_connectorx_bigtext",
    "PostgreSQL",
    "read",
    "connectorx 'arrow', big::text in the query",
    requires="connectorx",
)
def pg_read_connectorx_bigtext(ctx, timer):
    """Same as pg_read_connectorx but with numeric(38,10) sent as text, which it can read."""
    import connectorx as cx

    sql = SELECT.format(u=", u").replace(", big,", ", big::text AS big,")
    with timer:
        table = cx.read_sql(ctx["pg_url"], sql, return_type="arrow")
        rows = table.num_rows
    return {"rows": rows, "first": table.slice(0, 2000), "with_uuid": True}


# ---------------------------------------------------------------- PostgreSQL load


def _pg_prepare_target(ctx):
    import psycopg

    with psycopg.connect(ctx["pg_url"], autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS dst")
        c.execute(PG_DDL.format(t="dst"))


def _pg_verify(ctx) -> dict:
    import psycopg

    with psycopg.connect(ctx["pg_url"]) as c:
        n = c.execute("SELECT count(*) FROM dst").fetchone()[0]
        diff = c.execute(
            "SELECT count(*) FROM src s FULL JOIN dst d USING (id) "
            "WHERE (s.*) IS DISTINCT FROM (d.*)"
        ).fetchone()[0]
    return {"stored_rows": n, "rows_differing": diff}


@candidate("pg_load_adbc", "PostgreSQL", "load", "ADBC adbc_ingest(mode='append')")
def pg_load_adbc(ctx, timer):
    import adbc_driver_postgresql.dbapi as adbc

    _pg_prepare_target(ctx)
    conn = adbc.connect(ctx["pg_url"])
    cur = conn.cursor()
    with timer:
        rows = cur.adbc_ingest("dst", ipc_reader(ctx["ipc_pg"]), mode="append")
        conn.commit()
    conn.close()
    return {"rows": rows, "verify": _pg_verify(ctx)}


@candidate(
    "pg_load_psycopg_copy",
    "PostgreSQL",
    "load",
    "psycopg COPY FROM binary, write_row/row",
)
def pg_load_psycopg_copy(ctx, timer):
    _pg_prepare_target(ctx)
    conn = pg_connect_psycopg(ctx)
    types = [
        "int8",
        "int4",
        "numeric",
        "numeric",
        "float8",
        "text",
        "bool",
        "date",
        "timestamp",
        "timestamptz",
        "uuid",
    ]
    rows = 0
    with timer:
        with conn.cursor() as cur, cur.copy("COPY dst FROM STDIN (FORMAT binary)") as copy:
            copy.set_types(types)
            for batch in ipc_batches(ctx["ipc_pg"]):
                cols = [c.to_pylist() for c in batch.columns]
                for row in zip(*cols, strict=True):
                    copy.write_row(row)
                rows += batch.num_rows
        conn.commit()
    conn.close()
    return {"rows": rows, "verify": _pg_verify(ctx)}


@candidate(
    "pg_load_psql_pipe", "PostgreSQL", "load", "anchor: psql COPY TO binary piped to psql COPY FROM"
)
def pg_load_psql_pipe(ctx, timer):
    _pg_prepare_target(ctx)
    url = ctx["pg_url"]
    with timer:
        out = subprocess.Popen(
            ["psql", url, "-Xqc", "COPY src TO STDOUT (FORMAT binary)"], stdout=subprocess.PIPE
        )
        inp = subprocess.run(
            ["psql", url, "-Xqc", "COPY dst FROM STDIN (FORMAT binary)"],
            stdin=out.stdout,
            check=True,
            capture_output=True,
        )
        out.stdout.close()
        if out.wait() != 0:
            raise RuntimeError("psql COPY TO failed")
    del inp
    v = _pg_verify(ctx)
    return {
        "rows": v["stored_rows"],
        "verify": v,
        "child_rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }


# ------------------------------------------------------------------- MariaDB read


@candidate("my_read_pymysql", "MariaDB", "read", "PyMySQL SSCursor fetchmany → pa.array")
def my_read_pymysql(ctx, timer):
    import pymysql.cursors

    conn = my_connect(ctx)
    schema = arrow_schema(False)
    rows, first = 0, None
    with timer, conn.cursor(pymysql.cursors.SSCursor) as cur:
        cur.execute(SELECT.format(u=""))
        while chunk := cur.fetchmany(READ_BATCH):
            batch = pylist_columns_to_arrow(chunk, schema)
            rows += batch.num_rows
            first = first or batch
    conn.close()
    return {"rows": rows, "first": first, "with_uuid": False}


@candidate(
    "my_read_pymysql_raw", "MariaDB", "read", "PyMySQL SSCursor, no decoders (str) → pc.cast"
)
def my_read_pymysql_raw(ctx, timer):
    import pymysql.converters
    import pymysql.cursors

    # Keep the encoders (parameter escaping), drop every decoder: values stay text.
    encoders = {k: v for k, v in pymysql.converters.conversions.items() if not isinstance(k, int)}
    conn = my_connect(ctx, conv=encoders)
    schema = arrow_schema(False)
    rows, first = 0, None
    with timer, conn.cursor(pymysql.cursors.SSCursor) as cur:
        cur.execute(SELECT.format(u=""))
        while chunk := cur.fetchmany(READ_BATCH):
            batch = strings_to_arrow(chunk, schema)
            rows += batch.num_rows
            first = first or batch
    conn.close()
    return {"rows": rows, "first": first, "with_uuid": False}


@candidate(
    "my_read_mysqlconnector",
    "MariaDB",
    "read",
    "mysql-connector-python (pure), unbuffered fetchmany → pa.array",
    requires="mysql.connector",
)
def my_read_mysqlconnector(ctx, timer):
    import mysql.connector

    conn = mysql.connector.connect(
        host=MY_HOST,
        port=MY_PORT,
        user="root",
        password="",
        database=ctx["my_db"],
        use_pure=True,
        charset="utf8mb4",
        collation="utf8mb4_general_ci",
    )
    cur0 = conn.cursor()
    cur0.execute("SET time_zone = '+00:00'")
    cur0.close()
    schema = arrow_schema(False)
    rows, first = 0, None
    with timer:
        cur = conn.cursor(buffered=False)
        cur.execute(SELECT.format(u=""))
        while chunk := cur.fetchmany(READ_BATCH):
            batch = pylist_columns_to_arrow(chunk, schema)
            rows += batch.num_rows
            first = first or batch
        cur.close()
    conn.close()
    return {"rows": rows, "first": first, "with_uuid": False}


# ------------------------------------------------------------------- MariaDB load


def _my_prepare_target(ctx):
    conn = my_connect(ctx, autocommit=True)
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS dst")
        cur.execute(MY_DDL.format(t="dst"))
    conn.close()


def _my_verify(ctx) -> dict:
    conn = my_connect(ctx)
    cond = " OR ".join(f"NOT (s.{c} <=> d.{c})" for c in COLS if c != "u")
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM dst")
        n = cur.fetchone()[0]
        cur.execute(f"SELECT count(*) FROM src s LEFT JOIN dst d ON d.id = s.id WHERE {cond}")
        diff = cur.fetchone()[0]
    conn.close()
    return {"stored_rows": n, "rows_differing": diff}


def _naive_utc(batch: pa.RecordBatch) -> pa.RecordBatch:
    """MariaDB TIMESTAMP takes wall time in the session zone (UTC here)."""
    i = batch.schema.get_field_index("tstz")
    col = batch.column(i).cast(pa.timestamp("us"))
    return batch.set_column(i, pa.field("tstz", col.type), col)


@candidate("my_load_executemany", "MariaDB", "load", "PyMySQL executemany multi-row INSERT (10k)")
def my_load_executemany(ctx, timer):
    _my_prepare_target(ctx)
    conn = my_connect(ctx)
    sql = f"INSERT INTO dst ({', '.join(COLS[:-1])}) VALUES ({', '.join(['%s'] * 10)})"
    rows = 0
    with timer:
        with conn.cursor() as cur:
            for batch in ipc_batches(ctx["ipc_my"]):
                batch = _naive_utc(batch)
                for off in range(0, batch.num_rows, 10_000):
                    part = batch.slice(off, 10_000)
                    cols = [c.to_pylist() for c in part.columns]
                    cur.executemany(sql, list(zip(*cols, strict=True)))
                rows += batch.num_rows
        conn.commit()
    conn.close()
    return {"rows": rows, "verify": _my_verify(ctx)}


def tsv_bytes(batch: pa.RecordBatch) -> bytes:
    """A batch as MariaDB's default LOAD DATA text format, built with pyarrow.compute."""
    cols = []
    for col in batch.columns:
        t = col.type
        if pa.types.is_boolean(t):
            s = col.cast(pa.int8()).cast(pa.string())
        elif pa.types.is_timestamp(t):
            s = col.cast(pa.timestamp(t.unit)).cast(pa.string())  # naive UTC wall time
        elif pa.types.is_string(t) or pa.types.is_large_string(t):
            s = col
            for a, b in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\x00", "\\0")):
                s = pc.replace_substring(s, a, b)
        else:
            s = col.cast(pa.string())
        cols.append(pc.fill_null(s, "\\N"))
    lines = pc.binary_join_element_wise(*cols, "\t")
    lines = pc.binary_join_element_wise(lines, "", "\n")
    width = 8 if pa.types.is_large_string(lines.type) else 4
    offsets = lines.buffers()[1]

    def at(k: int) -> int:
        pos = (lines.offset + k) * width
        return int.from_bytes(offsets[pos : pos + width].to_pybytes(), "little")

    return lines.buffers()[2][at(0) : at(len(lines))].to_pybytes()


@candidate(
    "my_load_load_data", "MariaDB", "load", "LOAD DATA LOCAL INFILE, TSV per batch via pyarrow"
)
def my_load_load_data(ctx, timer):
    _my_prepare_target(ctx)
    conn = my_connect(ctx, local_infile=True)
    path = os.path.join(ctx["tmp"], f"load_{os.getpid()}.tsv")
    sql = (
        f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE dst CHARACTER SET utf8mb4 "
        "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
        f"({', '.join(COLS[:-1])})"
    )
    rows = 0
    with timer:
        with conn.cursor() as cur:
            for batch in ipc_batches(ctx["ipc_my"]):
                with open(path, "wb") as f:
                    f.write(tsv_bytes(batch))
                cur.execute(sql)
                rows += batch.num_rows
            cur.execute("SHOW WARNINGS")
            warnings = cur.fetchall()
        conn.commit()
    conn.close()
    os.unlink(path)
    return {"rows": rows, "verify": _my_verify(ctx), "note": f"warnings: {len(warnings)}"}


# -------------------------------------------------------------------- DuckDB


@candidate("duck_read", "DuckDB", "read", "execute().fetch_record_batch(65536)")
def duck_read(ctx, timer):
    import duckdb

    con = duckdb.connect(ctx["duck_path"], read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    rows, first = 0, None
    with timer:
        reader = con.execute(SELECT.format(u="")).fetch_record_batch(READ_BATCH)
        for batch in reader:
            rows += batch.num_rows
            first = first or batch
    con.close()
    return {"rows": rows, "first": first, "with_uuid": False}


def _duck_prepare(ctx):
    import duckdb

    con = duckdb.connect(ctx["duck_path"])
    con.execute("DROP TABLE IF EXISTS dst")
    con.execute(DUCK_DDL.format(t="dst"))
    con.execute("SET TimeZone = 'UTC'")
    return con


def _duck_verify(con) -> dict:
    n = con.execute("SELECT count(*) FROM dst").fetchone()[0]
    diff = con.execute(
        "SELECT count(*) FROM ((SELECT * FROM src EXCEPT SELECT * FROM dst) "
        "UNION ALL (SELECT * FROM dst EXCEPT SELECT * FROM src))"
    ).fetchone()[0]
    return {"stored_rows": n, "rows_differing": diff}


@candidate("duck_load_register", "DuckDB", "load", "register(batch) + INSERT … SELECT per batch")
def duck_load_register(ctx, timer):
    con = _duck_prepare(ctx)
    rows = 0
    with timer:
        con.execute("BEGIN")
        for batch in ipc_batches(ctx["ipc_my"]):
            con.register("b", pa.Table.from_batches([batch]))
            con.execute("INSERT INTO dst SELECT * FROM b")
            con.unregister("b")
            rows += batch.num_rows
        con.execute("COMMIT")
    v = _duck_verify(con)
    con.close()
    return {"rows": rows, "verify": v}


@candidate("duck_load_reader", "DuckDB", "load", "INSERT … SELECT FROM RecordBatchReader")
def duck_load_reader(ctx, timer):
    con = _duck_prepare(ctx)
    with timer:
        reader = ipc_reader(ctx["ipc_my"])  # noqa: F841  (found by DuckDB's replacement scan)
        con.execute("INSERT INTO dst SELECT * FROM reader")
    v = _duck_verify(con)
    con.close()
    return {"rows": v["stored_rows"], "verify": v}


# -------------------------------------------------------------------- SQLite


def sqlite_to_arrow(rows: list[tuple], schema: pa.Schema) -> pa.RecordBatch:
    """sqlite3 rows (int/float/str) -> Arrow with the declared types (pyarrow casts)."""
    cols = list(zip(*rows, strict=True))
    arrays = []
    for f, vals in zip(schema, cols, strict=True):
        t = f.type
        if pa.types.is_decimal(t) or pa.types.is_date(t):
            arrays.append(pa.array(vals, pa.string()).cast(t))
        elif pa.types.is_timestamp(t):
            a = pa.array(vals, pa.string())
            if t.tz is not None:  # stored as ISO text with +00:00
                a = pc.replace_substring_regex(a, r"\+00:00$", "")
                arrays.append(pc.assume_timezone(a.cast(pa.timestamp(t.unit)), t.tz))
            else:
                arrays.append(a.cast(t))
        elif t == pa.bool_():
            arrays.append(pa.array(vals, pa.int8()).cast(t))
        else:
            arrays.append(pa.array(vals, t))
    return pa.record_batch(arrays, schema=schema)


@candidate("sqlite_read_stdlib", "SQLite", "read", "sqlite3 fetchmany → pa.array + pc.cast")
def sqlite_read_stdlib(ctx, timer):
    import sqlite3

    con = sqlite3.connect(ctx["sqlite_path"])
    schema = arrow_schema(False)
    rows, first = 0, None
    with timer:
        cur = con.execute(SELECT.format(u=""))
        while chunk := cur.fetchmany(READ_BATCH):
            batch = sqlite_to_arrow(chunk, schema)
            rows += batch.num_rows
            first = first or batch
    con.close()
    return {"rows": rows, "first": first, "with_uuid": False}


@candidate(
    "sqlite_read_adbc",
    "SQLite",
    "read",
    "ADBC sqlite fetch_record_batch (no casts)",
    requires="adbc_driver_sqlite",
)
def sqlite_read_adbc(ctx, timer):
    import adbc_driver_sqlite.dbapi as adbc

    conn = adbc.connect(ctx["sqlite_path"])
    cur = conn.cursor()
    rows, first = 0, None
    with timer:
        cur.execute(SELECT.format(u=""))
        for batch in cur.fetch_record_batch():
            rows += batch.num_rows
            first = first or batch
    cur.close()
    conn.close()
    return {"rows": rows, "first": first, "with_uuid": False}


def sqlite_rows(batch: pa.RecordBatch) -> Iterator[tuple]:
    """Arrow -> sqlite3 parameters: decimals and times as ISO text, bool as 0/1."""
    cols = []
    for col in batch.columns:
        t = col.type
        if pa.types.is_decimal(t) or pa.types.is_date(t):
            col = col.cast(pa.string())
        elif pa.types.is_timestamp(t):
            s = col.cast(pa.timestamp(t.unit)).cast(pa.string())
            col = pc.binary_join_element_wise(s, "+00:00", "") if t.tz else s
        elif t == pa.bool_():
            col = col.cast(pa.int8())
        cols.append(col.to_pylist())
    return zip(*cols, strict=True)


@candidate("sqlite_load_executemany", "SQLite", "load", "sqlite3 executemany, one transaction")
def sqlite_load_executemany(ctx, timer):
    import sqlite3

    con = sqlite3.connect(ctx["sqlite_path"])
    con.execute("DROP TABLE IF EXISTS dst")
    con.execute(SQLITE_DDL.format(t="dst"))
    con.commit()
    rows = 0
    with timer, con:
        for batch in ipc_batches(ctx["ipc_my"]):
            con.executemany("INSERT INTO dst VALUES (?,?,?,?,?,?,?,?,?,?)", sqlite_rows(batch))
            rows += batch.num_rows
    n = con.execute("SELECT count(*) FROM dst").fetchone()[0]
    diff = con.execute(
        "SELECT count(*) FROM (SELECT * FROM src EXCEPT SELECT * FROM dst "
        "UNION ALL SELECT * FROM dst EXCEPT SELECT * FROM src)"
    ).fetchone()[0]
    con.close()
    return {"rows": rows, "verify": {"stored_rows": n, "rows_differing": diff}}


# ===================================================================== child side


def run_child(name: str, ctx_path: str) -> None:
    ctx = json.loads(Path(ctx_path).read_text())
    timer = Timer()
    out: dict = {"name": name}
    try:
        res = CANDIDATES[name]["fn"](ctx, timer)
        out["seconds"] = timer.seconds
        out["rows"] = res["rows"]
        out["peak_kb"] = vm_hwm_kb()
        out["base_kb"] = timer.base_kb
        if "child_rss_kb" in res:
            out["child_rss_kb"] = res["child_rss_kb"]
        if res.get("first") is not None:
            first = res["first"]
            table = pa.Table.from_batches([first]) if isinstance(first, pa.RecordBatch) else first
            out["fidelity"] = fidelity(
                table, res["with_uuid"], naive_tstz_ok=CANDIDATES[name]["db"] == "MariaDB"
            )
        if "verify" in res:
            out["verify"] = res["verify"]
        if "note" in res:
            out["note"] = res["note"]
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        traceback.print_exc(file=sys.stderr)
    print("RESULT " + json.dumps(out, default=str))


# ==================================================================== parent side


class Scratch:
    """Scratch databases and files, removed on exit whatever happens."""

    def __init__(self, rows: int):
        self.rows = rows
        tag = secrets.token_hex(4)
        self.pg_db = f"pk_bench_{tag}"
        self.my_db = f"pk_bench_{tag}"
        self.tmp = tempfile.mkdtemp(prefix="pk_bench_")
        self.pg_made = self.my_made = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    def cleanup(self):
        import psycopg
        import pymysql

        if self.pg_made:
            try:
                with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as c:
                    c.execute(f'DROP DATABASE IF EXISTS "{self.pg_db}" WITH (FORCE)')
            except Exception as exc:  # report, do not mask the benchmark's own error
                log(f"cleanup: could not drop PostgreSQL database {self.pg_db}: {exc}")
        if self.my_made:
            try:
                c = pymysql.connect(host=MY_HOST, port=MY_PORT, user="root", password="")
                with c.cursor() as cur:
                    cur.execute(f"DROP DATABASE IF EXISTS `{self.my_db}`")
                c.close()
            except Exception as exc:
                log(f"cleanup: could not drop MariaDB database {self.my_db}: {exc}")
        shutil.rmtree(self.tmp, ignore_errors=True)

    def build(self) -> dict:
        import duckdb
        import psycopg
        import pymysql

        n = self.rows
        t0 = time.perf_counter()
        # Arrow files that the loaders read (mmap), exact by construction.
        ipc_pg = os.path.join(self.tmp, "pg.arrow")
        ipc_my = os.path.join(self.tmp, "nouuid.arrow")
        with pa.OSFile(ipc_pg, "wb") as f1, pa.OSFile(ipc_my, "wb") as f2:
            w1 = pa.ipc.new_file(f1, arrow_schema(True))
            w2 = pa.ipc.new_file(f2, arrow_schema(False))
            for b in canonical_batches(n, True):
                w1.write_batch(b)
                w2.write_batch(b.drop_columns(["u"]))
            w1.close()
            w2.close()
        log(f"  arrow files: {time.perf_counter() - t0:.1f}s")

        t0 = time.perf_counter()
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{self.pg_db}"')
        self.pg_made = True
        pg_url = f"{PG_SERVER}/{self.pg_db}"
        with psycopg.connect(pg_url, autocommit=True) as c:
            c.execute("SET TIME ZONE 'UTC'")
            c.execute(PG_DDL.format(t="src"))
            c.execute(PG_FILL.format(n=n))
            c.execute("VACUUM ANALYZE src")
        log(f"  postgresql: {time.perf_counter() - t0:.1f}s")

        t0 = time.perf_counter()
        c = pymysql.connect(host=MY_HOST, port=MY_PORT, user="root", password="", autocommit=True)
        with c.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{self.my_db}` CHARACTER SET utf8mb4")
            self.my_made = True
            cur.execute(f"USE `{self.my_db}`")
            cur.execute("SET time_zone = '+00:00'")
            cur.execute(MY_DDL.format(t="src"))
            cur.execute(MY_FILL.format(n=n))
            cur.execute("ANALYZE TABLE src")
        c.close()
        log(f"  mariadb: {time.perf_counter() - t0:.1f}s")

        t0 = time.perf_counter()
        duck_path = os.path.join(self.tmp, "bench.duckdb")
        con = duckdb.connect(duck_path)
        con.execute("SET TimeZone = 'UTC'")
        con.execute(DUCK_DDL.format(t="src"))
        reader = ipc_reader(ipc_my)  # noqa: F841
        con.execute("INSERT INTO src SELECT * FROM reader")
        con.close()
        log(f"  duckdb: {time.perf_counter() - t0:.1f}s")

        t0 = time.perf_counter()
        import sqlite3

        sqlite_path = os.path.join(self.tmp, "bench.sqlite")
        sc = sqlite3.connect(sqlite_path)
        sc.execute(SQLITE_DDL.format(t="src"))
        with sc:
            for b in ipc_batches(ipc_my):
                sc.executemany("INSERT INTO src VALUES (?,?,?,?,?,?,?,?,?,?)", sqlite_rows(b))
        sc.close()
        log(f"  sqlite: {time.perf_counter() - t0:.1f}s")
        ctx = {
            "rows": n,
            "tmp": self.tmp,
            "pg_url": pg_url,
            "my_db": self.my_db,
            "duck_path": duck_path,
            "sqlite_path": sqlite_path,
            "ipc_pg": ipc_pg,
            "ipc_my": ipc_my,
        }
        path = os.path.join(self.tmp, "ctx.json")
        Path(path).write_text(json.dumps(ctx))
        return {"ctx_path": path, **ctx}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def available(module: str | None) -> bool:
    if module is None:
        return True
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def run_candidate(name: str, ctx_path: str, repeats: int) -> dict:
    runs = []
    for _ in range(repeats):
        p = subprocess.run(
            [sys.executable, __file__, "--child", name, "--ctx", ctx_path],
            capture_output=True,
            text=True,
        )
        line = next((ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            err = next(
                (ln for ln in p.stderr.splitlines() if "panicked" in ln or "Error" in ln),
                p.stderr[-300:],
            )
            return {"name": name, "error": f"child exited {p.returncode}: {err.strip()[:300]}"}
        r = json.loads(line[7:])
        if "error" in r:
            return r
        runs.append(r)
    best = dict(runs[0])
    best["seconds"] = statistics.median(r["seconds"] for r in runs)
    best["all_seconds"] = [round(r["seconds"], 2) for r in runs]
    best["peak_kb"] = max(r["peak_kb"] for r in runs)
    best["base_kb"] = min(r["base_kb"] for r in runs)
    if any("child_rss_kb" in r for r in runs):
        best["child_rss_kb"] = max(r.get("child_rss_kb", 0) for r in runs)
    return best


def fidelity_note(r: dict) -> str:
    if "error" in r:
        return f"**failed**: {r['error']}"
    notes = []
    fid = r.get("fidelity")
    if fid:
        if not fid["wrong_type"] and not fid["wrong_value"]:
            notes.append("faithful: all types and values exact")
        else:
            if fid["wrong_type"]:
                notes.append("types: " + "; ".join(fid["wrong_type"]))
            if fid["wrong_value"]:
                notes.append("values differ: " + "; ".join(fid["wrong_value"]))
            elif fid["wrong_type"]:
                notes.append("values exact after parsing")
    v = r.get("verify")
    if v:
        if v["rows_differing"] == 0 and v["stored_rows"] == r.get("rows"):
            notes.append("stored rows identical to source")
        else:
            notes.append(
                f"stored {v['stored_rows']} rows, {v['rows_differing']} differ from source"
            )
    if r.get("note"):
        notes.append(r["note"])
    if r.get("child_rss_kb"):
        notes.append(f"psql processes peak {r['child_rss_kb'] / 1024:.0f} MB")
    return "; ".join(notes)


def markdown_table(results: list[dict], rows: int) -> str:
    out = [
        "| database | op | candidate | wall s (median of 3) | rows/s | peak RSS MB (Δ) "
        "| fidelity |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for r in results:
        meta = CANDIDATES[r["name"]]
        if "error" in r:
            out.append(
                f"| {meta['db']} | {meta['kind']} | {meta['label']} | - | - | - "
                f"| {fidelity_note(r)} |"
            )
            continue
        secs = r["seconds"]
        peak = r["peak_kb"] / 1024
        delta = (r["peak_kb"] - r["base_kb"]) / 1024
        out.append(
            f"| {meta['db']} | {meta['kind']} | {meta['label']} | {secs:.2f} "
            f"| {rows / secs:,.0f} | {peak:.0f} ({delta:+.0f}) | {fidelity_note(r)} |"
        )
    return "\n".join(out)


def machine_info() -> str:
    mem = "?"
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        kb = int(f.readline().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    cpu = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    libs = []
    for dist in (
        "pyarrow",
        "adbc-driver-postgresql",
        "adbc-driver-sqlite",
        "psycopg",
        "psycopg-binary",
        "connectorx",
        "PyMySQL",
        "mysql-connector-python",
        "duckdb",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            libs.append(f"{dist} {metadata.version(dist)}")
    servers = []
    with contextlib.suppress(Exception):
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres") as c:
            servers.append("PostgreSQL " + c.execute("SHOW server_version").fetchone()[0])
    with contextlib.suppress(Exception):
        import pymysql

        c = pymysql.connect(host=MY_HOST, port=MY_PORT, user="root", password="")
        with c.cursor() as cur:
            cur.execute("SELECT version()")
            servers.append("MariaDB " + cur.fetchone()[0])
        c.close()
    import sqlite3

    servers.append(f"SQLite {sqlite3.sqlite_version}")
    return (
        f"- machine: {os.cpu_count()} cores (`nproc`), {mem} memory, {cpu}; "
        f"{platform.system()} {platform.release()}\n"
        f"- Python {platform.python_version()}; {', '.join(libs)}\n"
        f"- servers (local, loopback): {', '.join(servers)}"
    )


RECOMMENDATION_PLACEHOLDER = "<!-- recommendation -->"


def write_docs(section: str) -> None:
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOCS.write_text(text.rstrip("\n") + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--only", help="regex on candidate names")
    ap.add_argument("--repeats", type=int, default=REPEATS)
    ap.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--ctx", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        run_child(args.child, args.ctx)
        return 0

    names = [n for n in CANDIDATES if not args.only or re.search(args.only, n)]
    skipped = [n for n in names if not available(CANDIDATES[n]["requires"])]
    names = [n for n in names if n not in skipped]
    results = []
    with Scratch(args.rows) as scratch:
        log(f"building {args.rows:,} rows in {scratch.pg_db} / {scratch.tmp}")
        ctx = scratch.build()
        for name in names:
            log(f"{name} ...")
            r = run_candidate(name, ctx["ctx_path"], args.repeats)
            results.append(r)
            log(f"  {r.get('all_seconds', r.get('error'))}")
    table = markdown_table(results, args.rows)
    print(table)
    for n in skipped:
        print(f"skipped {n}: module {CANDIDATES[n]['requires']} not installed")
    raw = json.dumps(results, default=str, indent=1)
    (Path(tempfile.gettempdir()) / "drivers_candidates_results.json").write_text(raw)
    if not args.no_docs:
        cmd = "python bench/drivers_candidates.py" + (
            f" --rows {args.rows}" if args.rows != 1_000_000 else ""
        )
        section = (
            f"{HEADING}\n\n"
            "Library-level measurement of the ways to read a query into Arrow record batches "
            "and to bulk-load Arrow batches, per database (no Pipekit code). "
            "Each candidate ran three times, each in its own child process; wall time is "
            "the median, peak RSS is the child's VmHWM (Δ: growth over the process after "
            "imports and connecting). Readers' fidelity compares the Arrow types and the "
            "first 2,000 rows with the expected values (numeric as decimal128 with the "
            "declared precision/scale, `big` exact beyond float precision, microseconds, "
            "UTC zone, uuid); loaders' fidelity compares the stored table with the source "
            "table row by row.\n\n"
            f"{machine_info()}\n"
            f"- command: `{cmd}` ({args.rows:,} rows)\n\n"
            f"{table}\n\n"
            f"{RECOMMENDATION_PLACEHOLDER}\n"
        )
        old = DOCS.read_text() if DOCS.exists() else ""
        m = re.search(r"<!-- recommendation -->\n(.*?)(?=^## |\Z)", old, re.S | re.M)
        if m and m.group(1).strip():
            section = section.replace(
                RECOMMENDATION_PLACEHOLDER, RECOMMENDATION_PLACEHOLDER + "\n" + m.group(1).strip()
            )
        write_docs(section)
        log(f"wrote {DOCS}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
