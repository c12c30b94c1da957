"""Parquet files of an extract: batches written as they come, an incremental
run's rows merged with the earlier ones, stream parts.

Everything here holds one batch at a time (plus, for an incremental merge with
a primary key, the new rows' key columns), so memory does not grow with the
table. Files are written under a temporary name in the same folder and moved
into place with ``os.replace`` by the caller: a reader sees the old file or the
new one, never a half-written one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipekit.connectors.schemas import diff_schemas, schema_to_json
from pipekit.errors import ConnectorError

__all__ = ["Written", "check_schema", "merge_files", "render_value", "temp_path", "write_batches"]

COMPRESSION: Final = "zstd"
#: rows per batch when an earlier file is copied into a merged one
COPY_BATCH_ROWS = 65_536


@dataclass
class Written:
    rows: int
    schema: pa.Schema | None  # None: no batch came and no schema was declared
    max_key: Any = None  # the largest value of the incremental key, as Python


def temp_path(target: Path) -> Path:
    """A unique temporary name beside `target` (same folder, so os.replace is atomic)."""
    return target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")


def render_value(value: Any) -> str:
    """An incremental value as the text ``ReadOptions.incremental_value`` carries."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _larger(current: Any, candidate: Any) -> Any:
    if candidate is None:
        return current
    return candidate if current is None or candidate > current else current


def check_schema(table: str, n: int, got: pa.Schema, expected: pa.Schema) -> None:
    if got.equals(expected, check_metadata=False):
        return
    change = diff_schemas(table, schema_to_json(expected), schema_to_json(got))
    what = str(change).partition(": ")[2] if change else f"{got} instead of {expected}"
    raise ConnectorError(
        f"batch {n} of {table} does not have the table's schema ({what}); "
        "every batch read() yields must have the schema discover() declares"
    )


def write_batches(
    batches: Iterable[pa.RecordBatch],
    path: Path,
    *,
    table: str,
    expected: pa.Schema | None,
    key: str | None = None,
    on_rows: Callable[[int], None] | None = None,
) -> Written:
    """Write `batches` to one zstd Parquet file at `path`, each as it comes.

    Every batch must have `expected` (the declared schema) or, when none is
    declared, the first batch's schema. An empty table still gets a file when its
    schema is known, so its view exists and counts 0 rows. Tracks the maximum of
    `key` over all batches.
    """
    writer: pq.ParquetWriter | None = None
    schema = expected
    rows = 0
    max_key: Any = None
    try:
        for n, batch in enumerate(batches, start=1):
            if not isinstance(batch, pa.RecordBatch):
                raise ConnectorError(
                    f"read() of {table} yielded a {type(batch).__name__}; "
                    "it must yield pyarrow.RecordBatch objects"
                )
            if schema is None:
                schema = batch.schema
            check_schema(table, n, batch.schema, schema)
            if key is not None:
                if key not in batch.schema.names:
                    raise ConnectorError(
                        f"incremental key {key!r} is not a column of {table} "
                        f"(columns: {', '.join(batch.schema.names)})",
                        path="incremental_key",
                    )
                if batch.num_rows:
                    max_key = _larger(max_key, pc.max(batch.column(key)).as_py())
            if writer is None:
                writer = pq.ParquetWriter(str(path), schema, compression=COMPRESSION)
            writer.write_batch(batch)
            rows += batch.num_rows
            if on_rows is not None:
                on_rows(rows)
        if writer is None and schema is not None:
            writer = pq.ParquetWriter(str(path), schema, compression=COMPRESSION)
    finally:
        if writer is not None:
            writer.close()
    return Written(rows=rows, schema=schema, max_key=max_key)


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """`batch` with `schema`'s columns in its order; columns it lacks are null."""
    columns = []
    for f in schema:
        i = batch.schema.get_field_index(f.name)
        columns.append(batch.column(i) if i >= 0 else pa.nulls(batch.num_rows, f.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _batches(file: pq.ParquetFile) -> Iterator[pa.RecordBatch]:
    """The file's rows, one row group at a time (ours hold one written batch each).

    ``iter_batches`` would keep decoded data of the whole file (~40 MB at 3M rows,
    growing with the file); this stays at one row group.
    """
    for i in range(file.num_row_groups):
        yield from file.read_row_group(i).to_batches(max_chunksize=COPY_BATCH_ROWS)


def _key_values(data: pa.Table | pa.RecordBatch, key: list[str]) -> pa.Array[Any]:
    """The key column, or for a composite key its columns joined as text (unit
    separator between them), so one hash lookup serves any key."""
    if len(key) == 1:
        column = data.column(key[0])
        return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    parts = [pc.cast(data.column(k), pa.string()) for k in key]
    # pyarrow-stubs 20 wants every argument of one type; pyarrow mixes arrays and a str
    joined = pc.binary_join_element_wise(*parts, "\x1f")  # type: ignore[call-overload]
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined


def merge_files(
    table: str, old: Path, new: Path, out: Path, primary_key: list[str] | None
) -> pa.Schema:
    """Write the earlier rows (`old`) then the new ones (`new`) to `out`.

    With a primary key, an earlier row whose key came again is left out: the new
    row replaces it. A column added since is null in the earlier rows; a removed
    one is null in the new rows; a column whose type changed cannot be merged
    (ConnectorError saying to re-extract in full).
    """
    old_file, new_file = pq.ParquetFile(str(old)), pq.ParquetFile(str(new))
    old_schema, new_schema = old_file.schema_arrow, new_file.schema_arrow
    for f in new_schema:
        i = old_schema.get_field_index(f.name)
        if i >= 0 and old_schema.field(i).type != f.type:
            raise ConnectorError(
                f"{table}: column {f.name} changed type from {old_schema.field(i).type} "
                f"to {f.type} since the last run, so the new rows cannot join the earlier "
                "ones; extract the table in full (--full) to start it afresh"
            )
    # the new schema first, then the columns only earlier rows have, made nullable
    gone = [f.with_nullable(True) for f in old_schema if f.name not in new_schema.names]
    added = {f.name for f in new_schema if f.name not in old_schema.names}
    schema = pa.schema([f.with_nullable(True) if f.name in added else f for f in new_schema] + gone)
    keys = None
    if primary_key:
        missing = [k for k in primary_key if k not in new_schema.names]
        if missing:
            raise ConnectorError(
                f"{table}: primary key column(s) {', '.join(missing)} are not in the rows read",
                path="primary_key",
            )
        keys = new_file.read(columns=primary_key)
    replaced = None
    if primary_key and keys is not None and keys.num_rows:
        replaced = _key_values(keys, primary_key)
    writer = pq.ParquetWriter(str(out), schema, compression=COMPRESSION)
    try:
        for batch in _batches(old_file):
            if replaced is not None and primary_key:
                # a hash lookup per batch: a join (Acero) would cost ~100 MB more at 1M rows
                hit = pc.is_in(_key_values(batch, primary_key), value_set=replaced)
                # pyarrow-stubs 20 types fill_null's result as object; it is hit's type
                kept = pc.invert(pc.fill_null(hit, False))  # type: ignore[call-overload, type-var]
                batch = batch.filter(kept)
            writer.write_batch(_conform(batch, schema))
        for batch in _batches(new_file):
            writer.write_batch(_conform(batch, schema))
    finally:
        writer.close()
    return schema
