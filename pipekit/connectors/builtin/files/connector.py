"""``files``: CSV, TSV, Parquet and JSONL files (gzip too), local or on S3-compatible storage.

One implementation for both, through pyarrow's filesystems: a connection
``file:///srv/landing`` reads a local folder (confined to the folders the config
allows: ``check_local_path``), ``s3://bucket/prefix`` a bucket (options
``endpoint``, ``region``, ``scheme``; the access key is the connection's user,
the secret key its password). Each table is one glob under the folder::

    tables:
      orders:
        glob: "orders/*.csv.gz"     # relative to the folder or prefix
        format: csv                 # csv | tsv | parquet | jsonl (default: from the name)
        primary_key: [id]
        columns: {amount: number}   # optional types for CSV/TSV/JSONL columns
    source_file_column: _source_file          # null: left out
    source_modified_column: _source_modified  # null: left out

Files are read oldest first (by modification time, then path). When the module's
watermark is the modified column, a run reads only files modified since the
destination's newest one: new files are picked up, old ones not re-read. A row
that cannot be read fails the run naming the file and the line.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipekit.connectors.names import unique_slugs
from pipekit.connectors.protocol import Cap, ReadOptions, TableInfo
from pipekit.connectors.records import ColumnNames, parse_type, records_to_batch
from pipekit.errors import ConnectorError, ConnectorSpecError
from pipekit.redact import redact

__all__ = ["FORMATS", "FileTable", "FilesConnector"]

FORMATS = ("csv", "tsv", "parquet", "jsonl")
SOURCE_FILE = "_source_file"
SOURCE_MODIFIED = "_source_modified"
_ROW = re.compile(r"Row #(\d+)")
#: bytes of CSV the reader parses at a time: its Arrow memory is ~35 times this
#: (a 1 MB block held 35 MB, 256 kB 8 MB, and read a 64 MB file no slower)
CSV_BLOCK = 1 << 18


@dataclass
class FileTable:
    """One table: the files its glob matches, in one format."""

    name: str
    glob: str
    format: str | None
    primary_key: list[str] | None
    columns: dict[str, pa.DataType] | None

    @classmethod
    def parse(cls, name: str, spec: Mapping[str, Any]) -> FileTable:
        path = f"tables.{name}"
        if not isinstance(spec, Mapping) or not spec.get("glob"):
            raise ConnectorSpecError(
                f"table {name!r} needs a glob, e.g. {{glob: 'orders/*.csv'}}", path=f"{path}.glob"
            )
        fmt = spec.get("format")
        if fmt is not None and fmt not in FORMATS:
            raise ConnectorSpecError(
                f"format {fmt!r} is not known; use one of {', '.join(FORMATS)}",
                path=f"{path}.format",
            )
        columns = None
        if spec.get("columns"):
            columns = {
                str(k): parse_type(str(v), f"{path}.columns.{k}")
                for k, v in dict(spec["columns"]).items()
            }
        key = spec.get("primary_key")
        return cls(
            name=name,
            glob=str(spec["glob"]).lstrip("/"),
            format=fmt,
            primary_key=[key] if isinstance(key, str) else (list(key) if key else None),
            columns=columns,
        )


def format_of(path: str, declared: str | None) -> str:
    if declared:
        return declared
    name = path.lower().removesuffix(".gz")
    for ext, fmt in (
        (".csv", "csv"),
        (".tsv", "tsv"),
        (".parquet", "parquet"),
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "jsonl"),
    ):
        if name.endswith(ext):
            return fmt
    raise ConnectorSpecError(
        f"cannot tell the format of {path}; give the table a format ({', '.join(FORMATS)})",
        path="format",
    )


class FilesConnector:
    """The tables of one folder or bucket prefix; DISCOVER and READ."""

    capabilities = Cap.DISCOVER | Cap.READ

    def __init__(
        self,
        fs: pafs.FileSystem,
        root: str,
        options: Mapping[str, Any],
        *,
        display_root: str,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.display_root = display_root.rstrip("/")
        self.secrets = secrets
        self.options = dict(options)
        tables = self.options.get("tables")
        if not isinstance(tables, Mapping) or not tables:
            raise ConnectorSpecError(
                "a files connection declares its tables in its options: "
                "tables: {orders: {glob: 'orders/*.csv'}}",
                path="tables",
            )
        self.tables = {str(n): FileTable.parse(str(n), s) for n, s in tables.items()}
        self.file_column: str | None = self.options.get("source_file_column", SOURCE_FILE)
        self.modified_column: str | None = self.options.get(
            "source_modified_column", SOURCE_MODIFIED
        )
        # 16k rows: a batch in flight stays a few MB, whatever the file (peak RSS, bench)
        self.batch_rows = int(self.options.get("batch_rows") or 16_384)
        #: the files the last read() opened, for the run record
        self.requests: list[str] = []
        self.request_count = 0

    @classmethod
    def local(cls, folder: str, options: Mapping[str, Any]) -> FilesConnector:
        return cls(pafs.LocalFileSystem(), folder, options, display_root=f"file://{folder}")

    @classmethod
    def s3(
        cls,
        bucket_prefix: str,
        options: Mapping[str, Any],
        *,
        access_key: str | None,
        secret_key: str | None,
    ) -> FilesConnector:
        endpoint = options.get("endpoint")
        given = str(options.get("scheme") or "")
        plain = given == "http" or (not given and str(endpoint or "").startswith("http://"))
        scheme: Literal["http", "https"] = "http" if plain else "https"
        endpoint_override = str(endpoint).split("://", 1)[-1] if endpoint else None
        fs = pafs.S3FileSystem(
            access_key=access_key,
            secret_key=secret_key,
            endpoint_override=endpoint_override,
            scheme=scheme,
            region=str(options.get("region") or "us-east-1"),
            anonymous=access_key is None and secret_key is None,
        )
        return cls(
            fs,
            bucket_prefix,
            options,
            display_root=f"s3://{bucket_prefix}",
            secrets=tuple(s for s in (secret_key,) if s),
        )

    def close(self) -> None:
        pass

    def fixed_schema(self, table: str) -> bool:
        """Every file of a table is read with the same column types (the oldest file's or
        the declared ones), so its batches share one schema and can stream."""
        return table in self.tables

    # -- the protocol ----------------------------------------------------------

    def discover(self) -> list[TableInfo]:
        out = []
        for t in self.tables.values():
            files = self._files(t)
            if files:
                schema = self._file_schema(t, files[0])
            else:
                schema = pa.schema([pa.field(n, ty) for n, ty in (t.columns or {}).items()])
            schema = self._with_audit(schema)
            out.append(
                TableInfo(
                    t.name,
                    schema,
                    Cap.DISCOVER | Cap.READ,
                    t.primary_key,
                    t.glob,
                    self.modified_column,
                )
            )
        return out

    def read(self, table: str, options: ReadOptions) -> Iterator[pa.RecordBatch]:
        t = self.tables.get(table)
        if t is None:
            raise ConnectorSpecError(
                f"the connection declares no table {table!r} (tables: "
                f"{', '.join(sorted(self.tables))})",
                path="source_table",
            )
        return self._read(t, options)

    # -- files -------------------------------------------------------------------

    def _files(self, t: FileTable) -> list[pafs.FileInfo]:
        """The files the glob matches, oldest first."""
        try:
            infos = self.fs.get_file_info(pafs.FileSelector(self.root, recursive=True))
        except (OSError, FileNotFoundError) as exc:
            raise ConnectorError(
                f"cannot list {self.display_root}: {redact(str(exc), self.secrets)}"
            ) from None
        prefix = f"{self.root}/" if self.root else ""
        found = [
            i
            for i in infos
            if i.type == pafs.FileType.File
            and fnmatch.fnmatchcase(i.path.removeprefix(prefix), t.glob)
        ]
        return sorted(found, key=lambda i: (i.mtime_ns or 0, i.path))

    def _relative(self, info: pafs.FileInfo) -> str:
        """The file's path under the connection's folder or prefix (the `_source_file`
        value: short, since every row carries it, and the connection names the root)."""
        prefix = f"{self.root}/" if self.root else ""
        return info.path.removeprefix(prefix)

    def _shown(self, info: pafs.FileInfo) -> str:
        prefix = f"{self.root}/" if self.root else ""
        return f"{self.display_root}/{info.path.removeprefix(prefix)}"

    def _read(self, t: FileTable, options: ReadOptions) -> Iterator[pa.RecordBatch]:
        since = None
        if (
            self.modified_column
            and options.incremental_key == self.modified_column
            and options.incremental_value
        ):
            since = _utc(dt.datetime.fromisoformat(options.incremental_value))
        names = ColumnNames()
        files = self._files(t)
        # The column types every file is read with: declared, else the oldest file's, so a
        # value that does not fit is a bad row (named by file and line), not a new type.
        reference = dict(t.columns or {})
        if files:
            for f in self._file_schema(t, files[0]):
                reference.setdefault(f.name, _unit_us(f.type))
        for info in files:
            modified = dt.datetime.fromtimestamp((info.mtime_ns or 0) / 1e9, dt.UTC)
            if since is not None and (
                modified < since or (modified == since and options.incremental_op == ">")
            ):
                continue  # read by an earlier run: its rows are in the destination
            shown = self._shown(info)
            self.request_count += 1
            if len(self.requests) < 20:
                self.requests.append(shown)
            for batch in self._file_batches(t, info, shown, names, reference):
                yield self._add_audit(batch, self._relative(info), modified)

    def _file_batches(
        self,
        t: FileTable,
        info: pafs.FileInfo,
        shown: str,
        names: ColumnNames,
        types: Mapping[str, pa.DataType] | None = None,
    ) -> Iterator[pa.RecordBatch]:
        fmt = format_of(info.path, t.format)
        try:
            if fmt == "parquet":
                with self.fs.open_input_file(info.path) as f:
                    # pre_buffer off: it reads a whole row group's column chunks ahead
                    # (a 1M-row file: 20 MB of Arrow memory held, against 6 MB)
                    pf = pq.ParquetFile(f, pre_buffer=False)
                    slugs = unique_slugs(pf.schema_arrow.names)
                    # one thread: decoding ahead in parallel only holds more rows in memory
                    for batch in pf.iter_batches(batch_size=self.batch_rows, use_threads=False):
                        yield batch.rename_columns(slugs)
            elif fmt == "jsonl":
                yield from self._jsonl(t, info, shown, names)
            else:
                yield from self._csv(info, fmt, types or t.columns or {})
        except ConnectorError:
            raise
        except (pa.ArrowInvalid, OSError, ValueError, UnicodeDecodeError) as exc:
            text = redact(str(exc), self.secrets)
            row = _ROW.search(text)
            where = f" line {row.group(1)}" if row else ""
            raise ConnectorError(f"{shown}{where}: {text}", path="source_table") from None

    def _csv(
        self, info: pafs.FileInfo, fmt: str, columns: Mapping[str, pa.DataType]
    ) -> Iterator[pa.RecordBatch]:
        with self.fs.open_input_stream(info.path, compression=_compression(info.path)) as f:
            header = pcsv.open_csv(
                f,  # type: ignore[arg-type]  # pyarrow-stubs: open_csv takes a NativeFile too
                read_options=pcsv.ReadOptions(use_threads=False, block_size=1 << 16),
                parse_options=pcsv.ParseOptions(delimiter="\t" if fmt == "tsv" else ","),
            ).schema.names
        slugs = unique_slugs(header)
        types = {}
        for raw, name in zip(header, slugs, strict=True):
            if name in columns and not pa.types.is_null(columns[name]):
                types[raw] = columns[name]
        with self.fs.open_input_stream(info.path, compression=_compression(info.path)) as f:
            # one thread: the reader then counts lines, and an error names its row
            reader = pcsv.open_csv(
                f,  # type: ignore[arg-type]  # pyarrow-stubs: open_csv takes a NativeFile too
                read_options=pcsv.ReadOptions(use_threads=False, block_size=CSV_BLOCK),
                parse_options=pcsv.ParseOptions(delimiter="\t" if fmt == "tsv" else ","),
                convert_options=pcsv.ConvertOptions(
                    column_types=types,
                    timestamp_parsers=[pcsv.ISO8601],  # type: ignore[list-item]  # stubs
                    strings_can_be_null=True,
                ),
            )
            for batch in reader:
                yield batch.rename_columns(slugs)

    def _jsonl(
        self, t: FileTable, info: pafs.FileInfo, shown: str, names: ColumnNames
    ) -> Iterator[pa.RecordBatch]:
        rows: list[dict[str, Any]] = []
        with self.fs.open_input_stream(info.path, compression=_compression(info.path)) as f:
            line_no = 0
            pending = b""
            while chunk := f.read(1 << 20):
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    line_no += 1
                    rows.extend(_json_line(line, shown, line_no))
                    if len(rows) >= self.batch_rows:
                        yield records_to_batch(rows, names, t.columns)
                        rows = []
            if pending.strip():
                rows.extend(_json_line(pending, shown, line_no + 1))
        if rows:
            yield records_to_batch(rows, names, t.columns)

    def _file_schema(self, t: FileTable, info: pafs.FileInfo) -> pa.Schema:
        """A table's schema from its oldest file (its first batch)."""
        for batch in self._file_batches(t, info, self._shown(info), ColumnNames()):
            return batch.schema
        return pa.schema([])

    def _with_audit(self, schema: pa.Schema) -> pa.Schema:
        if self.file_column:
            schema = schema.append(pa.field(self.file_column, pa.string()))
        if self.modified_column:
            schema = schema.append(pa.field(self.modified_column, pa.timestamp("us", tz="UTC")))
        return schema

    def _add_audit(
        self, batch: pa.RecordBatch, relative: str, modified: dt.datetime
    ) -> pa.RecordBatch:
        n = batch.num_rows
        if self.file_column:
            batch = batch.append_column(
                self.file_column, pa.repeat(pa.scalar(relative, pa.string()), n)
            )
        if self.modified_column:
            stamp = pa.repeat(pa.scalar(modified, pa.timestamp("us", tz="UTC")), n)
            batch = batch.append_column(self.modified_column, stamp)
        return batch


def _json_line(line: bytes, shown: str, line_no: int) -> list[dict[str, Any]]:
    if not line.strip():
        return []
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise ConnectorError(
            f"{shown} line {line_no}: not JSON ({exc})", path="source_table"
        ) from None
    if not isinstance(value, dict):
        raise ConnectorError(
            f"{shown} line {line_no}: a JSON object was expected, found {type(value).__name__}",
            path="source_table",
        )
    return [value]


def _unit_us(t: pa.DataType) -> pa.DataType:
    """Timestamps in microseconds: a file whose times have no fraction must not make
    a later one with microseconds a bad row."""
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz=t.tz)
    return t


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _compression(path: str) -> str | None:
    """By the name, as pyarrow's "detect" does (but the same on every filesystem)."""
    return "gzip" if path.lower().endswith(".gz") else None
