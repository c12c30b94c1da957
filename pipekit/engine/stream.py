"""The source stream of a run: counted, read ahead in a thread, stopped on cancel.

A loader consumes the stream inside C code (COPY, LOAD DATA, an Arrow scan),
which turns a Python exception into its own error; ``SourceStream`` keeps the
original and ``reraise`` raises it instead, so a run reports what really failed.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Any

import pyarrow as pa


class SourceStream:
    """Wraps a source reader: `on_batch(rows so far)` per batch, `check_cancel` between."""

    def __init__(
        self,
        reader: pa.RecordBatchReader,
        *,
        on_batch: Callable[[int], None],
        check_cancel: Callable[[], None],
    ) -> None:
        self.source = reader
        self.on_batch = on_batch
        self.check_cancel = check_cancel
        self.rows = 0
        self.started = time.monotonic()
        self.failure: BaseException | None = None
        self.prefetch: Prefetch | None = None

    def reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(self.source.schema, self._batches())

    def _batches(self) -> Iterator[pa.RecordBatch]:
        self.prefetch = Prefetch(self.source, self.check_cancel)
        try:
            for batch in self.prefetch:
                self.check_cancel()
                self.rows += batch.num_rows
                self.on_batch(self.rows)
                yield batch
            self.check_cancel()
        except BaseException as exc:
            self.failure = exc
            raise

    def reraise(self, exc: BaseException) -> None:
        """After a failed load: stop reading, close the source, raise the real cause."""
        if self.prefetch is not None:
            self.prefetch.stop()  # the reading thread must be done before its reader closes
        with suppress(Exception):
            self.source.close()
        if self.failure is not None and self.failure is not exc:
            raise self.failure from None
        raise exc


class Prefetch:
    """Reads the source in a thread of its own, a few batches ahead of the loader.

    Reading (network, decoding) and loading (the destination's bulk path) then
    overlap instead of taking turns; the queue bounds memory to ``DEPTH``
    batches. Errors from the reading thread are raised in the consumer.
    """

    DEPTH = 2
    _END = object()

    def __init__(self, reader: pa.RecordBatchReader, check_cancel: Callable[[], None]) -> None:
        self._reader = reader
        self._check_cancel = check_cancel
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=self.DEPTH)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="pipekit-read", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for batch in self._reader:
                if self._stopped.is_set() or not self._put(batch):
                    return
            self._put(self._END)
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(exc)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            while True:
                try:
                    item = self._queue.get(timeout=0.2)
                except queue.Empty:
                    self._check_cancel()  # raises when the run was cancelled
                    continue
                if item is self._END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._stopped.set()

    def stop(self, timeout: float = 30) -> None:
        """Stop reading and wait for the thread (the watcher interrupts a blocked read)."""
        self._stopped.set()
        self._thread.join(timeout)
