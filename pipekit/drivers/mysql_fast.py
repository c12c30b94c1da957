"""The fast MariaDB read path: result rows straight off PyMySQL's socket, split with numpy.

PyMySQL reads every row packet with two buffered reads and a ``Packet`` object,
and a row is then split into its values one length prefix at a time: about
8 µs of Python per 16-column row, which capped a read near 130,000 rows/s.
Here PyMySQL still connects, sends the query and reads the column definitions;
then the row packets of the unbuffered result are taken off its socket in 1 MiB
chunks, and per batch:

1. one Python loop finds where each row packet starts (one step per *row*, not
   per value) and stops at the end-of-rows or error packet;
2. the values are located *column by column*, vectorised over all rows of the
   batch: the first column's length prefix sits right after each packet header,
   the next column's right after the first's value, and so on;
3. each column becomes an Arrow ``binary_view`` array pointing into the batch's
   bytes (built with numpy, no copy of the values), which pyarrow casts in C to
   the column's type, exactly as the text protocol values were cast before.

The wire format (text protocol, ``CLIENT_DEPRECATE_EOF`` off as PyMySQL sets it):
each row is a packet ``len:3 seq:1 payload``; each value in the payload is a
length-encoded string (``<251``: one-byte length; ``0xFB``: NULL; ``0xFC``,
``0xFD``, ``0xFE``: 2-, 3- or 8-byte length follows); the rows end with an EOF
packet (``0xFE``, shorter than 9 bytes) or an error packet (``0xFF``). A row of
16 MiB or more arrives split over several packets and is read on its own.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pymysql
from pymysql.constants import FIELD_TYPE as F
from pymysql.protocol import MysqlPacket

from pipekit.drivers import types as T
from pipekit.errors import TerminalDatabaseError

CHUNK_BYTES = 1 << 20
#: a batch is cut early past this many bytes of rows: wide rows make smaller batches,
#: not more memory. 4 MiB (27,000 TPC-H lineitem rows) took a whole MariaDB-to-PostgreSQL
#: run's peak from 225-250 MB to 205 MB at the same speed as 32 MiB.
MAX_BATCH_BYTES = 4 << 20
MAX_PACKET = 0xFFFFFF  # a packet of this length continues in the next one
_PAD = bytes(16)  # lets 4- and 8-byte loads near the end stay inside the buffer
_HEADER = struct.Struct("<I")  # 3 bytes of length, 1 of sequence number
_CR_SERVER_LOST = 2013  # PyMySQL's (and libmysqlclient's) error codes
_CR_MALFORMED_PACKET = 2027
_UNSET = object()


class ProtocolError(pymysql.err.InternalError):
    """The server's bytes do not parse as a text-protocol result: the stream is unusable."""

    def __init__(self, what: str) -> None:
        super().__init__(_CR_MALFORMED_PACKET, f"Malformed packet: {what}")


@dataclass
class RawBatch:
    """Consecutive row packets: ``data`` holds them (and 16 bytes of padding);
    ``starts`` are the payload offsets, ``ends`` where each payload ends."""

    data: bytes | bytearray
    starts: np.ndarray
    ends: np.ndarray

    def __len__(self) -> int:
        return len(self.starts)


class RowStream:
    """The row packets of the unbuffered result PyMySQL has just started.

    Reads the connection's socket (through PyMySQL's buffered reader, which may
    already hold the first rows) and keeps PyMySQL's packet sequence number and
    result state as its own reader would, so the connection is usable afterwards.
    """

    def __init__(self, conn: pymysql.connections.Connection, result: Any) -> None:
        # Any: the stream reads and advances PyMySQL's private state (_rfile, _sock,
        # _next_seq_id, ...), which its published types do not declare.
        self.conn: Any = conn
        self.result = result
        self.done = not result.unbuffered_active
        self._buf = bytearray()
        self._big: bytes | None = None  # a row split over several packets, read next

    def next_batch(self, max_rows: int) -> RawBatch | None:
        """Up to `max_rows` complete rows, or None once the rows have ended."""
        if self._big is not None:
            payload, self._big = self._big, None
            return RawBatch(payload + _PAD, np.zeros(1, np.int64), np.array([len(payload)]))
        starts: list[int] = []
        append = starts.append
        buf, p, header = self._buf, 0, _HEADER.unpack_from
        while not self.done:
            n, scanned = len(buf), len(starts)
            last = n - 4  # where the last complete header can start
            # One step per packet, not per value: the hot loop of the read, kept bare.
            # It takes every complete packet as a row; the few that are not are found
            # below, all at once, and cut off with what follows them.
            for _ in range(max_rows - scanned):
                if p > last:
                    break
                q = p + 4 + (header(buf, p)[0] & 0xFFFFFF)
                if q > n:
                    break
                append(p)
                p = q
            special = _first_special(buf, starts, scanned)
            if special is None:
                if len(starts) >= max_rows or (starts and p >= MAX_BATCH_BYTES):
                    break
                self._fill()
                continue
            p = starts[special]
            del starts[special:]
            size = _size(buf, p)
            if starts and buf[p + 4] == 0xFF:
                # an error: raise it now, dropping the rows before it in this batch
                # (as PyMySQL's fetchmany did), so no partial batch precedes it
                self._take(starts, p)
                self._end(0, size)
            if starts:
                break  # hand out the rows before the end (or a long row) first
            if size == MAX_PACKET:
                self._big = self._read_split_row()
                return self.next_batch(max_rows)
            self._end(p, size)  # EOF, or an error packet that raises here
            p += 4 + size
        return self._take(starts, p)

    def drain(self) -> None:
        """Read and drop the remaining rows, up to the end or error packet (not raised)."""
        with contextlib.suppress(pymysql.err.MySQLError):
            while self.next_batch(1 << 16) is not None:
                pass

    # -- internals -----------------------------------------------------------

    def _take(self, starts: list[int], p: int) -> RawBatch | None:
        """The first `p` bytes, holding the row packets at `starts`, as a batch."""
        data, conn = self._buf, self.conn
        # the buffer becomes the batch's; only the bytes after `p` (a packet begun) move
        self._buf = data[p:]
        if not starts:
            return None
        del data[p:]
        data += _PAD
        a = np.frombuffer(data, np.uint8)
        offsets = np.array(starts, np.int64)
        # PyMySQL's check that no packet went missing, for all rows at once
        want = (conn._next_seq_id + np.arange(len(starts))) % 256
        seq = a[offsets + 3]
        if not np.array_equal(seq, want):
            bad = int(np.argmax(seq != want))
            self._lost(f"packet sequence number wrong: got {seq[bad]}, expected {want[bad]}")
        conn._next_seq_id = (conn._next_seq_id + len(starts)) % 256
        sizes = a[offsets].astype(np.int64)
        sizes |= a[offsets + 1].astype(np.int64) << 8
        sizes |= a[offsets + 2].astype(np.int64) << 16
        return RawBatch(data, offsets + 4, offsets + 4 + sizes)

    def _end(self, p: int, size: int) -> None:
        """The packet after the rows: EOF ends the result, an error packet raises."""
        conn, buf, result = self.conn, self._buf, self.result
        if buf[p + 3] != conn._next_seq_id:
            if buf[p + 3] == 0:  # MariaDB's error packet as it shuts down or kills us
                self._lost("Lost connection to server during query", _CR_SERVER_LOST)
            self._lost("packet sequence number wrong at the end of the rows")
        conn._next_seq_id = (conn._next_seq_id + 1) % 256
        packet = MysqlPacket(bytes(buf[p + 4 : p + 4 + size]), conn.encoding)
        leftover = bytes(buf[p + 4 + size :])
        self.done = True
        result.unbuffered_active = False
        if leftover:  # another result follows (CALL): give its bytes back to PyMySQL
            conn._rfile = _Prefixed(leftover, conn._rfile)
            del buf[p + 4 + size :]
        if packet.is_error_packet():
            result.connection = None
            packet.raise_for_error()  # e.g. 1317 query execution was interrupted
        result._check_packet_is_eof(packet)  # warning count, more results
        result.connection, result.rows = None, None

    def _read_split_row(self) -> bytes:
        """A row of 16 MiB or more: its packets' payloads joined (rare; Python is fine)."""
        parts, buf, conn = [], self._buf, self.conn
        size = MAX_PACKET
        while size == MAX_PACKET:
            while len(buf) < 4 or len(buf) < 4 + _size(buf, 0):
                self._fill()
            size = _size(buf, 0)
            if buf[3] != conn._next_seq_id:
                self._lost("packet sequence number wrong in a long row")
            conn._next_seq_id = (conn._next_seq_id + 1) % 256
            parts.append(bytes(buf[4 : 4 + size]))
            del buf[: 4 + size]
        return b"".join(parts)

    def _fill(self) -> None:
        conn = self.conn
        if conn._rfile is None or conn._sock is None:  # closed meanwhile (another thread)
            self._lost("Lost connection to server during query", _CR_SERVER_LOST)
        # as PyMySQL's _read_packet: apply the read_timeout only when it changed
        timeout = conn._read_timeout
        if getattr(conn, "_current_timeout", _UNSET) != timeout:
            conn._sock.settimeout(timeout)
            conn._current_timeout = timeout
        try:
            chunk = conn._rfile.read1(CHUNK_BYTES)
        except OSError as exc:
            self._lost(f"Lost connection to server during query ({exc})", _CR_SERVER_LOST)
        if not chunk:
            self._lost("Lost connection to server during query", _CR_SERVER_LOST)
        self._buf += chunk

    def break_off(self) -> None:
        """The stream cannot be trusted any more: close the connection, as PyMySQL does."""
        self.done = True
        self.result.unbuffered_active = False
        self.conn._force_close()

    def _lost(self, message: str, code: int = _CR_MALFORMED_PACKET) -> NoReturn:
        self.break_off()
        raise pymysql.err.OperationalError(code, message)


class _Prefixed:
    """A reader that returns `head` first, then reads on from `rest` (bytes read too far)."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self._head, self._rest = head, rest

    def read(self, n: int = -1) -> bytes:
        out = self._take(n)
        if n < 0:
            return out + self._rest.read()
        return out + self._rest.read(n - len(out)) if len(out) < n else out

    def read1(self, n: int = -1) -> bytes:
        return self._take(n) or self._rest.read1(n)

    def _take(self, n: int) -> bytes:
        out = self._head if n < 0 else self._head[:n]
        self._head = self._head[len(out) :]
        return out

    def close(self) -> None:
        self._rest.close()


def _size(buf: bytearray, p: int) -> int:
    return buf[p] | buf[p + 1] << 8 | buf[p + 2] << 16


def _first_special(buf: bytearray, starts: list[int], since: int) -> int | None:
    """Index of the first packet from `since` on that is not a plain row, if any:
    an EOF (0xFE, under 9 bytes) or error (0xFF) packet, or the first of a split row."""
    if len(starts) == since:
        return None
    at = np.array(starts[since:], np.int64)
    b = np.frombuffer(buf, np.uint8)
    head = b[at + 4]
    size = b[at].astype(np.int64) | b[at + 1].astype(np.int64) << 8
    size |= b[at + 2].astype(np.int64) << 16
    del b  # releases the buffer, which must stay resizable
    special = (size == MAX_PACKET) | (head == 0xFF) | ((head == 0xFE) & (size < 9))
    return since + int(np.argmax(special)) if special.any() else None


# -- splitting rows into columns ----------------------------------------------

_WIDTH = np.zeros(256, np.int64)
_WIDTH[[0xFC, 0xFD, 0xFE]] = (2, 3, 8)  # bytes of length after a 0xFC/0xFD/0xFE prefix


@dataclass
class Values:
    """One column of a batch: where each value starts and how long it is; NULLs masked."""

    starts: np.ndarray
    lengths: np.ndarray
    valid: np.ndarray | None  # None: no NULLs


def split_columns(batch: RawBatch, ncols: int) -> Iterator[Values]:
    """Locate every value of every row, one vectorised step per column.

    A generator, so each column's arrays can be dropped before the next is located.
    """
    a = np.frombuffer(batch.data, np.uint8)
    limit = len(a) - len(_PAD)
    pos = batch.starts
    for _ in range(ncols):
        if len(pos) and int(pos.max()) >= limit:
            raise ProtocolError("a row has fewer values than the result has columns")
        prefix = a[pos]
        starts = pos + 1
        lengths = prefix.astype(np.int64)
        valid = None
        long = np.flatnonzero(prefix >= 0xFB)
        if len(long):
            p = pos[long]
            kind = prefix[long]
            if (kind == 0xFF).any():
                raise ProtocolError("0xFF as a length prefix")
            width = _WIDTH[kind]
            n = np.zeros(len(long), np.int64)
            for k in range(8):  # little-endian length of 2, 3 or 8 bytes
                has = width > k
                if not has.any():
                    break
                n[has] |= a[p[has] + 1 + k].astype(np.int64) << (8 * k)
            lengths[long] = n
            starts[long] += width
            null = long[kind == 0xFB]
            if len(null):
                valid = np.ones(len(pos), np.bool_)
                valid[null] = False
        del prefix, long
        pos = starts + lengths
        yield Values(starts, lengths, valid)
    if not np.array_equal(pos, batch.ends):
        raise ProtocolError("the values of a row do not fill its packet exactly")


# by length (13: longer): the bits of the first 4 bytes, and of the next 8, that are value
_MASK_LO = np.array([(1 << (8 * min(n, 4))) - 1 for n in range(14)], np.uint32)
_MASK_HI = np.array([(1 << (8 * min(max(n - 4, 0), 8))) - 1 for n in range(14)], np.uint64)


def binary_view(data: bytes | bytearray, v: Values) -> pa.Array:
    """The values as an Arrow binary_view array over `data`, without copying them.

    A view is four 32-bit words: the length, then either the value itself (up to 12
    bytes, zero-padded) or its first 4 bytes, buffer 0 and its offset.
    """
    a = np.frombuffer(data, np.uint8)
    n, starts, lengths = len(v.starts), v.starts, v.lengths
    longest = int(lengths.max()) if n else 0
    # every position as the start of a little-endian 4- or 8-byte word (unaligned loads)
    word4 = np.ndarray((len(a) - 3,), "<u4", a, 0, (1,))
    short = np.minimum(lengths, 13)
    views = np.empty((n, 4), np.uint32)
    views[:, 0] = lengths
    views[:, 1] = word4[starts]
    views[:, 1] &= _MASK_LO[short]
    tail = views.view(np.uint64)[:, 1]  # words 2 and 3
    if longest > 4:
        word8 = np.ndarray((len(a) - 7,), "<u8", a, 0, (1,))
        tail[:] = word8[starts + 4]
        tail &= _MASK_HI[short]
    else:
        tail[:] = 0
    if longest > 12:  # not inline: buffer 0, offset
        long = np.flatnonzero(lengths > 12)
        views[long, 2] = 0
        views[long, 3] = starts[long]
    validity = None if v.valid is None else pa.array(v.valid).buffers()[1]
    return pa.Array.from_buffers(
        pa.binary_view(),
        n,
        # numpy declares the buffer protocol (__buffer__) to type checkers from Python 3.12
        [validity, pa.py_buffer(views), pa.py_buffer(data)],  # type: ignore[arg-type]
    )


def big_endian_uints(data: bytes | bytearray, v: Values) -> pa.Array:
    """BIT values: raw big-endian bytes (the one binary value in the text protocol)."""
    a = np.frombuffer(data, np.uint8)
    out = np.zeros(len(v.starts), np.uint64)
    for k in range(int(v.lengths.max()) if len(out) else 0):
        has = v.lengths > k
        out[has] = out[has] << np.uint64(8) | a[v.starts[has] + k]
    return pa.array(out, pa.uint64(), mask=None if v.valid is None else ~v.valid)


def column_array(data: bytes | bytearray, v: Values, field: Any, typ: pa.DataType) -> pa.Array:
    """One column of a batch as an array of `typ`, parsed from the text protocol's bytes."""
    if field.type_code == F.BIT:
        return big_endian_uints(data, v).cast(typ)
    raw = binary_view(data, v)
    if pa.types.is_binary(typ):
        return raw.cast(pa.binary())
    try:
        if pa.types.is_integer(typ) or pa.types.is_decimal(typ) or pa.types.is_floating(typ):
            return raw.cast(typ)  # parsed straight from the bytes, as from text
        text = raw.cast(pa.string())  # checks the UTF-8
        if pa.types.is_string(typ):
            return text
        if T.is_json(typ):
            return pa.ExtensionArray.from_storage(typ, text)
        if pa.types.is_time(typ):
            # out-of-day TIME values (MariaDB TIME is an interval) fail here, loudly
            return T.strings_to_time(text)
        if pa.types.is_timestamp(typ) or pa.types.is_date(typ):
            return _temporal(text, typ)
        return pc.cast(text, typ)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise TerminalDatabaseError(
            f"column {field.name!r}: a value cannot be read as {typ} ({exc}); "
            "CAST the column to CHAR in the query to read it as text"
        ) from None


def _temporal(text: pa.Array, typ: pa.DataType) -> pa.Array:
    naive = pa.timestamp(typ.unit) if pa.types.is_timestamp(typ) else typ
    try:
        out = pc.cast(text, naive)
    except pa.ArrowInvalid:
        # Legacy zero dates ('0000-00-00') mean "no date": read them as NULL, as
        # Connector/J's zeroDateTimeBehavior=convertToNull does. Anything else still fails.
        zero = pc.starts_with(text, "0000-00-00")
        # pyarrow-stubs 20 picks if_else's all-scalar overload for (array, scalar, array)
        out = pc.cast(pc.if_else(zero, pa.scalar(None, pa.string()), text), naive)  # type: ignore[assignment]
    return out.cast(typ)  # naive -> UTC relabels: the session zone is UTC


def record_batch(
    raw: RawBatch, fields: Sequence[Any], types: Sequence[pa.DataType], schema: pa.Schema
) -> pa.RecordBatch:
    """A batch of row packets as a RecordBatch of `schema`."""
    columns = split_columns(raw, len(fields))
    arrays = [
        column_array(raw.data, next(columns), f, t) for f, t in zip(fields, types, strict=True)
    ]
    next(columns, None)  # runs its last check: each row ends where its packet does
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
