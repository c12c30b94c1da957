"""ConnectorRuntime: runs a connector into an extract folder.

::

    OUT/
      extract.duckdb              _meta, _remote_attach, one view per table
      data/{table}.parquet        read(): zstd, written batch by batch
      data/{table}/{YYYY-MM}/part-*.parquet   stream(): one new file per append
      .pipekit/state.json         per table: incremental key + value, schema, rows
      .pipekit/lock               held by every writer of the folder

A run discovers the tables (when the connector can), extracts each readable
one into a new file beside the old, and moves it into place; a table that fails
is counted and reported while the others go on, and keeps its earlier data and
state. An incremental run (the table has an incremental key and an earlier run
landed a value) asks only for newer rows and merges them with the earlier ones,
replacing rows by primary key when the table has one. Then ``extract.duckdb`` is
rebuilt aside and swapped in, and the state saved. A method is only ever called
when its capability is declared, by the connector and by the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipekit.connectors import parquet_files as files
from pipekit.connectors.extract_db import build_extract_db
from pipekit.connectors.protocol import (
    SAFE_NAME,
    Cap,
    ExtractStats,
    ReadOptions,
    TableInfo,
    capabilities_of,
    require,
)
from pipekit.connectors.schemas import diff_schemas, schema_to_json
from pipekit.connectors.state import ExtractState, TableState, writer_lock
from pipekit.errors import ConnectorError, ConnectorSpecError, InvalidError, PipekitError
from pipekit.redact import redact

__all__ = ["ConnectorRuntime", "utc_now"]

log = logging.getLogger(__name__)

Progress = Callable[[str, int], None]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ConnectorRuntime:
    """Extracts connectors into `output_dir` (created if missing)."""

    def __init__(
        self,
        output_dir: Path,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        lock_timeout_s: float = 600.0,
        secrets: Sequence[str] = (),
    ) -> None:
        self.output_dir = Path(output_dir)
        self.data_dir = self.output_dir / "data"
        self.db_path = self.output_dir / "extract.duckdb"
        self.state_path = self.output_dir / ".pipekit" / "state.json"
        self.lock_path = self.output_dir / ".pipekit" / "lock"
        self.clock = clock
        self.lock_timeout_s = lock_timeout_s
        #: values masked in every error recorded (a connector may quote its token)
        self.secrets = [v for v in secrets if v]

    # -- batch extraction ------------------------------------------------------

    def run(
        self,
        connector: object,
        tables: Sequence[str] | None = None,
        *,
        full: bool = False,
        incremental_keys: Mapping[str, str] | None = None,
        batch_size: int = 10_000,
        on_progress: Progress | None = None,
    ) -> ExtractStats:
        """Extract `tables` (None: every table discovered) and rebuild extract.duckdb.

        `full` ignores the stored incremental values; `incremental_keys` names a
        table's incremental column where discover() does not.
        """
        caps = capabilities_of(connector)
        available = self._discover(connector, caps)
        selected = self._select(caps, available, tables)
        stats = ExtractStats()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with writer_lock(self.lock_path, self.lock_timeout_s):
            state = ExtractState.load(self.state_path)
            self._clear_leftovers()
            for name in selected:
                info = available.get(name)
                table_caps = caps & info.capabilities if info else caps
                if Cap.READ in table_caps:
                    key = (incremental_keys or {}).get(name) or (
                        info.incremental_key if info else None
                    )
                    self._extract(
                        connector, name, info, key, full, batch_size, state, stats, on_progress
                    )
                elif Cap.REMOTE in table_caps and info is not None:
                    self._remote_table(info, state, stats)
            if Cap.REMOTE in caps:
                self._remote(connector, state, stats)
            build_extract_db(self.output_dir, state)
            state.save(self.state_path)
        return stats

    def _discover(self, connector: object, caps: Cap) -> dict[str, TableInfo]:
        if Cap.DISCOVER not in caps:
            return {}
        require(connector, Cap.DISCOVER)
        try:
            tables = connector.discover()  # type: ignore[attr-defined]
        except PipekitError:
            raise
        except Exception as exc:  # the connector's own failure: nothing can be extracted
            raise ConnectorError(
                f"discover() failed: {type(exc).__name__}: {redact(str(exc), self.secrets)}"
            ) from exc
        found: dict[str, TableInfo] = {}
        for t in tables:
            if not isinstance(t, TableInfo) or not SAFE_NAME.match(str(t.name)):
                raise ConnectorError(
                    f"discover() returned {t!r}: every table must be a TableInfo whose name "
                    f"matches {SAFE_NAME.pattern} (it becomes a view and a file name)"
                )
            found[t.name] = t
        return found

    def _select(
        self, caps: Cap, available: dict[str, TableInfo], tables: Sequence[str] | None
    ) -> list[str]:
        if tables is None:
            if Cap.DISCOVER not in caps:
                if Cap.READ in caps:
                    raise ConnectorSpecError(
                        "this connector cannot discover its tables: name them (--table NAME)",
                        path="tables",
                    )
                return []
            return list(available)
        for i, name in enumerate(tables):
            if not SAFE_NAME.match(name):
                raise InvalidError(
                    f"table name {name!r} is not valid: letters, digits and _ only, "
                    "not starting with a digit, at most 64 characters",
                    path=f"tables[{i}]",
                )
            if available and name not in available:
                import difflib

                close = difflib.get_close_matches(name, list(available), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConnectorSpecError(
                    f"the connector has no table {name!r} (tables: "
                    f"{', '.join(sorted(available))}){hint}",
                    path=f"tables[{i}]",
                )
        return list(dict.fromkeys(tables))

    def _extract(
        self,
        connector: object,
        name: str,
        info: TableInfo | None,
        key: str | None,
        full: bool,
        batch_size: int,
        state: ExtractState,
        stats: ExtractStats,
        on_progress: Progress | None,
    ) -> None:
        prev = state.tables.get(name)
        target = self.data_dir / f"{name}.parquet"
        primary_key = info.primary_key if info else None
        options = ReadOptions(batch_size=batch_size, incremental_key=key)
        incremental = (
            not full
            and key is not None
            and prev is not None
            and prev.incremental_key == key
            and prev.incremental_value is not None
            and target.exists()
        )
        if incremental and prev is not None:
            options.incremental_value = prev.incremental_value
            options.incremental_op = ">=" if primary_key else ">"
        new = files.temp_path(target)
        merged = files.temp_path(target)
        try:
            require(connector, Cap.READ)
            batches = connector.read(name, options)  # type: ignore[attr-defined]
            written = files.write_batches(
                batches,
                new,
                table=name,
                expected=info.schema if info else None,
                key=key,
                on_rows=(lambda n: on_progress(name, n)) if on_progress else None,
            )
            if written.schema is None:
                raise ConnectorError(
                    f"read() of {name} yielded no batch and the table has no declared "
                    "schema, so not even an empty file can be written; declare it in discover()"
                )
            schema = written.schema
            if incremental and new.exists():
                schema = files.merge_files(name, target, new, merged, primary_key)
                os.replace(merged, target)
            else:
                os.replace(new, target)
        except Exception as exc:  # a connector's own failure: count it, go on
            stats.tables_failed += 1
            message = redact(str(exc) or type(exc).__name__, self.secrets)
            stats.errors.append(f"{name}: {message}")
            log.warning("connector table %s failed: %s", name, message)
            if prev is not None:
                prev.last_error = message
            return
        finally:
            new.unlink(missing_ok=True)
            merged.unlink(missing_ok=True)
        columns = schema_to_json(schema)
        change = diff_schemas(name, prev.schema if prev else None, columns)
        if change:
            stats.schema_changes.append(str(change))
        value = prev.incremental_value if incremental and prev else None
        if written.max_key is not None:
            value = files.render_value(written.max_key)
        rows = pq.ParquetFile(str(target)).metadata.num_rows
        state.tables[name] = TableState(
            incremental_key=key,
            incremental_value=value if key else None,
            schema=columns,
            rows=rows,
            description=info.description if info else "",
            query_mode="local",
            last_extracted=self.clock().isoformat(),
        )
        stats.tables_extracted += 1
        stats.total_rows += written.rows
        stats.rows[name] = written.rows

    def _remote_table(self, info: TableInfo, state: ExtractState, stats: ExtractStats) -> None:
        prev = state.tables.get(info.name)
        columns = schema_to_json(info.schema)
        change = diff_schemas(info.name, prev.schema if prev else None, columns)
        if change:
            stats.schema_changes.append(str(change))
        state.tables[info.name] = TableState(
            schema=columns,
            description=info.description,
            query_mode="remote",
            last_extracted=self.clock().isoformat(),
        )
        stats.tables_extracted += 1
        stats.rows[info.name] = 0

    def _remote(self, connector: object, state: ExtractState, stats: ExtractStats) -> None:
        try:
            require(connector, Cap.REMOTE)
            info = connector.remote()  # type: ignore[attr-defined]
            info.check()
        except Exception as exc:
            stats.errors.append(f"remote: {redact(str(exc), self.secrets)}")
            return
        state.remote = {k: str(v) for k, v in asdict(info).items()}

    def _clear_leftovers(self) -> None:
        """Temporary files of a run that crashed: runs write theirs under the lock we
        hold, so none is in use (a stream's parts, written before it locks, are left)."""
        for tmp in self.data_dir.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        for tmp in self.output_dir.glob(".extract.duckdb.*.tmp"):
            tmp.unlink(missing_ok=True)

    # -- streaming -------------------------------------------------------------

    async def run_stream(self, connector: object, table: str) -> int:
        """Append what ``connector.stream(table)`` yields until it ends; returns rows.

        Each batch goes to the partition of the month it arrived in
        (``data/{table}/YYYY-MM/``), one new part file per month per call: an
        existing file is never rewritten. The parts are written under temporary
        names and published, with the state and a rebuilt extract.duckdb, under
        the folder's lock. What arrived before a failure is still published.
        """
        caps = capabilities_of(connector)
        if not SAFE_NAME.match(table):
            raise InvalidError(f"table name {table!r} is not valid", path="table")
        require(connector, Cap.STREAM)
        info = self._discover(connector, caps).get(table)
        if Cap.DISCOVER in caps and (info is None or Cap.STREAM not in info.capabilities):
            raise ConnectorSpecError(
                f"the connector offers no stream for table {table!r}", path="table"
            )
        parts = _StreamParts(self.data_dir / table, table, info.schema if info else None)
        try:
            async for batch in connector.stream(table):  # type: ignore[attr-defined]
                parts.add(batch, self.clock())
        except PipekitError:
            raise
        except Exception as exc:
            message = redact(str(exc), self.secrets)
            raise ConnectorError(
                f"stream() of {table} failed: {type(exc).__name__}: {message}"
            ) from exc
        finally:
            published = await asyncio.to_thread(self._publish_stream, table, info, parts)
        return published

    def _publish_stream(self, table: str, info: TableInfo | None, parts: _StreamParts) -> int:
        ready = parts.close()
        if not ready:
            return 0
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(writer_lock(self.lock_path, self.lock_timeout_s))
            except ConnectorError as exc:
                for tmp, _ in ready:
                    tmp.unlink(missing_ok=True)
                raise ConnectorError(
                    f"{exc}; the {parts.rows} row(s) received were not kept"
                ) from None
            for tmp, final in ready:
                os.replace(tmp, final)
            state = ExtractState.load(self.state_path)
            prev = state.tables.get(table) or TableState()
            if parts.schema is not None:
                prev.schema = schema_to_json(parts.schema)
            prev.description = info.description if info else prev.description
            prev.query_mode = "local"
            prev.last_extracted = self.clock().isoformat()
            state.tables[table] = prev
            build_extract_db(self.output_dir, state)
            state.save(self.state_path)
        return parts.rows

    def run_stream_sync(self, connector: object, table: str) -> int:
        """``run_stream`` for callers without an event loop."""
        return asyncio.run(self.run_stream(connector, table))


class _StreamParts:
    """The part files one stream call writes: one open writer per month."""

    def __init__(self, folder: Path, table: str, schema: pa.Schema | None) -> None:
        self.folder = folder
        self.table = table
        self.schema = schema
        self.rows = 0
        self._open: dict[str, tuple[pq.ParquetWriter, Path, Path]] = {}
        self._count = 0

    def add(self, batch: object, now: dt.datetime) -> None:
        if not isinstance(batch, pa.RecordBatch):
            raise ConnectorError(
                f"stream() of {self.table} yielded a {type(batch).__name__}; "
                "it must yield pyarrow.RecordBatch objects"
            )
        self._count += 1
        if self.schema is None:
            self.schema = batch.schema
        files.check_schema(self.table, self._count, batch.schema, self.schema)
        month = now.astimezone(dt.UTC).strftime("%Y-%m")
        if month not in self._open:
            folder = self.folder / month
            folder.mkdir(parents=True, exist_ok=True)
            stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S")
            final = folder / f"part-{stamp}-{os.urandom(4).hex()}.parquet"
            tmp = files.temp_path(final)
            writer = pq.ParquetWriter(str(tmp), self.schema, compression=files.COMPRESSION)
            self._open[month] = (writer, tmp, final)
        self._open[month][0].write_batch(batch)
        self.rows += batch.num_rows

    def close(self) -> list[tuple[Path, Path]]:
        ready = []
        for writer, tmp, final in self._open.values():
            writer.close()
            ready.append((tmp, final))
        self._open.clear()
        return ready
