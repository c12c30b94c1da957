"""A run's staging steps: land the source rows where the merge expects them.

That is the staging table, or for a swap the new table itself (``plan_swap``);
the rows come as Arrow through the source stream, or by the destination's
native copy when it has one for this source and the column types line up
(PostgreSQL→PostgreSQL binary COPY). ``StagingSteps`` is mixed into the run
(``engine/run.py``), whose state and logging it uses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from pipekit.drivers import types as T
from pipekit.engine.stream import SourceStream
from pipekit.errors import PipekitError

if TYPE_CHECKING:
    from pipekit.drivers.base import Driver, TableRef
    from pipekit.engine.merge import MergePlan
    from pipekit.engine.run import Engine
    from pipekit.store.modules import Module

LIVE_EVERY_S = 2.0  # live-log progress lines at most this often


class StagingSteps:
    """The staging half of a run; the run supplies the attributes declared here."""

    engine: Engine
    module: Module
    run_id: int
    src: Driver
    dest: Driver
    staged: TableRef
    keys: list[str]
    rows: int
    record: dict[str, Any]

    if TYPE_CHECKING:

        def log(self, message: str, *, phase: str | None = None) -> None: ...
        def _emit(self, message: str | None) -> None: ...
        def check_cancel(self) -> None: ...
        def _plan(self, schema: pa.Schema, key_sync: bool) -> MergePlan: ...
        def _key_table(self) -> TableRef: ...
        def _check_duplicates(self) -> None: ...

    def _stream(
        self, reader: pa.RecordBatchReader, what: str, *, count_rows: bool = True
    ) -> SourceStream:
        """`reader` counted, with a live-log line every LIVE_EVERY_S and cancel checks."""
        on_batch = self._progress(what, count_rows)
        return SourceStream(reader, on_batch=on_batch, check_cancel=self.check_cancel)

    def _progress(self, what: str, count_rows: bool) -> Callable[[int], None]:
        """A callback taking rows so far: live log, run progress, nothing else."""
        started = last = time.monotonic()

        def on_batch(rows: int) -> None:
            nonlocal last
            if count_rows:
                self.rows = rows
            now = time.monotonic()
            if now - last < LIVE_EVERY_S:
                self._emit(None)
                return
            last = now
            self.log(f"{what} {rows:,} rows so far ({rows / max(now - started, 1e-9):,.0f} rows/s)")
            if count_rows:
                with suppress(Exception):
                    self.engine.store.runs.set_progress(self.run_id, rows_read=rows)

        return on_batch

    def _stage(self, query: str, key_sync: bool) -> MergePlan:
        """Plan the merge and land the source rows where it expects them.

        That is the staging table, or for a swap the new table itself. Rows go by
        the destination's native copy when it has one for this source and the
        column types line up (PostgreSQL→PostgreSQL binary COPY), else as Arrow.
        """
        self.log(f"staging the rows of {self.module.source}", phase="staging")
        native = self.dest.can_copy_from(self.src)
        declared = self._declared_types(query)  # before the read holds the connection
        reader = None if native else self.src.read(query)
        try:
            schema = self.src.probe(query) if reader is None else reader.schema
            schema = T.with_declared(schema, self.src.kind, declared)
            plan = self._plan(schema, key_sync)
            if plan.swap is not None:
                if self.staged.schema:
                    self.dest.create_schema(self.staged.schema)
                for sql in plan.prepare:
                    self.dest.execute(sql)
            else:
                self._create_staging(self.staged, schema, ())
            into = f"new table {self.staged}" if plan.swap else f"staging table {self.staged}"
            started = time.monotonic()
            blocker = self.dest.copy_blocker(self.src, schema, self.staged) if native else None
            if native and blocker is None:
                self.log(
                    f"copying {self.module.source} into {into} with binary COPY "
                    "(the column types line up)"
                )
                loaded = self.dest.copy_from(
                    self.src, query, self.staged, schema.names, self._copy_progress()
                )
            else:
                how = f" through Arrow ({blocker})" if blocker else ""
                self.log(f"reading {self.module.source} into {into}{how}")
                stream = self._stream(reader or self.src.read(query), "staged")
                reader = None
                try:
                    loaded = self.dest.load(self.staged, stream.reader())
                except BaseException as exc:
                    stream.reraise(exc)
        finally:
            if reader is not None:
                reader.close()
        self.check_cancel()
        self.rows = loaded
        self.record["rows_read"] = loaded
        self.engine.store.runs.set_progress(self.run_id, rows_read=loaded)
        rate = loaded / max(time.monotonic() - started, 1e-9)
        self.log(f"staged {loaded:,} rows ({rate:,.0f} rows/s)")
        if plan.swap is not None:
            self._finish_new_table(plan)
        return plan

    def _copy_progress(
        self, what: str = "copied", *, count_rows: bool = True
    ) -> Callable[[int], None]:
        on_rows = self._progress(what, count_rows)

        def progress(rows: int) -> None:
            self.check_cancel()
            on_rows(rows)

        return progress

    def _finish_new_table(self, plan: MergePlan) -> None:
        """Build the loaded new table's primary key (a swap's ``finish``)."""
        if plan.builds_key:
            self.log(f"building the primary key of {self.staged}", phase="index")
        try:
            for sql in plan.finish:
                self.check_cancel()
                self.dest.execute(sql)
        except PipekitError:
            self._check_duplicates()  # words a duplicate key; else the error stands
            raise
        self.check_cancel()

    def _stage_keys(self, key_query: str) -> None:
        table = self._key_table()
        self.log(f"key_sync: reading every source key into {table}", phase="keys")
        keys = list(self.keys)
        native = self.dest.can_copy_from(self.src)
        declared = self._declared_types(key_query)  # before the read holds the connection
        reader = None if native else self.src.read(key_query)
        try:
            schema = self.src.probe(key_query) if reader is None else reader.schema
            schema = T.with_declared(schema, self.src.kind, declared)
            names = schema.names
            if len(names) != len(keys):
                raise PipekitError(
                    f"the key_sync query returns {len(names)} column(s) ({', '.join(names)}) "
                    f"but merge_key has {len(keys)} ({', '.join(keys)}); select the key "
                    "columns in merge_key order"
                )
            # Columns are taken in merge_key order and named like the merge key.
            renamed = pa.schema([f.with_name(k) for f, k in zip(schema, keys, strict=True)])
            # keyed for the anti-join where an index is cheap; DuckDB's must fit in memory
            self._create_staging(table, renamed, keys if self.dest.declares_primary_key else [])
            blocker = self.dest.copy_blocker(self.src, renamed, table) if native else "-"
            if blocker is None:
                q = self.src.quote
                as_keys = ", ".join(f"{q(n)} AS {q(k)}" for n, k in zip(names, keys, strict=True))
                sql = f"SELECT {as_keys} FROM ({key_query.strip().rstrip(';')}\n) pipekit_keys"
                self.log("key_sync: copying the keys with binary COPY (their types line up)")
                progress = self._copy_progress("keys", count_rows=False)
                loaded = self.dest.copy_from(self.src, sql, table, keys, progress)
            else:
                source = reader or self.src.read(key_query)
                reader = None
                batches = pa.RecordBatchReader.from_batches(
                    renamed, (b.rename_columns(keys) for b in source)
                )
                stream = self._stream(batches, "keys", count_rows=False)
                try:
                    loaded = self.dest.load(table, stream.reader())
                except BaseException as exc:
                    stream.reraise(exc)
        finally:
            if reader is not None:
                reader.close()
        self.check_cancel()
        self.log(f"key_sync: {loaded:,} source keys staged")

    def _declared(self, query: str, schema: pa.Schema) -> pa.Schema:
        """`schema` with the source's declared column types, so that a destination of
        the same kind creates the staging and destination columns with them."""
        return T.with_declared(schema, self.src.kind, self._declared_types(query))

    def _declared_types(self, query: str) -> list[str | None] | None:
        # type modifiers matter only where the destination creates the same types
        return self.src.declared_types(query, full=self.src.kind == self.dest.kind)

    def _create_staging(self, table: TableRef, schema: pa.Schema, keys: Any) -> None:
        if table.schema:
            self.dest.create_schema(table.schema)
        self.dest.drop_table(table)
        self.dest.create_table(table, schema, keys, staging=True)

    def _drop_staging(self, key_sync: bool) -> None:
        # Staging holds a copy of the rows moved; kept after a failure, to look at.
        with suppress(Exception):
            self.dest.drop_table(self.staged)
            if key_sync:
                self.dest.drop_table(self._key_table())
