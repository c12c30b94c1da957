"""Generate TPC-H lineitem and orders with DuckDB's tpch extension, plus updated_at.

Runs under an interpreter whose duckdb matches the duckdb-extension-tpch package
(the project's venv when they match, else bench/.venvs/duckdb, which the suite
builds). Writes, for each table, a Parquet file (the reference the DuckDB checks
compare with) and a tab-separated file in PostgreSQL's text format, which is also
MariaDB's LOAD DATA default and what sqlite3's .import reads:

    python bench/gen_tpch.py SCALE OUTDIR

updated_at is a deterministic function of the key, with microseconds, within 2020
(naive, meaning UTC). No text value holds a tab, newline, backslash or double
quote (checked), so the files need no escaping.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import duckdb

UPDATED_AT = {
    "lineitem": "TIMESTAMP '2020-01-01' + to_microseconds("
    "((l_orderkey * 7919 + l_linenumber * 104729) % 31536000000000)::BIGINT)",
    "orders": "TIMESTAMP '2020-01-01' + to_microseconds("
    "((o_orderkey * 7919) % 31536000000000)::BIGINT)",
}
TEXT_COLUMNS = {
    "lineitem": ["l_returnflag", "l_linestatus", "l_shipinstruct", "l_shipmode", "l_comment"],
    "orders": ["o_orderstatus", "o_orderpriority", "o_clerk", "o_comment"],
}


def main() -> int:
    scale, out = float(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    import duckdb_extension_tpch

    folder = Path(duckdb_extension_tpch.__file__).parent / "extensions"
    ext = folder / f"v{duckdb.__version__}" / "tpch.duckdb_extension"
    if not ext.exists():
        found = sorted(p.name for p in folder.iterdir())
        raise SystemExit(f"no tpch extension for duckdb {duckdb.__version__} (package has {found})")
    con = duckdb.connect()
    con.execute(f"SET threads = {max(1, (os.cpu_count() or 2) // 2)}")
    con.execute(f"INSTALL '{ext}'")
    con.execute("LOAD tpch")
    con.execute(f"CALL dbgen(sf={scale})")
    counts = {}
    for table, expr in UPDATED_AT.items():
        con.execute(f"CREATE TABLE b_{table} AS SELECT *, {expr} AS updated_at FROM {table}")
        bad = " OR ".join(f"regexp_matches({c}, '[\\t\\n\\r\\\\\"]')" for c in TEXT_COLUMNS[table])
        n_bad = con.execute(f"SELECT count(*) FROM b_{table} WHERE {bad}").fetchone()[0]
        if n_bad:
            raise SystemExit(f"{table}: {n_bad} rows hold a tab, newline, backslash or quote")
        con.execute(f"COPY b_{table} TO '{out / (table + '.parquet')}' (FORMAT parquet)")
        con.execute(
            f"COPY (SELECT * REPLACE (strftime(updated_at, '%Y-%m-%d %H:%M:%S.%f') AS updated_at) "
            f"FROM b_{table}) TO '{out / (table + '.tsv')}' "
            "(FORMAT csv, DELIMITER '\t', HEADER false, QUOTE '', ESCAPE '')"
        )
        counts[table] = con.execute(f"SELECT count(*) FROM b_{table}").fetchone()[0]
    (out / "counts.json").write_text(json.dumps({"scale": scale, "rows": counts}))
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
