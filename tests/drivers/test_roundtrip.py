"""Every type, with NULLs and edge values, from each kind to each kind (16 pairs), and
from the JDBC kinds (PostgreSQL's jar, HSQLDB) to each kind.

The source table is written with the source driver's bulk loader, read back with
``read``, landed with the destination's ``create_table`` + ``load``, read again,
and compared value by value with what went in. Where a database cannot hold a
type (MariaDB has no zone-carrying timestamp, and its UUID/JSON columns read as
text), the comparison applies exactly that documented degradation and no other.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import pyarrow as pa
import pytest

from pipekit.drivers import types as T
from pipekit.drivers.base import Driver
from tests.helpers import JDBC_SOURCE_KINDS, KINDS, open_driver

D = decimal.Decimal
UTC = dt.UTC

COLUMNS: list[tuple[str, pa.DataType, list[Any]]] = [
    ("id", pa.int64(), [1, 2, 3, 4, 5]),
    ("i8", pa.int8(), [-128, 127, 0, 1, None]),
    ("i16", pa.int16(), [-32768, 32767, 0, -1, None]),
    ("i32", pa.int32(), [-(2**31), 2**31 - 1, 0, 7, None]),
    ("i64", pa.int64(), [-(2**63), 2**63 - 1, 0, 42, None]),
    (
        "dec",
        pa.decimal128(38, 10),
        [
            D("1234567890123456789012345678.1234567890"),
            D("-0.0000000001"),
            D("0E-10"),
            D("-9999999999999999999999999999.9999999999"),
            None,
        ],
    ),
    ("f32", pa.float32(), [1.5, -0.25, 16777216.0, 0.0, None]),
    ("f64", pa.float64(), [0.1, -1e300, 2.2250738585072014e-308, 1 / 3, None]),
    (
        "txt",
        pa.string(),
        ["plain", "quote ' \" and \\ back\\slash", "unicode é 漢字 🚀", "tab\tnew\nline\r", None],
    ),
    ("flag", pa.bool_(), [True, False, True, False, None]),
    (
        "d",
        pa.date32(),
        [
            dt.date(1000, 1, 1),
            dt.date(9999, 12, 31),
            dt.date(2024, 2, 29),
            dt.date(1970, 1, 1),
            None,
        ],
    ),
    (
        "t",
        pa.time64("us"),
        [dt.time(0, 0), dt.time(23, 59, 59, 999999), dt.time(12, 34, 56, 123456), dt.time(1), None],
    ),
    (
        "ts",
        pa.timestamp("us"),
        [
            dt.datetime(1000, 1, 1),
            dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
            dt.datetime(2024, 2, 29, 12, 0, 0, 1),
            dt.datetime(1970, 1, 1),
            None,
        ],
    ),
    (
        "tstz",
        pa.timestamp("us", tz="UTC"),
        [
            dt.datetime(2024, 6, 1, 12, 0, 0, 123456, tzinfo=UTC),
            dt.datetime(1970, 1, 1, tzinfo=UTC),
            dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            dt.datetime(1000, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
            None,
        ],
    ),
    ("bin", pa.binary(), [b"\x00\xff\x00", b"", b"\\\t\n\r'\"", bytes(range(256)), None]),
    (
        "u",
        T.UUID,
        [
            uuid.UUID("123e4567-e89b-12d3-a456-426614174000").bytes,
            uuid.UUID(int=0).bytes,
            uuid.UUID(int=2**128 - 1).bytes,
            uuid.uuid5(uuid.NAMESPACE_DNS, "pipekit").bytes,
            None,
        ],
    ),
    ("j", T.JSON, ['{"a": [1, 2.5, "x"], "b": null}', "[]", '"str"', '{"q": "it\'s"}', None]),
]
NUL_COLUMN = ("txt_nul", pa.string(), ["a\x00b", "\x00", "", "x", None])

# What each kind cannot hold exactly, by Arrow type key -> what it becomes.
DEGRADES = {
    "mysql": {"uuid": "string", "json": "string", "timestamptz": "timestamp"},
    # JDBC reports json as OTHER / HSQLDB has no JSON type: it reads as text
    # and JDBC's java.sql date types count days before 1582-10-15 in the Julian calendar
    "jdbc-postgresql": {"json": "string", "julian": "julian"},
    "jdbc-hsqldb": {"json": "string", "julian": "julian"},
}
GREGORIAN = dt.date(1582, 10, 15)


def canonical_table(with_nul: bool) -> pa.Table:
    cols = [*COLUMNS, NUL_COLUMN] if with_nul else COLUMNS
    arrays = []
    for _name, typ, values in cols:
        if isinstance(typ, pa.BaseExtensionType):
            storage = pa.array(values, typ.storage_type)
            arrays.append(pa.ExtensionArray.from_storage(typ, storage))
        else:
            arrays.append(pa.array(values, typ))
    return pa.table(arrays, names=[c[0] for c in cols])


def comparable(table: pa.Table, lossy: set[str]) -> list[dict[str, Any]]:
    """Rows as Python values, with the documented degradations applied."""
    rows = table.to_pylist()
    for row in rows:
        for key, value in row.items():
            if value is None:
                continue
            day = value.date() if isinstance(value, dt.datetime) else value
            if isinstance(day, dt.date) and day < GREGORIAN and "julian" in lossy:
                row[key] = "before the Gregorian calendar"
            elif isinstance(value, uuid.UUID) and "uuid" in lossy:
                row[key] = str(value)
            elif isinstance(value, dt.datetime) and value.tzinfo and "timestamptz" in lossy:
                row[key] = value.astimezone(UTC).replace(tzinfo=None)
            elif isinstance(value, dt.datetime) and value.tzinfo:
                row[key] = value.astimezone(UTC)  # zoneinfo UTC vs datetime.UTC
    return rows


def expected_type_key(original: pa.DataType, lossy: set[str]) -> str:
    key = T.type_key(original)
    return (
        {"uuid": "string", "json": "string", "timestamptz": "timestamp"}[key]
        if (key in lossy)
        else key
    )


def same_family(got: pa.DataType, key: str) -> bool:
    """A number may come back wider: PostgreSQL has no 1-byte integer, SQLite one float."""
    got_key = T.type_key(got)
    if key == "float" and got_key == "double":
        return True
    if key.startswith("int") and got_key.startswith("int"):
        return int(got_key[3:]) >= int(key[3:])
    return got_key == key


@pytest.mark.parametrize("dst_kind", KINDS)
@pytest.mark.parametrize("src_kind", KINDS + JDBC_SOURCE_KINDS)
def test_every_type_round_trips(
    src_kind: str, dst_kind: str, drivers: dict[str, Driver], driver_urls: dict[str, str]
) -> None:
    src = drivers[src_kind]
    # A second connection for the destination, so source and target never share one.
    dst = open_driver(dst_kind, driver_urls)
    try:
        with_nul = src.text_allows_nul and dst.text_allows_nul
        original = canonical_table(with_nul)
        table = f"rt_{src_kind}_{dst_kind}"
        src.drop_table(f"{table}_src")
        src.create_table(f"{table}_src", original.schema, ["id"])
        assert src.load(f"{table}_src", original) == original.num_rows

        reader = src.read(f"SELECT * FROM {src.quote(table + '_src')} ORDER BY {src.quote('id')}")
        dst.drop_table(table)
        dst.create_table(table, reader.schema, ["id"])
        assert dst.load(table, reader) == original.num_rows

        landed = dst.read(f"SELECT * FROM {dst.quote(table)} ORDER BY id").read_all()
        lossy = set(DEGRADES.get(src_kind, {})) | set(DEGRADES.get(dst_kind, {}))
        assert landed.column_names == original.column_names
        for field in original.schema:
            got = landed.schema.field(field.name).type
            assert same_family(got, expected_type_key(field.type, lossy)), (field.name, got)
            if pa.types.is_decimal(field.type):
                assert (got.precision, got.scale) == (38, 10)
            if pa.types.is_timestamp(field.type):
                assert got.unit == "us"
        assert comparable(landed, lossy) == comparable(original, lossy)
    finally:
        dst.close()
