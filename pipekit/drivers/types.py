"""The Arrow types data travels in, and the mapping from database type names to them.

Pipekit's canonical types are plain Arrow types plus the two canonical
extension types ``arrow.uuid`` and ``arrow.json``. Every driver normalises what
its client library hands over to these (``normalize_schema``), and maps them to
its own DDL through a per-driver table keyed by ``type_key``.

Database type names are parsed with sqlglot (``arrow_type_from_sql``), so
``numeric(38,10)``, ``DECIMAL(38, 10)`` and ``double precision`` all resolve
the same way in every dialect.

A source column's *declared* type (``numeric``, ``varchar(20)``, ``int4[]``, as the
source database's catalog names it) rides along in the Arrow field metadata
(``with_declared``): a destination of the same kind creates the column with that
type instead of the Arrow type's (``Dialect.column_ddl``), so nothing is lost in
between; other kinds use the Arrow type and say which columns land as text.
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from typing import Any, TypeGuard

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

UUID = pa.uuid()
JSON = pa.json_()
TIMESTAMP_TZ = "UTC"  # zone-aware timestamps travel in UTC

T = exp.DataType.Type

#: field metadata: the column's type as the source database declares it, and its kind
DECLARED_TYPE = b"pipekit.type"
DECLARED_KIND = b"pipekit.kind"

_SQLGLOT_TO_ARROW: dict[exp.DType, pa.DataType] = {
    T.TINYINT: pa.int8(),
    T.UTINYINT: pa.uint8(),
    T.SMALLINT: pa.int16(),
    T.USMALLINT: pa.uint16(),
    T.MEDIUMINT: pa.int32(),
    T.UMEDIUMINT: pa.uint32(),
    T.INT: pa.int32(),
    T.UINT: pa.uint32(),
    T.BIGINT: pa.int64(),
    T.UBIGINT: pa.uint64(),
    T.FLOAT: pa.float32(),
    T.DOUBLE: pa.float64(),
    T.BOOLEAN: pa.bool_(),
    T.BIT: pa.bool_(),
    T.DATE: pa.date32(),
    T.DATE32: pa.date32(),
    T.TIME: pa.time64("us"),
    T.TIMESTAMP: pa.timestamp("us"),
    T.DATETIME: pa.timestamp("us"),
    T.DATETIME2: pa.timestamp("us"),
    T.TIMESTAMP_NS: pa.timestamp("ns"),
    T.TIMESTAMPNTZ: pa.timestamp("us"),
    T.TIMESTAMPTZ: pa.timestamp("us", tz=TIMESTAMP_TZ),
    T.TIMESTAMPLTZ: pa.timestamp("us", tz=TIMESTAMP_TZ),
    T.UUID: UUID,
    T.JSON: JSON,
    T.JSONB: JSON,
    T.BINARY: pa.binary(),
    T.VARBINARY: pa.binary(),
    T.BLOB: pa.binary(),
    T.TINYBLOB: pa.binary(),
    T.MEDIUMBLOB: pa.binary(),
    T.LONGBLOB: pa.binary(),
    T.IMAGE: pa.binary(),
    T.INT128: pa.decimal128(38, 0),
    T.UINT128: pa.decimal128(38, 0),
}
_TEXT_TYPES = {
    T.CHAR,
    T.NCHAR,
    T.VARCHAR,
    T.NVARCHAR,
    T.TEXT,
    T.TINYTEXT,
    T.MEDIUMTEXT,
    T.LONGTEXT,
    T.BPCHAR,
    T.NAME,
    T.ENUM,
    T.SET,
    T.XML,
    T.INET,
    T.INTERVAL,
}
_PLAIN_TEXT_TYPES = {
    T.CHAR,
    T.NCHAR,
    T.VARCHAR,
    T.NVARCHAR,
    T.TEXT,
    T.TINYTEXT,
    T.MEDIUMTEXT,
    T.LONGTEXT,
    T.BPCHAR,
    T.NAME,
    T.ENUM,  # text values: as text they are exact (the list of allowed ones is not kept)
    T.SET,
}


def arrow_type_from_sql(type_sql: str, dialect: str) -> pa.DataType:
    """Arrow type of a database column type as the database names it.

    Types Pipekit does not model (arrays, intervals, geometry, ...) travel as text.
    """
    try:
        dt = exp.DataType.build(type_sql, dialect=dialect, udt=True)
    except (ParseError, ValueError):
        return pa.string()
    if dt.this in (T.DECIMAL, T.BIGDECIMAL, T.MONEY, T.SMALLMONEY):
        params = [int(e.this.this) for e in dt.expressions if isinstance(e.this, exp.Literal)]
        if not params:
            return pa.string()  # unconstrained numeric: exact only as text
        precision, scale = params[0], params[1] if len(params) > 1 else 0
        return decimal_type(precision, scale)
    if dt.this in (T.TIMESTAMP, T.DATETIME, T.DATETIME2, T.TIMESTAMPTZ) and dt.expressions:
        digits = int(dt.expressions[0].this.this)
        base = _SQLGLOT_TO_ARROW[dt.this]
        assert isinstance(base, pa.TimestampType)  # every type in this branch maps to one
        return pa.timestamp("ns" if digits > 6 else "us", tz=base.tz)
    if dt.this in _SQLGLOT_TO_ARROW:
        return _SQLGLOT_TO_ARROW[dt.this]
    return pa.string()


def decimal_type(precision: int, scale: int) -> pa.DataType:
    if precision <= 38:
        return pa.decimal128(max(precision, 1), scale)
    return pa.decimal256(min(precision, 76), scale)


def type_key(t: pa.DataType) -> str:
    """The name a driver's DDL table is keyed by."""
    if isinstance(t, pa.BaseExtensionType):
        if t.extension_name == "arrow.uuid":
            return "uuid"
        if t.extension_name == "arrow.json":
            return "json"
        return type_key(t.storage_type)
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    if pa.types.is_decimal(t):
        return "decimal"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "binary"
    if pa.types.is_time(t):
        return "time"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_null(t):
        return "null"
    if pa.types.is_dictionary(t):
        return type_key(t.value_type)
    if pa.types.is_nested(t):
        return "nested"
    return str(t)  # int8 .. uint64, bool, float, double, halffloat


def is_uuid(t: pa.DataType) -> TypeGuard[pa.BaseExtensionType]:
    return isinstance(t, pa.BaseExtensionType) and t.extension_name == "arrow.uuid"


def is_json(t: pa.DataType) -> TypeGuard[pa.BaseExtensionType]:
    return isinstance(t, pa.BaseExtensionType) and t.extension_name == "arrow.json"


def normalize_type(t: pa.DataType) -> pa.DataType:
    """The canonical form of `t`: large/view variants folded, zones in UTC."""
    if isinstance(t, pa.BaseExtensionType):
        if t.extension_name in ("arrow.uuid", "arrow.json"):
            return t
        if t.extension_name == "arrow.bool8":
            return pa.bool_()
        return normalize_type(t.storage_type)
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_timestamp(t) and t.tz and t.tz != TIMESTAMP_TZ:
        return pa.timestamp(t.unit, tz=TIMESTAMP_TZ)
    if pa.types.is_time32(t):
        return pa.time64("us")
    if pa.types.is_date64(t):
        return pa.date32()
    if pa.types.is_dictionary(t):
        return normalize_type(t.value_type)
    if pa.types.is_null(t):
        return pa.string()
    if pa.types.is_nested(t):
        return pa.string()  # arrays and structs travel as their text form
    if pa.types.is_interval(t):
        return pa.string()  # as ``interval_text``: no kind's loader takes Arrow's intervals
    return t


def normalize_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema(
        [pa.field(f.name, normalize_type(f.type), f.nullable) for f in schema],
    )


def cast_array(arr: pa.Array, target: pa.DataType) -> pa.Array:
    """Cast `arr` to `target`, going through extension storage where needed."""
    if arr.type == target:
        return arr
    # Imported here, not at the top: pyarrow.compute builds a wrapper for every kernel
    # on import (tens of ms), a cost start-up should only pay once a cast is needed.
    import pyarrow.compute as pc

    if isinstance(arr, pa.ExtensionArray):  # an array of an extension type
        storage: pa.Array = arr.storage
        if arr.type.extension_name == "arrow.bool8":
            # one byte per value, 0 = false
            arr = pc.not_equal(storage, pa.scalar(0, storage.type))
        else:
            arr = storage
    if isinstance(target, pa.BaseExtensionType):
        storage = cast_array(arr, target.storage_type)
        return pa.ExtensionArray.from_storage(target, storage)
    if pa.types.is_interval(arr.type) and pa.types.is_string(target):
        return pa.array([interval_text(v) for v in arr.to_pylist()], pa.string())
    if pa.types.is_nested(arr.type) and pa.types.is_string(target):
        return pa.array([None if v is None else str(v) for v in arr.to_pylist()], pa.string())
    return pc.cast(arr, target)


def conform_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """`batch` cast column by column to `schema` (same names, same order)."""
    if batch.schema.equals(schema):
        return batch
    columns = [cast_array(col, f.type) for col, f in zip(batch.columns, schema, strict=True)]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def strings_to_time(arr: pa.Array) -> pa.Array:
    """``HH:MM:SS[.ffffff]`` strings as time64[us] (Arrow has no direct cast)."""
    import pyarrow.compute as pc  # lazily, as in cast_array

    # pyarrow-stubs 20 wants every argument of one type; pyarrow mixes str and arrays.
    stamped = pc.binary_join_element_wise("1970-01-01 ", arr, "")  # type: ignore[call-overload]
    micros = pc.cast(pc.cast(stamped, pa.timestamp("us")), pa.int64())
    return pc.cast(micros, pa.time64("us"))


def with_declared(schema: pa.Schema, kind: str, declared: Sequence[str | None] | None) -> pa.Schema:
    """`schema` with each field's declared source type (of database kind `kind`) in its
    metadata; `declared` lists them in column order (None: not known)."""
    if not declared or len(declared) != len(schema):
        return schema
    fields = []
    for f, typ in zip(schema, declared, strict=True):
        if typ:
            meta: dict[bytes | str, bytes | str] = {k: v for k, v in (f.metadata or {}).items()}
            meta.update({DECLARED_TYPE: typ.encode(), DECLARED_KIND: kind.encode()})
            f = f.with_metadata(meta)
        fields.append(f)
    return pa.schema(fields).with_metadata(schema.metadata or {})


def declared_of(field: pa.Field) -> tuple[str, str] | None:
    """(kind, declared type) of a field annotated by ``with_declared``, else None."""
    meta = field.metadata or {}
    if DECLARED_TYPE not in meta or DECLARED_KIND not in meta:
        return None
    return meta[DECLARED_KIND].decode(), meta[DECLARED_TYPE].decode()


def parse_type(type_sql: str, dialect: str) -> exp.DataType | None:
    """`type_sql` parsed as a column type of sqlglot `dialect`; None when sqlglot does not
    know it or any part of it is user-defined (an enum, a domain: the type may not
    exist in another database), or text follows the type (``DataType.build`` would
    drop it; a whole ``CAST`` must parse as one)."""
    try:
        cast = sqlglot.parse_one(f"CAST(NULL AS {type_sql})", read=dialect)
    except (ParseError, TokenError, ValueError):
        return None
    if not isinstance(cast, exp.Cast):
        return None
    dt = cast.to
    for node in dt.find_all(exp.DataType):
        if node.this == T.USERDEFINED:
            return None
    return dt


def is_text_type(type_sql: str, dialect: str) -> bool:
    """Whether `type_sql` holds plain text values (landing as text loses no value)."""
    dt = parse_type(type_sql, dialect)
    return dt is not None and dt.this in _PLAIN_TEXT_TYPES


def interval_text(value: Any) -> str | None:
    """A month-day-nanosecond interval as ``<m> months <d> days <s> seconds``, exact to
    the nanosecond, which PostgreSQL and DuckDB both read back as an interval (DuckDB
    does not read ISO 8601 durations)."""
    if value is None:
        return None
    seconds = decimal.Decimal(value.nanoseconds).scaleb(-9).normalize()
    return f"{value.months} months {value.days} days {seconds:f} seconds"
