"""An extract folder's state between runs, and the lock its writers share.

``OUT/.pipekit/state.json`` keeps, per table: the incremental key and the
largest value of it landed so far, the schema as landed (to tell the next run
what changed), rows, description and when it was last extracted; and the
connector's remote-attach info. It is written whole to a temporary file and
moved into place with ``os.replace``, so a crash leaves the old state or the
new one, never half of each.

``OUT/.pipekit/lock`` is taken by every writer of the folder (an extract run,
a stream append), so two of them never interleave their swaps.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipekit.errors import ConnectorError

__all__ = ["ExtractState", "TableState", "writer_lock"]

STATE_VERSION = 1


@dataclass
class TableState:
    """What the folder holds of one table."""

    incremental_key: str | None = None
    incremental_value: str | None = None
    schema: list[dict[str, Any]] | None = None  # schemas.schema_to_json of the landed data
    rows: int = 0
    description: str = ""
    query_mode: str = "local"  # "local": Parquet under data/; "remote": the extension
    last_extracted: str | None = None  # ISO 8601, UTC
    last_error: str | None = None  # the last run's failure, cleared by a success


@dataclass
class ExtractState:
    tables: dict[str, TableState] = field(default_factory=dict)
    remote: dict[str, str] | None = None  # RemoteAttachInfo as a dict

    @classmethod
    def load(cls, path: Path) -> ExtractState:
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            tables = {name: TableState(**t) for name, t in data.get("tables", {}).items()}
        except (ValueError, TypeError) as exc:
            raise ConnectorError(
                f"{path} is not a state file this version can read ({exc}); "
                "move it away to start the folder afresh (the next run is a full one)"
            ) from None
        return cls(tables=tables, remote=data.get("remote"))

    def save(self, path: Path) -> None:
        data = {
            "version": STATE_VERSION,
            "tables": {name: asdict(t) for name, t in sorted(self.tables.items())},
            "remote": self.remote,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".state-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2, default=str)
                f.write("\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


@contextmanager
def writer_lock(path: Path, timeout_s: float) -> Iterator[None]:
    """Hold the folder's writer lock; ConnectorError if another writer keeps it longer
    than `timeout_s` (0: do not wait)."""
    from filelock import FileLock, Timeout

    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), timeout=timeout_s)
    try:
        lock.acquire()
    except Timeout:
        raise ConnectorError(
            f"another extract or stream is writing to {path.parent.parent} "
            f"(lock {path} held for more than {timeout_s:g} s); try again when it ends"
        ) from None
    try:
        yield
    finally:
        lock.release()
