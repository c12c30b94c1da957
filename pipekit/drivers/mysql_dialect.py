"""MariaDB / MySQL's SQL: what differs from the base dialect, without a connection.

A MariaDB "schema" is a database: ``db.table`` names work, the default schema is
the connection's database and creating a schema creates a database. DDL commits
implicitly, so the run executes it before the merge's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, ClassVar

import pyarrow as pa
from sqlglot import exp

from pipekit.drivers.dialect import Dialect
from pipekit.drivers.tables import TableRef

_GEOMETRY = ("geometry", "point", "linestring", "polygon", "multi")  # column type prefixes
# types a key column cannot have (InnoDB indexes no TEXT/BLOB without a prefix length)
_UNINDEXABLE = frozenset(
    {
        exp.DataType.Type.TEXT,
        exp.DataType.Type.TINYTEXT,
        exp.DataType.Type.MEDIUMTEXT,
        exp.DataType.Type.LONGTEXT,
        exp.DataType.Type.BLOB,
        exp.DataType.Type.TINYBLOB,
        exp.DataType.Type.MEDIUMBLOB,
        exp.DataType.Type.LONGBLOB,
        exp.DataType.Type.JSON,
    }
)


class MySQLDialect(Dialect):
    """MariaDB and MySQL. `default_schema` is the connection's database;
    `native_uuid` says whether the server has a UUID type (MariaDB 10.7 on)."""

    kind = "mysql"
    sqlglot = "mysql"
    transactional_ddl = False
    has_schemas = False
    # A MariaDB source's rows travel as text or numbers its LOAD DATA writes into a
    # column of the declared type exactly: varchar(n), enum and set keep their
    # definition, unsigned integers stay unsigned.
    same_kind_types: ClassVar[frozenset[exp.DType]] = frozenset(
        {
            exp.DataType.Type.TINYINT,
            exp.DataType.Type.SMALLINT,
            exp.DataType.Type.MEDIUMINT,
            exp.DataType.Type.INT,
            exp.DataType.Type.BIGINT,
            exp.DataType.Type.UTINYINT,
            exp.DataType.Type.USMALLINT,
            exp.DataType.Type.UMEDIUMINT,
            exp.DataType.Type.UINT,
            exp.DataType.Type.UBIGINT,
            exp.DataType.Type.DECIMAL,
            exp.DataType.Type.DOUBLE,
            exp.DataType.Type.CHAR,
            exp.DataType.Type.VARCHAR,
            exp.DataType.Type.ENUM,
            exp.DataType.Type.SET,
            exp.DataType.Type.DATE,
            exp.DataType.Type.DATETIME,
            exp.DataType.Type.TIME,
            *_UNINDEXABLE,
        }
    )
    ddl_types: ClassVar[dict[str, str]] = {
        "int8": "TINYINT", "int16": "SMALLINT", "int32": "INT", "int64": "BIGINT",
        "uint8": "TINYINT UNSIGNED", "uint16": "SMALLINT UNSIGNED",
        "uint32": "INT UNSIGNED", "uint64": "BIGINT UNSIGNED",
        # FLOAT reads back through the text protocol with 6 significant digits only,
        # so Pipekit's own tables hold float32 in DOUBLE (exact, read back widened).
        "halffloat": "DOUBLE", "float": "DOUBLE", "double": "DOUBLE",
        "decimal": "DECIMAL({precision},{scale})", "bool": "BOOLEAN",
        "string": "LONGTEXT", "binary": "LONGBLOB", "null": "LONGTEXT", "nested": "LONGTEXT",
        "date": "DATE", "time": "TIME(6)", "timestamp": "DATETIME(6)",
        "timestamptz": "DATETIME(6)",  # in UTC: no zone-carrying type has a full range
        "uuid": "UUID",  # VARCHAR(36) without native_uuid
        "json": "JSON",  # MariaDB: LONGTEXT with a json_valid() check
    }  # fmt: skip
    # TEXT and BLOB cannot be keys. InnoDB allows 3072 bytes per key in all, so a
    # text key column gets 255 utf8mb4 characters (1020 bytes): three fit in one key.
    key_ddl_types: ClassVar[dict[str, str]] = {
        "string": "VARCHAR(255)", "binary": "VARBINARY(1020)",
        "null": "VARCHAR(255)", "nested": "VARCHAR(255)",
    }  # fmt: skip
    table_options = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"

    def column_ddl(self, field: pa.Field, *, key: bool = False) -> str:
        declared = self.declared_ddl(field)
        if declared is not None and key:
            parsed = exp.DataType.build(declared, dialect=self.sqlglot)
            if parsed.this in _UNINDEXABLE:
                declared = None  # a key column: VARCHAR(255) / VARBINARY(1020) instead
        return declared or self.foreign_ddl(field) or self.ddl_type(field.type, key=key)

    def __init__(self, *, default_schema: str | None = None, native_uuid: bool = True) -> None:
        super().__init__(default_schema=default_schema)
        self.native_uuid = native_uuid

    def __repr__(self) -> str:
        return (
            f"MySQLDialect(default_schema={self.default_schema!r}, native_uuid={self.native_uuid})"
        )

    def _literal_node(self, value: Any, arrow_type: pa.DataType | None) -> exp.Expression:
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            # DATETIME refuses an offset ('...+00:00' is "incorrect datetime value"):
            # a zoned instant is its UTC wall time, as the UTC session and loads store it.
            naive = value.astimezone(dt.UTC).replace(tzinfo=None)
            return self._cast_literal(naive.isoformat(sep=" "), arrow_type or pa.timestamp("us"))
        return super()._literal_node(value, arrow_type)

    def ddl_type(self, arrow_type: pa.DataType, *, key: bool = False) -> str:
        if pa.types.is_decimal(arrow_type) and (arrow_type.precision > 65 or arrow_type.scale > 38):
            return super().ddl_type(pa.string(), key=key)  # beyond DECIMAL(65,38): exact as text
        found = super().ddl_type(arrow_type, key=key)
        return "VARCHAR(36)" if found == "UUID" and not self.native_uuid else found

    def arrow_type(self, db_type: str) -> pa.DataType:
        t = db_type.strip().lower()
        if t.startswith(("tinyint(1)", "bit(1)")) or t in ("bit", "bool", "boolean"):
            return pa.bool_()
        if t.startswith("bit"):
            return pa.uint64()
        if t.startswith("year"):
            return pa.int16()
        if t.startswith(_GEOMETRY):
            return pa.binary()
        if t.startswith(("decimal", "numeric")):  # sqlglot does not parse UNSIGNED decimals
            t = t.replace("unsigned", "").replace("zerofill", "")
        return super().arrow_type(t)

    def read_column_sql(self, column: str, db_type: str) -> tuple[str, pa.DataType] | None:
        # FLOAT comes through the text protocol with 6 significant digits; as DOUBLE
        # the stored float32 reads back exactly
        if db_type.strip().lower().startswith("float"):
            return f"CAST({self.quote(column)} AS DOUBLE)", pa.float64()
        return None

    def create_schema_sql(self, schema: str) -> str | None:
        # A MariaDB schema is a database.
        return f"CREATE DATABASE IF NOT EXISTS {self.quote(schema)}"

    # Multi-table DELETE: MariaDB plans a join by the destination's primary key, where
    # a correlated EXISTS in a single-table DELETE would scan.
    def delete_matching_sql(self, dest: TableRef, staged: TableRef, keys: Sequence[str]) -> str:
        return (
            f"DELETE d FROM {self.table_sql(dest)} d JOIN {self.table_sql(staged)} s "
            f"ON {self._key_match('s', 'd', keys)}"
        )

    def delete_missing_sql(self, dest: TableRef, key_table: TableRef, keys: Sequence[str]) -> str:
        return (
            f"DELETE d FROM {self.table_sql(dest)} d LEFT JOIN {self.table_sql(key_table)} k "
            f"ON {self._key_match('k', 'd', keys)} WHERE k.{self.quote(keys[0])} IS NULL"
        )

    def upsert_sql(
        self,
        dest: TableRef,
        staged: TableRef,
        columns: Sequence[str],
        keys: Sequence[str],
        extra: dict[str, str],
    ) -> str:
        head, select = self._insert_head(dest, columns, extra)
        updates = [c for c in [*columns, *extra] if c not in keys] or [keys[0]]
        sets = ", ".join(f"{self.quote(c)} = VALUES({self.quote(c)})" for c in updates)
        return f"{head} {select} FROM {self.table_sql(staged)} s ON DUPLICATE KEY UPDATE {sets}"
