"""The contract every connector must keep, as plain checks.

``run_checks(connector, workdir)`` runs each check and returns what happened;
``pipekit connector test NAME`` prints it, and ``contract_tests.py`` turns the
same checks into pytest tests for a connector's own test file. A check is
skipped, not failed, when the connector does not declare the capability it
concerns. Reads stop after a few batches, so a check on a large source stays short.
"""

from __future__ import annotations

import asyncio
import itertools
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from pipekit.connectors.protocol import (
    SAFE_NAME,
    Cap,
    ReadOptions,
    RemoteAttachInfo,
    TableInfo,
    capabilities_of,
    require,
)

__all__ = ["CHECKS", "CheckResult", "ContractSkip", "run_check", "run_checks"]

#: batches read per table by a check, and the batch size asked for
SAMPLE_BATCHES = 3
SAMPLE_BATCH_SIZE = 10


class ContractSkip(Exception):
    """The check does not apply to this connector (a capability it does not declare)."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    outcome: Literal["passed", "failed", "skipped"]
    detail: str = ""


@dataclass
class Subject:
    """What the checks look at: the connector, its manifest, a scratch folder."""

    connector: Any
    workdir: Path
    manifest_caps: Cap | None = None
    #: the tables to use when the connector cannot discover them
    tables: Sequence[str] | None = None

    def caps(self) -> Cap:
        return capabilities_of(self.connector)

    def discovered(self) -> list[TableInfo]:
        if Cap.DISCOVER not in self.caps():
            return []
        return list(self.connector.discover())

    def readable(self) -> list[TableInfo]:
        if Cap.READ not in self.caps():
            raise ContractSkip("the connector does not declare READ")
        tables = [t for t in self.discovered() if Cap.READ in t.capabilities]
        if not tables:
            raise ContractSkip("no table with READ was discovered")
        return tables


def _fail(message: str) -> AssertionError:
    return AssertionError(message)


def check_capabilities(s: Subject) -> None:
    """`capabilities` is a non-empty Cap, every declared capability has its method, and
    the manifest (when there is one) declares the same."""
    caps = s.caps()
    if not caps:
        raise _fail("capabilities is empty: declare at least one, e.g. Cap.DISCOVER | Cap.READ")
    for cap in (Cap.DISCOVER, Cap.READ, Cap.STREAM, Cap.REMOTE):
        if cap in caps:
            require(s.connector, cap)
    if s.manifest_caps is not None and s.manifest_caps != caps:
        raise _fail(
            f"the connector declares [{', '.join(caps.names)}], its manifest "
            f"[{', '.join(s.manifest_caps.names)}]"
        )


def check_discover(s: Subject) -> None:
    """discover() returns at least one TableInfo; names valid and unique; Arrow schemas;
    table capabilities a non-empty subset of the connector's; keys are columns."""
    caps = s.caps()
    if Cap.DISCOVER not in caps:
        raise ContractSkip("the connector does not declare DISCOVER")
    tables = s.discovered()
    if not tables:
        raise _fail("discover() returned no table")
    names = [getattr(t, "name", None) for t in tables]
    if len(set(names)) != len(names):
        raise _fail(f"discover() returned a table name twice: {names}")
    for t in tables:
        if not isinstance(t, TableInfo):
            raise _fail(f"discover() returned a {type(t).__name__}, not a TableInfo")
        if not SAFE_NAME.match(t.name):
            raise _fail(f"table name {t.name!r} must match {SAFE_NAME.pattern}")
        if not isinstance(t.schema, pa.Schema):
            raise _fail(f"{t.name}: schema must be a pyarrow.Schema")
        if not isinstance(t.capabilities, Cap) or not t.capabilities:
            raise _fail(f"{t.name}: declare the table's capabilities (e.g. Cap.READ)")
        if t.capabilities & ~caps:
            extra = (t.capabilities & ~caps).names
            raise _fail(f"{t.name}: capabilities {extra} are not the connector's")
        for col in [*(t.primary_key or []), *([t.incremental_key] if t.incremental_key else [])]:
            if col not in t.schema.names:
                raise _fail(f"{t.name}: key column {col!r} is not in the schema")


def check_read(s: Subject) -> None:
    """read() yields RecordBatches with the declared schema, of about batch_size rows."""
    for t in s.readable():
        options = ReadOptions(batch_size=SAMPLE_BATCH_SIZE)
        for batch in itertools.islice(s.connector.read(t.name, options), SAMPLE_BATCHES):
            if not isinstance(batch, pa.RecordBatch):
                raise _fail(f"{t.name}: read() yielded a {type(batch).__name__}")
            if not batch.schema.equals(t.schema, check_metadata=False):
                raise _fail(f"{t.name}: batch schema {batch.schema} is not the declared {t.schema}")
            if batch.num_rows > 2 * SAMPLE_BATCH_SIZE:
                raise _fail(
                    f"{t.name}: a batch has {batch.num_rows} rows for batch_size "
                    f"{SAMPLE_BATCH_SIZE}; yield batches of about batch_size rows"
                )


def check_incremental(s: Subject) -> None:
    """With incremental_value set, read() yields only rows past it."""
    tables = [t for t in s.readable() if t.incremental_key]
    if not tables:
        raise ContractSkip("no table declares an incremental_key")
    for t in tables:
        key = t.incremental_key
        assert key is not None
        first = next(
            iter(s.connector.read(t.name, ReadOptions(batch_size=SAMPLE_BATCH_SIZE))), None
        )
        if first is None or first.num_rows == 0:
            continue  # an empty table: nothing to resume from
        value = pc.min(first.column(key))
        options = ReadOptions(
            batch_size=SAMPLE_BATCH_SIZE,
            incremental_key=key,
            incremental_value=_text(value.as_py()),
            incremental_op=">",
        )
        for batch in itertools.islice(s.connector.read(t.name, options), SAMPLE_BATCHES):
            if batch.num_rows and pc.any(pc.less_equal(batch.column(key), value)).as_py():
                raise _fail(
                    f"{t.name}: with incremental_value {options.incremental_value!r} "
                    f"read() still yields rows whose {key} is not past it"
                )


def _text(value: Any) -> str:
    from pipekit.connectors.parquet_files import render_value

    return render_value(value)


def check_extract(s: Subject) -> None:
    """The runtime extracts the connector into Parquet and extract.duckdb with no failure."""
    import duckdb

    from pipekit.connectors.runtime import ConnectorRuntime

    caps = s.caps()
    if Cap.DISCOVER not in caps and not s.tables:
        raise ContractSkip("the connector cannot discover its tables and none were named")
    out = s.workdir / "contract_extract"
    stats = ConnectorRuntime(out, lock_timeout_s=0).run(
        s.connector, list(s.tables) if s.tables else None, batch_size=SAMPLE_BATCH_SIZE
    )
    if stats.tables_failed or stats.errors:
        raise _fail("extract failed: " + "; ".join(stats.errors))
    con = duckdb.connect(str(out / "extract.duckdb"), read_only=True)
    try:
        meta = con.execute("SELECT table_name, query_mode FROM _meta").fetchall()
        if Cap.READ in caps and not meta:
            raise _fail("extract.duckdb has no table in _meta")
        if Cap.REMOTE in caps and not con.execute("SELECT * FROM _remote_attach").fetchall():
            raise _fail("extract.duckdb has no row in _remote_attach")
        for name, mode in meta:
            if mode == "local":
                con.execute(f'SELECT count(*) FROM "{name}"').fetchone()
    finally:
        con.close()


def check_stream(s: Subject) -> None:
    """stream(table) returns an async iterator (not consumed: it may wait for events)."""
    if Cap.STREAM not in s.caps():
        raise ContractSkip("the connector does not declare STREAM")
    tables = [t.name for t in s.discovered() if Cap.STREAM in t.capabilities] or list(
        s.tables or []
    )
    if not tables:
        raise ContractSkip("no table with STREAM was discovered or named")
    it = s.connector.stream(tables[0])
    if not hasattr(it, "__anext__"):
        raise _fail(f"stream() returned a {type(it).__name__}, not an async iterator")
    closer = getattr(it, "aclose", None)
    if closer is not None:
        asyncio.run(closer())


def check_remote(s: Subject) -> None:
    """remote() names an extension and a URL, and an env-var name, never a token."""
    if Cap.REMOTE not in s.caps():
        raise ContractSkip("the connector does not declare REMOTE")
    info = s.connector.remote()
    if not isinstance(info, RemoteAttachInfo):
        raise _fail(f"remote() returned a {type(info).__name__}, not a RemoteAttachInfo")
    if not info.url:
        raise _fail("remote(): url is empty")
    info.check()


CHECKS: dict[str, Callable[[Subject], None]] = {
    "capabilities": check_capabilities,
    "discover": check_discover,
    "read": check_read,
    "incremental": check_incremental,
    "extract": check_extract,
    "stream": check_stream,
    "remote": check_remote,
}


def run_check(name: str, subject: Subject) -> CheckResult:
    """Run one check; an exception other than a skip is a failure, with its message."""
    try:
        CHECKS[name](subject)
    except ContractSkip as exc:
        return CheckResult(name, "skipped", str(exc))
    except AssertionError as exc:
        return CheckResult(name, "failed", str(exc))
    except Exception as exc:  # the connector's own failure, reported as the check's
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return CheckResult(
            name,
            "failed",
            f"{type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})",
        )
    return CheckResult(name, "passed")


def run_checks(
    connector: object,
    workdir: Path,
    *,
    manifest_caps: Cap | None = None,
    tables: Sequence[str] | None = None,
) -> list[CheckResult]:
    """Every check against `connector`, in order; `workdir` receives a scratch extract."""
    subject = Subject(connector, Path(workdir), manifest_caps, tables)
    return [run_check(name, subject) for name in CHECKS]
