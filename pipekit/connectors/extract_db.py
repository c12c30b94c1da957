"""``extract.duckdb``: the catalogue of an extract folder, rebuilt aside and swapped in.

It holds ``_meta`` (one row per table: description, rows, size, when extracted,
``local`` or ``remote``, the schema as JSON), ``_remote_attach`` (the extension
to ATTACH, with the *name* of the variable holding its token; empty when the
connector has none) and one view per local table over its Parquet files.

The new file is built under a temporary name in the same folder, checkpointed,
closed and moved over the old one with ``os.replace``: one atomic rename, never
an unlink first, so there is no moment without a file, and a reader that has
the old file open keeps reading it (its inode lives until it closes it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from pipekit.connectors.state import ExtractState

__all__ = ["TableFiles", "build_extract_db", "table_files"]

DB_NAME = "extract.duckdb"


@dataclass
class TableFiles:
    """The Parquet files behind one table's view."""

    file: Path | None  # data/{table}.parquet, from read()
    stream_glob: Path | None  # data/{table}/*/*.parquet, from stream()
    rows: int
    size_bytes: int

    @property
    def sources(self) -> list[str]:
        return [str(p) for p in (self.file, self.stream_glob) if p is not None]


def table_files(data_dir: Path, table: str) -> TableFiles:
    """Which files hold `table` now, their rows (from the footers) and bytes."""
    file = data_dir / f"{table}.parquet"
    parts = sorted((data_dir / table).glob("*/*.parquet"))
    paths = ([file] if file.exists() else []) + parts
    rows = sum(pq.ParquetFile(str(p)).metadata.num_rows for p in paths)
    size = sum(p.stat().st_size for p in paths)
    return TableFiles(
        file=file if file.exists() else None,
        stream_glob=data_dir / table / "*" / "*.parquet" if parts else None,
        rows=rows,
        size_bytes=size,
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def build_extract_db(out_dir: Path, state: ExtractState) -> Path:
    """Write ``extract.duckdb`` for `state` and the files under ``data/``; returns its path."""
    target = out_dir / DB_NAME
    tmp = out_dir / f".{DB_NAME}.{uuid.uuid4().hex[:8]}.tmp"
    data_dir = out_dir / "data"
    con = duckdb.connect(str(tmp))
    try:
        con.execute(
            """CREATE TABLE _meta (
                table_name VARCHAR NOT NULL PRIMARY KEY,
                description VARCHAR,
                rows BIGINT,
                size_bytes BIGINT,
                extracted_at TIMESTAMP,
                query_mode VARCHAR,
                schema_json VARCHAR
            )"""
        )
        con.execute(
            "CREATE TABLE _remote_attach (alias VARCHAR, extension VARCHAR, "
            "url VARCHAR, token_env VARCHAR)"
        )
        if state.remote:
            r = state.remote
            con.execute(
                "INSERT INTO _remote_attach VALUES (?, ?, ?, ?)",
                [r.get("alias") or r["extension"], r["extension"], r["url"], r["token_env"]],
            )
        for name, t in sorted(state.tables.items()):
            files = table_files(data_dir, name)
            if t.query_mode == "local":
                if not files.sources:
                    continue  # never landed (a first run that failed)
                sources = ", ".join(_literal(s) for s in files.sources)
                con.execute(
                    f"CREATE VIEW {_ident(name)} AS SELECT * FROM "
                    f"read_parquet([{sources}], union_by_name = true)"
                )
            extracted = dt.datetime.fromisoformat(t.last_extracted) if t.last_extracted else None
            con.execute(
                "INSERT INTO _meta VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    name,
                    t.description,
                    files.rows,
                    files.size_bytes,
                    extracted.replace(tzinfo=None) if extracted else None,
                    t.query_mode,
                    json.dumps(t.schema) if t.schema is not None else None,
                ],
            )
        con.execute("CHECKPOINT")
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    # A WAL beside the target belongs to the file being replaced; DuckDB must not
    # replay it into the new one. Ours are checkpointed, so this only clears leftovers.
    Path(f"{target}.wal").unlink(missing_ok=True)
    os.replace(tmp, target)
    return target
