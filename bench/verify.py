"""Check that a destination table holds exactly the source's rows.

PostgreSQL: the row count and, per source column, ``sum(hashtext(text))`` of the
destination value cast to the source column's type (so a value that arrived equal in
another type still matches, and any changed value does not); the destination's types
are compared with the source's separately and any change is reported. MariaDB →
PostgreSQL compares with the PostgreSQL copy of the same generated data (the
reference load); SQLite → DuckDB compares, in DuckDB, with the generated Parquet file.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench import common as C
from bench.data import TABLES


@dataclass
class Checksum:
    rows: int
    sums: dict[str, int]


@dataclass
class Verdict:
    ok: bool
    reason: str = ""
    #: type changes (source type -> destination type); strings of any length count as one
    type_changes: str = ""


def _norm_type(t: str) -> str:
    t = t.lower()
    if t.startswith(("character varying", "varchar", "text", "character(", "string")):
        return "text"
    if t == "timestamp with time zone":
        return "timestamptz"
    if t.startswith("timestamp(6) with time zone"):
        return "timestamptz"
    if t in ("timestamp without time zone", "timestamp(6) without time zone", "timestamp(6)"):
        return "timestamp"
    return t


def pg_columns(db: str, table: str) -> dict[str, str]:
    schema, name = table.split(".")
    with C.pg_connect(db) as conn:
        rows = conn.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum",
            (schema, name),
        ).fetchall()
    return dict(rows)


def pg_checksum(db: str, table: str, types: dict[str, str]) -> Checksum:
    """Checksum of `table` with every column of `types` cast to that type first."""
    parts = [
        f"coalesce(sum(hashtext(coalesce(({C.qi(c)})::{t}::text, '<null>'))), 0)"
        for c, t in types.items()
    ]
    with C.pg_connect(db) as conn:
        row = conn.execute(f"SELECT count(*), {', '.join(parts)} FROM {table}").fetchone()
    return Checksum(int(row[0]), {c: int(v) for c, v in zip(types, row[1:], strict=True)})


def compare(
    ref: Checksum,
    ref_types: dict[str, str],
    dest: Checksum | None,
    dest_types: dict[str, str],
    expect: dict[str, str] | None = None,
) -> Verdict:
    """`expect`: the faithful destination types where they differ from the reference's."""
    if dest is None:
        return Verdict(False, "destination table missing")
    if dest.rows != ref.rows:
        return Verdict(False, f"{dest.rows:,} rows in the destination, source has {ref.rows:,}")
    bad = [c for c in ref.sums if ref.sums[c] != dest.sums.get(c)]
    changes = []
    for c, t in {**ref_types, **(expect or {})}.items():
        d = dest_types.get(c)
        if d is not None and _norm_type(d) != _norm_type(t):
            changes.append(f"{c} {t}→{d}")
    if bad:
        return Verdict(False, f"checksum differs in {', '.join(bad)}", "; ".join(changes))
    return Verdict(True, "", "; ".join(changes))


def verify_pg(
    ref: Checksum,
    ref_types: dict[str, str],
    db: str,
    table: str,
    expect: dict[str, str] | None = None,
) -> Verdict:
    dest_types = pg_columns(db, table)
    if not dest_types:
        return Verdict(False, f"{table} not found in {db}")
    missing = [c for c in ref_types if c not in dest_types]
    if missing:
        return Verdict(False, f"columns missing in the destination: {', '.join(missing)}")
    try:
        dest = pg_checksum(db, table, ref_types)
    except Exception as exc:  # a value that does not cast back is a failure too
        return Verdict(False, f"checksum query failed: {str(exc).splitlines()[0]}")
    return compare(ref, ref_types, dest, dest_types, expect)


# -- DuckDB -------------------------------------------------------------------------


def _duck_sum_sql(types: dict[str, str], source: str) -> str:
    parts = [
        f"coalesce(sum(hash(coalesce(CAST(CAST({C.qi(c)} AS {t}) AS VARCHAR), '<null>'))), 0)"
        for c, t in types.items()
    ]
    return f"SELECT count(*), {', '.join(parts)} FROM {source}"


def duck_reference(parquet: str) -> tuple[Checksum, dict[str, str]]:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM '{parquet}'").fetchall()}
    row = con.execute(_duck_sum_sql(types, f"'{parquet}'")).fetchone()
    con.close()
    return Checksum(int(row[0]), {c: int(v) for c, v in zip(types, row[1:], strict=True)}), types


def verify_duckdb(ref: Checksum, ref_types: dict[str, str], path: str, table: str) -> Verdict:
    import duckdb

    try:
        con = duckdb.connect(path, read_only=True)
    except Exception as exc:
        return Verdict(False, f"cannot open {path}: {exc}")
    try:
        con.execute("SET TimeZone = 'UTC'")
        try:
            dest_types = {
                r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {table}").fetchall()
            }
        except Exception as exc:
            return Verdict(False, f"{table}: {str(exc).splitlines()[0]}")
        missing = [c for c in ref_types if c not in dest_types]
        if missing:
            return Verdict(False, f"columns missing in the destination: {', '.join(missing)}")
        try:
            row = con.execute(_duck_sum_sql(ref_types, table)).fetchone()
        except Exception as exc:
            return Verdict(False, f"checksum query failed: {str(exc).splitlines()[0]}")
        dest = Checksum(int(row[0]), {c: int(v) for c, v in zip(ref_types, row[1:], strict=True)})
        return compare(ref, ref_types, dest, dest_types)
    finally:
        con.close()


def source_types(table: str) -> dict[str, str]:
    return {c.name: c.pg for c in TABLES[table]}
