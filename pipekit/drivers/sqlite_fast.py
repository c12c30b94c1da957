"""The fast SQLite read path: ADBC's SQLite driver builds Arrow batches in C.

The standard library's ``sqlite3`` makes a Python object of every value, which
caps a read near 350,000 rows/s before any conversion. ADBC reads into Arrow
directly, but it types each column from the storage classes of the first batch
(an all-NULL column becomes int64; ints and reals become double; text mixed
with reals turns the reals into 7-digit ``%e`` text) and fails later batches
that differ. So the query is wrapped in one that gives every output column a
single storage class, chosen from the column's declared type::

    SELECT 0, 0.0, '', ...                  -- sentinel row: fixes every column's type
    UNION ALL
    SELECT c1, c2, CASE typeof(c3) ... END  -- one carrier per class where needed
    FROM (<query>) AS pipekit_src

and the carriers are turned into the declared Arrow types with pyarrow compute,
with the same results as the ``sqlite3`` path (``str()`` of a Python float and
Arrow's float-to-text cast give the same shortest digits; decimals, dates and
timestamps are parsed from the same text). A value of a storage class its
column cannot hold is an error naming the column, as before.

ADBC links its own copy of SQLite. Two copies of SQLite in one process do not
see each other's POSIX locks, so this path is used only while no other Pipekit
connection of this process has the file open, and Pipekit writers to the file
wait for its fast reads to finish (``FileUse``). ADBC's SQLite cannot interrupt
a running statement either: a cancelled fast read stops at its next batch.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipekit.drivers import types as T
from pipekit.errors import TerminalDatabaseError, TransientDatabaseError

#: ADBC batches are at most this many rows, whatever the caller allows: as fast as
#: 65,536 on lineitem, and 40 MB less peak RSS (batches in flight, each also
#: held once as carriers and once converted)
MAX_BATCH_ROWS = 16_384
#: the storage-class carriers of one output column, with their sentinel literal and
#: the Arrow type ADBC gives a column whose values are all of that class
_SENTINEL = {"integer": "0", "real": "0.0", "text": "''", "blob": "x''"}
_ADBC_TYPE = {"integer": pa.int64(), "real": pa.float64(), "text": pa.string(), "blob": pa.binary()}
_SPLIT = ("integer", "real", "text", "blob")
_INT_KEYS = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32"}
_FLOAT_KEYS = {"halffloat", "float", "double"}
#: integers up to 10**15 are exact as float64 (2**53 > 9e15)
_EXACT_DOUBLE_DIGITS = 15
_MISMATCH = re.compile(r"Type mismatch in column (\d+): expected (\w+) but got ([\w/]+)")


def affinity(declared: str) -> str:
    """SQLite's column affinity for a declared type (the rules of its section 3.1)."""
    d = declared.upper()
    if "INT" in d:
        return "integer"
    if any(s in d for s in ("CHAR", "CLOB", "TEXT")):
        return "text"
    if "BLOB" in d or not d:
        return "blob"
    if any(s in d for s in ("REAL", "FLOA", "DOUB")):
        return "real"
    return "numeric"


@dataclass(frozen=True)
class ColumnPlan:
    """How one result column travels: its carriers and its Arrow type.

    `carrier` is one storage class (the column holds only that class, by its
    affinity or declared meaning), ``bool`` (Python truthiness, computed in SQL),
    or ``split`` (one carrier per storage class, for columns that may mix them).
    `target` is None for a column without a declared type: typed from the first batch.
    """

    name: str
    declared: str
    target: pa.DataType | None
    carrier: str

    def exprs(self, ref: str) -> list[tuple[str, str]]:
        """(SQL expression, sentinel literal) of each carrier of this column."""
        if self.carrier == "bool":
            # Python's bool() of what sqlite3 returns: 0, 0.0, '' and x'' are false
            expr = (
                f"CASE typeof({ref}) WHEN 'null' THEN NULL WHEN 'text' THEN length({ref}) > 0 "
                f"WHEN 'blob' THEN length({ref}) > 0 ELSE {ref} <> 0 END"
            )
            return [(expr, "0")]
        if self.carrier == "split":
            return [(f"CASE typeof({ref}) WHEN '{c}' THEN {ref} END", _SENTINEL[c]) for c in _SPLIT]
        return [(ref, _SENTINEL[self.carrier])]

    @property
    def width(self) -> int:
        return len(_SPLIT) if self.carrier == "split" else 1


_DECIMALS = (pa.Decimal32Type, pa.Decimal64Type, pa.Decimal128Type, pa.Decimal256Type)


def plan_column(name: str, declared: str, target: pa.DataType | None) -> ColumnPlan:
    """The carriers of a column of declared type `declared` read as `target`."""
    if target is None:
        return ColumnPlan(name, declared, None, "split")
    key = T.type_key(target)
    aff = affinity(declared)
    if key in _INT_KEYS:
        carrier = "integer"  # INTEGER affinity: a real or text here is an error, as before
    elif key in _FLOAT_KEYS:
        carrier = "real"
    elif key == "bool":
        carrier = "bool"
    elif key == "decimal":
        assert isinstance(target, _DECIMALS)  # what type_key calls "decimal"
        whole = target.precision - target.scale
        if aff == "text":
            carrier = "text"  # DECIMAL_TEXT: every digit kept as text
        elif aff in ("numeric", "real") and whole <= _EXACT_DOUBLE_DIGITS:
            carrier = "real"  # ints and reals; every int it can hold is exact as a double
        else:
            carrier = "split"
    elif key == "string":
        carrier = "text" if aff == "text" else "split"
    elif key in ("date", "time", "timestamp", "timestamptz", "uuid", "json"):
        carrier = "text"  # ISO text; a number here fails to parse, as before
    else:
        carrier = "split"  # binary, and anything else: each class kept apart
    return ColumnPlan(name, declared, target, carrier)


def wrap_sql(sql: str, plans: Sequence[ColumnPlan], quote: Callable[[str], str]) -> str:
    """The query with a sentinel row first and every column in its carriers."""
    sentinels, exprs = [], []
    for p in plans:
        for expr, sentinel in p.exprs(f"pipekit_src.{quote(p.name)}"):
            exprs.append(expr)
            sentinels.append(sentinel)
    body = sql.strip().rstrip(";")
    return (
        f"SELECT {', '.join(sentinels)} UNION ALL "
        f"SELECT {', '.join(exprs)} FROM ({body}\n) AS pipekit_src"
    )


# -- carriers -> Arrow ------------------------------------------------------------


class BadValue(Exception):
    """A value a column cannot hold; the reader turns it into a TerminalDatabaseError."""


def _non_null(arr: pa.Array) -> bool:
    return arr.null_count < len(arr)


def _first_value(arr: pa.Array) -> Any:
    return pc.filter(arr, pc.is_valid(arr))[0].as_py()


def _bad_class(plan: ColumnPlan, target: pa.DataType, cls: str, arr: pa.Array) -> BadValue:
    what = "no declared type" if not plan.declared else f"declared type {plan.declared}"
    return BadValue(
        f"column {plan.name!r} ({what}) holds the {cls} value {_first_value(arr)!r}, which "
        f"cannot be read as {target}"
        + ("" if plan.declared else " (the type of its first rows)")
        + "; CAST it in the query or fix the value"
    )


def _python_text(text: pa.Array, reals: pa.Array, blobs: pa.Array) -> pa.Array:
    """Text of every value as ``str()`` of what sqlite3 returns (reals as Python
    repr, blobs as ``b'...'``): per value, for the rows that need it only."""
    values = text.to_pylist()
    for carrier in (reals, blobs):
        if _non_null(carrier):
            for i, v in enumerate(carrier.to_pylist()):
                if v is not None:
                    values[i] = str(v)
    return pa.array(values, pa.string())


def _split_text(i: pa.Array, r: pa.Array, t: pa.Array, b: pa.Array) -> pa.Array:
    text = pc.coalesce(t, pc.cast(i, pa.string()))
    if _non_null(r) or _non_null(b):
        return _python_text(text, r, b)
    return text


def _from_text(text: pa.Array, target: pa.DataType) -> pa.Array:
    """ISO or decimal text -> `target`, parsed as the sqlite3 path parses it."""
    key = T.type_key(target)
    if key == "string":
        text.validate(full=True)  # text that is not UTF-8 is an error, as with sqlite3
        return text
    if key == "time":
        return T.strings_to_time(text)
    if key == "uuid":
        raw = [None if v is None else uuid.UUID(v).bytes for v in text.to_pylist()]
        return pa.ExtensionArray.from_storage(T.UUID, pa.array(raw, pa.binary(16)))
    if key == "json":
        text.validate(full=True)
        return pa.ExtensionArray.from_storage(T.JSON, text)
    return pc.cast(text, target)


def infer_type(carriers: Sequence[pa.Array]) -> pa.DataType:
    """The type of a column without a declared type, from its first batch's
    storage classes (as the sqlite3 path: ints, ints and reals, blobs, else text)."""
    classes = {c for c, arr in zip(_SPLIT, carriers, strict=True) if _non_null(arr)}
    if not classes:
        return pa.string()
    if classes == {"integer"}:
        return pa.int64()
    if classes <= {"integer", "real"}:
        return pa.float64()
    if classes == {"blob"}:
        return pa.binary()
    return pa.string()


def convert(plan: ColumnPlan, target: pa.DataType, carriers: Sequence[pa.Array]) -> pa.Array:
    """One column's carriers of one batch -> an Arrow array of `target`."""
    key = T.type_key(target)
    if plan.carrier != "split":
        (arr,) = carriers
        if plan.carrier == "bool":
            return pc.cast(arr, pa.bool_())
        if plan.carrier == "real" and key == "decimal":
            # Arrow's float-to-text gives the shortest digits, as Python's str(float)
            return pc.cast(pc.cast(arr, pa.string()), target)
        if plan.carrier == "text":
            return _from_text(arr, target)
        return pc.cast(arr, target)
    i, r, t, b = carriers
    allowed = {
        "int64": ("integer",),
        "double": ("integer", "real"),
        "decimal": ("integer", "real", "text"),
        "binary": ("text", "blob"),
        "string": _SPLIT,
    }.get(key, ("text",))
    for cls, arr in zip(_SPLIT, carriers, strict=True):
        if cls not in allowed and _non_null(arr):
            raise _bad_class(plan, target, cls, arr)
    if key == "int64":
        return i
    if key == "double":
        # a safe cast refuses an int a double cannot hold exactly, as pa.array() did
        return pc.coalesce(pc.cast(i, pa.float64()), r)
    if key == "binary":
        return pc.coalesce(b, pc.cast(t, pa.binary()))
    if key == "decimal":
        text = pc.coalesce(t, pc.cast(i, pa.string()), pc.cast(r, pa.string()))
        return pc.cast(text, target)
    return _from_text(_split_text(i, r, t, b), target)


def targets(
    plans: Sequence[ColumnPlan], got: pa.Schema, first: pa.RecordBatch
) -> list[pa.DataType]:
    """The Arrow type of each column; checks that ADBC typed each carrier as planned
    (a column holding another storage class in the first batch gets widened)."""
    out, at = [], 0
    for p in plans:
        carriers = first.columns[at : at + p.width]
        if p.carrier in _ADBC_TYPE and got.field(at).type != _ADBC_TYPE[p.carrier]:
            raise BadValue(
                f"column {p.name!r} ({p.declared}) holds values of more than one storage "
                f"class where only {p.carrier} fits its type {p.target}; CAST it in the "
                "query or fix the values"
            )
        at += p.width
        out.append(p.target if p.target is not None else infer_type(carriers))
    return out


def to_batch(
    plans: Sequence[ColumnPlan],
    targets: Sequence[pa.DataType],
    schema: pa.Schema,
    batch: pa.RecordBatch,
) -> pa.RecordBatch:
    """One batch of carriers as `schema`."""
    arrays, at = [], 0
    for p, target in zip(plans, targets, strict=True):
        carriers = batch.columns[at : at + p.width]
        at += p.width
        try:
            arrays.append(convert(p, target, carriers))
        except pa.ArrowException as exc:
            raise BadValue(
                f"column {p.name!r} ({p.declared or 'no declared type'}) cannot be read as "
                f"{target}: {exc}"
            ) from None
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


class Batches:
    """The converted batches of one fast read.

    An iterator object rather than a generator: a generator that was never
    started does not run its ``finally`` when dropped, and a reader that is only
    probed for its schema would keep its file marked as being read. This one lets
    go of its resources (`stack`) when it ends, fails, or is dropped.
    """

    def __init__(
        self,
        stack: ExitStack,
        first: pa.RecordBatch,
        source: pa.RecordBatchReader,
        to_batch: Callable[[pa.RecordBatch], pa.RecordBatch],
        *,
        stop: threading.Event,
        failed: tuple[type[BaseException], ...],
        error: Callable[[BaseException], BaseException],
    ) -> None:
        self._stack = stack
        self._first: pa.RecordBatch | None = first
        self._source = source
        self._to_batch = to_batch
        self._stop = stop
        self._caught: tuple[type[BaseException], ...] = (*failed, BadValue)  # end the read
        self._error = error
        self._done = False

    def __iter__(self) -> Batches:
        return self

    def __next__(self) -> pa.RecordBatch:
        if self._done:
            raise StopIteration
        try:
            while True:
                if self._first is not None:
                    batch, self._first = self._first, None
                else:
                    if self._stop.is_set():
                        raise BadValue("interrupted")
                    batch = self._source.read_next_batch()
                if batch.num_rows:
                    return self._to_batch(batch)
        except StopIteration:
            self.close()
            raise
        except self._caught as exc:
            self.close()
            raise self._error(exc) from None
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._done = True
        self._first = None
        self._stack.close()

    def __del__(self) -> None:
        self.close()


# -- one process, two copies of SQLite ----------------------------------------------


class FileUse:
    """Which SQLite files this process has open through Pipekit, and which are
    being read on the fast path. See the module docstring for why."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._open: defaultdict[str, int] = defaultdict(int)
        self._fast: defaultdict[str, int] = defaultdict(int)

    def opened(self, path: str) -> None:
        with self._cond:
            self._open[path] += 1

    def closed(self, path: str) -> None:
        with self._cond:
            self._open[path] -= 1
            if self._open[path] <= 0:
                del self._open[path]

    @contextmanager
    def fast_read(self, path: str) -> Iterator[bool]:
        """Yields whether the fast path may read `path` (no other connection on it)."""
        with self._cond:
            ok = self._open.get(path, 0) <= 1
            if ok:
                self._fast[path] += 1
        try:
            yield ok
        finally:
            if ok:
                with self._cond:
                    self._fast[path] -= 1
                    if self._fast[path] <= 0:
                        del self._fast[path]
                    self._cond.notify_all()

    def reading(self, path: str) -> bool:
        with self._cond:
            return self._fast.get(path, 0) > 0

    def wait_idle(self, path: str, timeout: float) -> bool:
        """Wait until no fast read of `path` is running; False after `timeout` seconds."""
        with self._cond:
            return self._cond.wait_for(lambda: self._fast.get(path, 0) == 0, timeout)


FILES = FileUse()


def describe_error(exc: BaseException, plans: Sequence[ColumnPlan]) -> str:
    """ADBC's words, with its carrier column number turned into the column's name."""
    text = " ".join(str(exc).split())
    m = _MISMATCH.search(text)
    if not m:
        return text
    index, seen = int(m.group(1)), 0
    for p in plans:
        if index < seen + p.width:
            declared = p.declared or "no declared type"
            return (
                f"column {p.name!r} ({declared}) holds {m.group(3).lower()} values after "
                f"{m.group(2).lower()} ones; CAST it in the query to one type ({text})"
            )
        seen += p.width
    return text


def database_error(
    message: str, reason: str, *, transient: bool
) -> TerminalDatabaseError | TransientDatabaseError:
    cls = TransientDatabaseError if transient else TerminalDatabaseError
    return cls(message, reason=reason)
