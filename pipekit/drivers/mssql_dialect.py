"""SQL Server's SQL (T-SQL): what differs from the base dialect, without a connection.

Shared by the native ``mssql://`` kind (``drivers/mssql.py``, pymssql) and the JDBC
profiles ``sqlserver`` and ``jtds`` (``jdbc_dialect.py``). Names are quoted in
brackets; a name may have four parts, ``[server].[db].[schema].[table]`` for a
linked server or ``[db].[schema].[table]`` across databases, which
``four_part_sql`` renders and the catalog queries take as their ``where``.

Not tested against a live server (none can run where Pipekit is built): the
statements are fixed by golden SQL tests (``tests/drivers/golden/mssql``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import pyarrow as pa

from pipekit.drivers import types as T
from pipekit.drivers.dialect import Dialect
from pipekit.drivers.tables import TableRef

#: T-SQL type names (lower case, without arguments) that sqlglot reads differently
#: from what SQL Server means by them
_TSQL_TYPES: dict[str, pa.DataType] = {
    "float": pa.float64(),  # FLOAT is FLOAT(53): 8 bytes
    "real": pa.float32(),
    "money": pa.decimal128(19, 4),
    "smallmoney": pa.decimal128(10, 4),
    "bit": pa.bool_(),
    "uniqueidentifier": T.UUID,
    "datetimeoffset": pa.timestamp("ns", tz=T.TIMESTAMP_TZ),  # default precision 7
    "datetime2": pa.timestamp("ns"),  # default precision 7: 100 ns
    "datetime": pa.timestamp("us"),  # 1/300 s
    "smalldatetime": pa.timestamp("us"),
    "rowversion": pa.binary(),
    "timestamp": pa.binary(),  # T-SQL's TIMESTAMP is ROWVERSION, not a time
    "tinyint": pa.uint8(),
}


class MssqlDialect(Dialect):
    """Microsoft SQL Server (2016 and later)."""

    kind = "mssql"
    sqlglot = "tsql"
    default_schema = "dbo"
    limit_style: ClassVar[str] = "top"
    add_column: ClassVar[str] = "ADD"
    ddl_types: ClassVar[dict[str, str]] = {
        "int8": "SMALLINT", "int16": "SMALLINT", "int32": "INT", "int64": "BIGINT",
        "uint8": "TINYINT", "uint16": "INT", "uint32": "BIGINT", "uint64": "DECIMAL(20,0)",
        "halffloat": "REAL", "float": "REAL", "double": "FLOAT",
        "decimal": "DECIMAL({precision},{scale})", "bool": "BIT",
        "string": "NVARCHAR(MAX)", "binary": "VARBINARY(MAX)",
        "null": "NVARCHAR(MAX)", "nested": "NVARCHAR(MAX)",
        "date": "DATE", "time": "TIME(6)", "timestamp": "DATETIME2(6)",
        "timestamptz": "DATETIMEOFFSET(6)", "uuid": "UNIQUEIDENTIFIER", "json": "NVARCHAR(MAX)",
    }  # fmt: skip
    # (MAX) columns cannot be keys: 450 NVARCHAR characters fill the 900-byte key limit
    key_ddl_types: ClassVar[dict[str, str]] = {
        "string": "NVARCHAR(450)", "binary": "VARBINARY(900)",
        "null": "NVARCHAR(450)", "nested": "NVARCHAR(450)", "json": "NVARCHAR(450)",
    }  # fmt: skip

    def arrow_type(self, db_type: str) -> pa.DataType:
        base, _, args = db_type.strip().lower().partition("(")
        base = base.strip()
        if base in ("datetime2", "datetimeoffset") and args:
            digits = int(args.rstrip(") ") or 7)
            tz = T.TIMESTAMP_TZ if base == "datetimeoffset" else None
            return pa.timestamp("ns" if digits > 6 else "us", tz=tz)
        if base in _TSQL_TYPES:
            return _TSQL_TYPES[base]
        return super().arrow_type(db_type)

    # -- names ------------------------------------------------------------------

    def four_part_sql(
        self,
        table: str,
        schema: str | None = None,
        database: str | None = None,
        server: str | None = None,
    ) -> str:
        """``[server].[db].[schema].[table]``: a table on a linked server or in another
        database of this one (an omitted part before a given one stays empty, as
        T-SQL writes ``[db]..[table]``)."""
        parts = [server, database, schema, table]
        while parts[0] is None:
            parts.pop(0)
        return ".".join("" if p is None else self.quote(p) for p in parts)

    # -- rows ---------------------------------------------------------------------

    def limit_sql(self, sql: str, rows: int) -> str:
        """At most `rows` rows of `sql`."""
        return f"SELECT TOP {int(rows)} * FROM ({sql}) pipekit_q"

    def duplicate_keys_sql(self, table: TableRef, keys: Sequence[str]) -> str:
        cols = ", ".join(self.quote(k) for k in keys)
        return (
            f"SELECT TOP 3 {cols}, COUNT(*) FROM {self.table_sql(table)} "
            f"GROUP BY {cols} HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC"
        )

    # -- DDL --------------------------------------------------------------------

    def create_schema_sql(self, schema: str) -> str | None:
        # CREATE SCHEMA must be alone in its batch, hence through EXEC
        name = self.quote(schema)
        return (
            f"IF SCHEMA_ID({self.literal(schema)}) IS NULL "
            f"EXEC('CREATE SCHEMA {name.replace(chr(39), chr(39) * 2)}')"
        )

    def column_default_sql(self, table: TableRef, column: str, value: str | None) -> str:
        # a default is a named constraint in T-SQL; Pipekit names its own
        name = self.quote(f"DF_{table.name}_{column}")
        if value is None:
            return f"ALTER TABLE {self.table_sql(table)} DROP CONSTRAINT IF EXISTS {name}"
        return (
            f"ALTER TABLE {self.table_sql(table)} ADD CONSTRAINT {name} "
            f"DEFAULT {value} FOR {self.quote(column)}"
        )

    def comment_sql(self, table: TableRef, comment: str) -> str:
        schema = table.schema or self.default_schema or "dbo"
        return (
            f"EXEC sp_addextendedproperty @name = N'MS_Description', "
            f"@value = {self.literal(comment)}, @level0type = N'SCHEMA', "
            f"@level0name = {self.literal(schema)}, @level1type = N'TABLE', "
            f"@level1name = {self.literal(table.name)}"
        )

    # -- merge ------------------------------------------------------------------

    def clear_table_sql(self, table: TableRef) -> str:
        return f"DELETE FROM {self.table_sql(table)}"

    def upsert_sql(
        self,
        dest: TableRef,
        staged: TableRef,
        columns: Sequence[str],
        keys: Sequence[str],
        extra: dict[str, str],
    ) -> str:
        names = [*columns, *extra]
        values = [f"s.{self.quote(c)}" for c in columns] + list(extra.values())
        updates = [c for c in columns if c not in keys]
        sets = [f"d.{self.quote(c)} = s.{self.quote(c)}" for c in updates]
        sets += [f"d.{self.quote(c)} = {v}" for c, v in extra.items()]
        matched = f" WHEN MATCHED THEN UPDATE SET {', '.join(sets)}" if sets else ""
        # HOLDLOCK: MERGE alone is not atomic against concurrent inserts of a key
        return (
            f"MERGE INTO {self.table_sql(dest)} WITH (HOLDLOCK) d "
            f"USING {self.table_sql(staged)} s ON {self._key_match('d', 's', keys)}"
            f"{matched} WHEN NOT MATCHED THEN INSERT ({', '.join(self.quote(n) for n in names)}) "
            f"VALUES ({', '.join(values)});"
        )

    # -- the catalog (browse, propose) ------------------------------------------

    def _sys(self, view: str, database: str | None, server: str | None) -> str:
        return self.four_part_sql(view, "sys", database, server)

    def schemas_sql(self, database: str | None = None, server: str | None = None) -> str:
        return (
            f"SELECT s.name FROM {self._sys('schemas', database, server)} s "
            "WHERE s.schema_id < 16384 AND s.name NOT IN ('sys', 'INFORMATION_SCHEMA', 'guest') "
            "ORDER BY s.name"
        )

    def tables_sql(
        self, schema: str, database: str | None = None, server: str | None = None
    ) -> str:
        return (
            f"SELECT o.name, o.type_desc FROM {self._sys('objects', database, server)} o "
            f"JOIN {self._sys('schemas', database, server)} s ON s.schema_id = o.schema_id "
            f"WHERE s.name = {self.literal(schema)} AND o.type IN ('U', 'V') ORDER BY o.name"
        )

    def columns_sql(
        self, table: TableRef, database: str | None = None, server: str | None = None
    ) -> str:
        """Name, type with its arguments, nullability and primary-key flag, in order."""
        schema = table.schema or self.default_schema or "dbo"
        sys = lambda v: self._sys(v, database, server)  # noqa: E731
        return (
            "SELECT c.name, t.name + CASE "
            "WHEN t.name IN ('decimal', 'numeric') THEN '(' + CAST(c.precision AS varchar) "
            "+ ',' + CAST(c.scale AS varchar) + ')' "
            "WHEN t.name IN ('datetime2', 'datetimeoffset', 'time') THEN '(' "
            "+ CAST(c.scale AS varchar) + ')' "
            "WHEN t.name IN ('char', 'varchar', 'binary', 'varbinary') THEN '(' + CASE "
            "WHEN c.max_length = -1 THEN 'max' ELSE CAST(c.max_length AS varchar) END + ')' "
            "WHEN t.name IN ('nchar', 'nvarchar') THEN '(' + CASE WHEN c.max_length = -1 "
            "THEN 'max' ELSE CAST(c.max_length / 2 AS varchar) END + ')' ELSE '' END, "
            "c.is_nullable, CASE WHEN k.column_id IS NULL THEN 0 ELSE 1 END "
            f"FROM {sys('columns')} c "
            f"JOIN {sys('types')} t ON t.user_type_id = c.user_type_id "
            f"JOIN {sys('objects')} o ON o.object_id = c.object_id "
            f"JOIN {sys('schemas')} s ON s.schema_id = o.schema_id "
            f"LEFT JOIN (SELECT ic.object_id, ic.column_id FROM {sys('index_columns')} ic "
            f"JOIN {sys('indexes')} i ON i.object_id = ic.object_id AND i.index_id = ic.index_id "
            "WHERE i.is_primary_key = 1) k ON k.object_id = c.object_id "
            "AND k.column_id = c.column_id "
            f"WHERE s.name = {self.literal(schema)} AND o.name = {self.literal(table.name)} "
            "ORDER BY c.column_id"
        )

    def estimates_sql(
        self, schema: str, database: str | None = None, server: str | None = None
    ) -> str:
        return (
            f"SELECT o.name, SUM(p.rows) FROM {self._sys('partitions', database, server)} p "
            f"JOIN {self._sys('objects', database, server)} o ON o.object_id = p.object_id "
            f"JOIN {self._sys('schemas', database, server)} s ON s.schema_id = o.schema_id "
            f"WHERE s.name = {self.literal(schema)} AND o.type = 'U' AND p.index_id IN (0, 1) "
            "GROUP BY o.name"
        )

    def linked_servers_sql(self) -> str:
        """The linked servers a four-part name may start with."""
        return (
            "SELECT name, product, data_source FROM sys.servers WHERE is_linked = 1 ORDER BY name"
        )

    def databases_sql(self, server: str | None = None) -> str:
        """The databases a three-part name may start with (on `server` if given)."""
        return (
            f"SELECT name FROM {self._sys('databases', 'master' if server else None, server)} "
            "WHERE database_id > 4 AND state = 0 ORDER BY name"
        )
