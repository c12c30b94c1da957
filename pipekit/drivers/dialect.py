"""What a kind of database says in SQL, apart from any connection (no I/O at all).

A ``Dialect`` renders names, literals and types, and every statement the merge,
key_sync and the swap run, as text. The client (``drivers.base.Driver``) owns one
as ``driver.dialect`` and executes what it renders; the merge planner
(``engine/merge.py``) and the golden SQL tests (``tests/drivers/golden``) use a
dialect alone. As sqlglot keeps its dialects apart from connections, facts that
only a connection can learn (the server's version, the connection's database) are
constructor settings, which the client passes once it has connected.

Each kind's differences are class attributes and small overriding methods in one
file per kind, ``drivers/<kind>_dialect.py``. A subclass declares:

``kind``                 registry name (``postgresql``, ``mysql``, ``sqlite``, ``duckdb``)
``sqlglot``              the sqlglot dialect that quotes, renders literals and parses types
``ddl_types``            Arrow type key (``types.type_key``) -> DDL type, with
                         ``{precision}``/``{scale}`` placeholders for decimals
``key_ddl_types``        overrides for primary-key columns (MariaDB cannot index TEXT)
``transactional_ddl``    CREATE/DROP/ALTER can be rolled back
``supports_delete``      DELETE works (false for append-only engines)
``text_allows_nul``      text values may contain U+0000
``has_schemas``          the database has schemas (SQLite and MariaDB-as-database do not)
``default_schema``       schema an unqualified table lives in (a constructor setting too)
``table_options``        appended to CREATE TABLE (MariaDB: engine and character set)
``staging_table_kind``   word between CREATE and TABLE for staging tables
``case_sensitive_names`` quoted names differ by case (PostgreSQL); elsewhere ``Id`` = ``id``
``swap_full_refresh``    a full refresh may load a new table and rename it into place
                         (the dialect then overrides ``like_table_sql``, ``primary_key_sql``,
                         ``swap_sql``, maybe ``lock_sql`` and ``swap_table``)
``declares_primary_key`` a table Pipekit creates gets a PRIMARY KEY on the merge key
``upsert_needs_key``     the upsert needs a unique key on the merge key to find its rows
``folds_to_upper``       unquoted names are stored in upper case (DB2, Derby, Oracle)
``add_column``           how ALTER TABLE adds a column (``ADD COLUMN``; T-SQL ``ADD``)
``same_kind_types``      sqlglot types a source column of this same kind keeps verbatim
                         (its declared type, ``types.with_declared``): those its rows
                         reach this kind's loader in a form it stores exactly
``foreign_types``        sqlglot type of another kind's source column -> the DDL type
                         it lands in here, for types whose Arrow form is text that this
                         kind's loader casts exactly (PostgreSQL interval -> DuckDB)
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

import pyarrow as pa
from sqlglot import exp

from pipekit.drivers import types as T
from pipekit.drivers.tables import SwapInfo, TableRef
from pipekit.errors import ConnectionSpecError

#: a kind's sqlglot dialect where its name differs, for types named by other kinds
_SQLGLOT_OF = {"postgresql": "postgres", "sqlite": "sqlite", "mysql": "mysql", "duckdb": "duckdb"}


class Dialect:
    """Base of every dialect: standard SQL, which each kind's subclass adjusts."""

    kind: ClassVar[str] = "sql"
    sqlglot: ClassVar[str] = ""
    ddl_types: ClassVar[dict[str, str]] = {}
    key_ddl_types: ClassVar[dict[str, str]] = {}
    transactional_ddl: ClassVar[bool] = True
    supports_delete: ClassVar[bool] = True
    text_allows_nul: ClassVar[bool] = True
    has_schemas: ClassVar[bool] = True
    table_options: ClassVar[str] = ""
    staging_table_kind: ClassVar[str] = ""
    case_sensitive_names: ClassVar[bool] = False
    swap_full_refresh: ClassVar[bool] = False
    declares_primary_key: ClassVar[bool] = True
    upsert_needs_key: ClassVar[bool] = True
    #: unquoted names are stored in upper case (the SQL standard: DB2, Derby, HSQLDB,
    #: Oracle), so a lower-case alias must be quoted to stay lower case
    folds_to_upper: ClassVar[bool] = False
    #: how ALTER TABLE adds a column (T-SQL has no COLUMN keyword)
    add_column: ClassVar[str] = "ADD COLUMN"
    same_kind_types: ClassVar[frozenset[exp.DType]] = frozenset()
    foreign_types: ClassVar[dict[exp.DType, str]] = {}
    #: the kind's default; an instance may know the connection's own (MariaDB)
    default_schema: str | None = None

    def __init__(self, *, default_schema: str | None = None) -> None:
        if default_schema is not None:
            self.default_schema = default_schema

    def __repr__(self) -> str:
        return f"{type(self).__name__}(default_schema={self.default_schema!r})"

    # -- names ----------------------------------------------------------------

    def quote(self, name: str) -> str:
        """`name` as a quoted identifier (quotes inside it doubled)."""
        return exp.to_identifier(name, quoted=True).sql(dialect=self.sqlglot)

    def table_sql(self, table: str | TableRef) -> str:
        """`table` quoted, with its schema when it has one."""
        ref = TableRef.parse(table)
        if ref.schema:
            return f"{self.quote(ref.schema)}.{self.quote(ref.name)}"
        return self.quote(ref.name)

    def same_name(self, a: str, b: str) -> bool:
        """Whether two column names name the same column (``case_sensitive_names``)."""
        return a == b if self.case_sensitive_names else a.lower() == b.lower()

    def staging_table(self, module: str, staging_schema: str, dest: TableRef) -> TableRef:
        """Where a module's rows are staged: ``<staging_schema>.<module>``, or, without
        schemas, ``<staging_schema>__<module>`` next to the destination table."""
        if self.has_schemas:
            return TableRef(module, staging_schema)
        return TableRef(f"{staging_schema}__{module}", dest.schema)

    def swap_table(self, staged: TableRef, table: TableRef) -> TableRef:
        """Where a swap's new table is built: the staging table, where the database
        can move it into `table`'s schema when it is renamed into place."""
        return staged

    # -- literals -------------------------------------------------------------

    def split_script(self, sql: str) -> list[str]:
        """The statements of `sql`, each as written (comments before it kept), split
        at the semicolons sqlglot's tokenizer for this dialect sees between statements,
        so a ';' inside a string, a quoted name, a comment or a ``$$`` body stays where
        it is. Pieces that hold no statement (only comments or blanks) are left out.
        Text the tokenizer cannot read is one statement: the database judges it."""
        from sqlglot.dialects.dialect import Dialect as SqlglotDialect
        from sqlglot.errors import TokenError
        from sqlglot.tokens import TokenType

        try:
            tokens = SqlglotDialect.get_or_raise(self.sqlglot).tokenize(sql)
        except TokenError:
            return [sql]
        pieces: list[str] = []
        start, has_tokens = 0, False
        for token in tokens:
            if token.token_type == TokenType.SEMICOLON:
                if has_tokens:
                    pieces.append(sql[start : token.start].strip())
                start, has_tokens = token.end + 1, False
            else:
                has_tokens = True
        if has_tokens:
            pieces.append(sql[start:].strip())
        return pieces

    def literal(self, value: Any, arrow_type: pa.DataType | None = None) -> str:
        """`value` as a typed SQL literal of this dialect; strings are escaped by sqlglot.

        `arrow_type` (the column's type) decides the cast of dates, times,
        timestamps, UUIDs and of text compared with a typed column."""
        return self._literal_node(value, arrow_type).sql(dialect=self.sqlglot)

    def _literal_node(self, value: Any, arrow_type: pa.DataType | None) -> exp.Expression:
        if value is None:
            return exp.Null()
        if isinstance(value, bool):
            return exp.Boolean(this=value)
        if isinstance(value, int | decimal.Decimal):
            if isinstance(value, decimal.Decimal) and not value.is_finite():
                raise ValueError(f"cannot render non-finite decimal {value}")
            return exp.Literal.number(str(value))
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(f"cannot render non-finite float {value}")
            return exp.Literal.number(repr(value))
        if isinstance(value, bytes | bytearray | memoryview):
            return exp.HexString(this=bytes(value).hex())
        if isinstance(value, uuid.UUID):
            return self._cast_literal(str(value), arrow_type or T.UUID)
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(dt.UTC)
                return self._cast_literal(
                    value.replace(tzinfo=None).isoformat(sep=" ") + "+00:00",
                    arrow_type or pa.timestamp("us", tz="UTC"),
                )
            return self._cast_literal(value.isoformat(sep=" "), arrow_type or pa.timestamp("us"))
        if isinstance(value, dt.date):
            return self._cast_literal(value.isoformat(), arrow_type or pa.date32())
        if isinstance(value, dt.time):
            return self._cast_literal(value.isoformat(), arrow_type or pa.time64("us"))
        if isinstance(value, str):
            if arrow_type is not None and T.type_key(arrow_type) not in ("string", "null"):
                return self._cast_literal(value, arrow_type)
            return exp.Literal.string(value)
        raise TypeError(f"cannot render a {type(value).__name__} as a SQL literal")

    def _cast_literal(self, text: str, arrow_type: pa.DataType) -> exp.Expression:
        """``CAST('text' AS <ddl type>)``: how typed literals are written."""
        return exp.cast(
            exp.Literal.string(text),
            exp.DataType.build(self.ddl_type(arrow_type), dialect=self.sqlglot, udt=True),
        )

    # -- types ----------------------------------------------------------------

    def ddl_type(self, arrow_type: pa.DataType, *, key: bool = False) -> str:
        """The column type this database stores `arrow_type` in (`key`: in a primary key)."""
        k = T.type_key(arrow_type)
        template = (self.key_ddl_types.get(k) if key else None) or self.ddl_types.get(k)
        if template is None:
            template = self.ddl_types["string"]
        if pa.types.is_decimal(arrow_type):
            return template.format(precision=arrow_type.precision, scale=arrow_type.scale)
        return template

    def declared_ddl(self, field: pa.Field) -> str | None:
        """The column type a source column of this same kind declared, as sqlglot renders
        it (so never raw text), when it is one this kind keeps (``same_kind_types``,
        arrays of them too); else None."""
        declared = T.declared_of(field)
        if declared is None or declared[0] != self.kind:
            return None
        dt = T.parse_type(declared[1], self.sqlglot)
        if dt is None or not all(n.this in self.same_kind_types for n in dt.find_all(exp.DataType)):
            return None
        return dt.sql(dialect=self.sqlglot)

    def foreign_ddl(self, field: pa.Field) -> str | None:
        """The column type a source column of another kind lands in where its declared
        type has an exact match here that its Arrow form does not (``foreign_types``)."""
        declared = T.declared_of(field)
        if declared is None or declared[0] == self.kind:
            return None
        dt = T.parse_type(declared[1], _SQLGLOT_OF.get(declared[0], declared[0]))
        return None if dt is None else self.foreign_types.get(dt.this)

    def column_ddl(self, field: pa.Field, *, key: bool = False) -> str:
        """The column type `field` lands in: the declared type of a source column of
        this kind where it keeps it (``declared_ddl``), an exact match of another
        kind's (``foreign_ddl``), else its Arrow type's."""
        return (
            self.declared_ddl(field)
            or self.foreign_ddl(field)
            or self.ddl_type(field.type, key=key)
        )

    def landing_warning(self, field: pa.Field) -> str | None:
        """Why `field` lands as text here although its source type is not text (None:
        it does not): the source type has no exact type in this kind."""
        declared = T.declared_of(field)
        if declared is None:
            return None
        kind, type_sql = declared
        text = self.ddl_types["string"]
        if self.column_ddl(field) != text:
            return None
        if T.is_text_type(type_sql, _SQLGLOT_OF.get(kind, kind)):
            return None
        return (
            f"column {field.name}: {kind} {type_sql} has no exact type in {self.kind}; "
            f"landed as {text}"
        )

    def arrow_type(self, db_type: str) -> pa.DataType:
        """The Arrow type a column of database type `db_type` reads as."""
        return T.arrow_type_from_sql(db_type, self.sqlglot)

    def read_column_sql(self, column: str, db_type: str) -> tuple[str, pa.DataType] | None:
        """How a drafted query (``propose``) reads `column` of type `db_type` when a
        plain read would lose something: (the expression, the Arrow type it reads
        as); None reads it as it is."""
        return None

    # -- DDL ------------------------------------------------------------------

    def create_schema_sql(self, schema: str) -> str | None:
        """The statement that creates `schema` if missing; None where there are no schemas."""
        if self.has_schemas:
            return f"CREATE SCHEMA IF NOT EXISTS {self.quote(schema)}"
        return None

    def create_table_sql(
        self,
        table: str | TableRef,
        schema: pa.Schema,
        primary_key: Sequence[str] = (),
        *,
        if_not_exists: bool = False,
        staging: bool = False,
    ) -> str:
        """CREATE TABLE `table` with columns mapped from `schema`; key columns NOT NULL.

        `staging` marks a table the run fills and drops (``staging_table_kind``)."""
        missing = [k for k in primary_key if k not in schema.names]
        if missing:
            raise ConnectionSpecError(
                f"primary key column(s) {', '.join(missing)} not among the columns "
                f"({', '.join(schema.names)})"
            )
        cols = []
        for f in schema:
            is_key = f.name in primary_key
            null = " NOT NULL" if is_key or not f.nullable else ""
            cols.append(f"{self.quote(f.name)} {self.column_ddl(f, key=is_key)}{null}")
        if primary_key:
            cols.append(f"PRIMARY KEY ({', '.join(self.quote(k) for k in primary_key)})")
        exists = "IF NOT EXISTS " if if_not_exists else ""
        options = f" {self.table_options}" if self.table_options else ""
        kind = f"{self.staging_table_kind} " if staging and self.staging_table_kind else ""
        return f"CREATE {kind}TABLE {exists}{self.table_sql(table)} ({', '.join(cols)}){options}"

    def drop_table_sql(self, table: str | TableRef, *, if_exists: bool = True) -> str:
        """DROP TABLE `table` (IF EXISTS unless told otherwise)."""
        exists = "IF EXISTS " if if_exists else ""
        return f"DROP TABLE {exists}{self.table_sql(table)}"

    def add_column_sql(
        self, table: str | TableRef, name: str, arrow_type: pa.DataType | pa.Field
    ) -> str:
        """Add a nullable column `name` of `arrow_type` to `table` (a field: its
        ``column_ddl``, which may be the source's declared type)."""
        ddl = (
            self.column_ddl(arrow_type)
            if isinstance(arrow_type, pa.Field)
            else self.ddl_type(arrow_type)
        )
        return f"ALTER TABLE {self.table_sql(table)} {self.add_column} {self.quote(name)} {ddl}"

    def column_default_sql(self, table: TableRef, column: str, value: str | None) -> str:
        """Set `column`'s default to the SQL expression `value`, or drop it (None)."""
        action = f"SET DEFAULT {value}" if value is not None else "DROP DEFAULT"
        return f"ALTER TABLE {self.table_sql(table)} ALTER COLUMN {self.quote(column)} {action}"

    def comment_sql(self, table: TableRef, comment: str) -> str:
        """Give `table` the comment `comment`."""
        return f"COMMENT ON TABLE {self.table_sql(table)} IS {self.literal(comment)}"

    # -- merge statements -----------------------------------------------------

    def _key_match(self, left: str, right: str, keys: Sequence[str]) -> str:
        return " AND ".join(f"{left}.{self.quote(k)} = {right}.{self.quote(k)}" for k in keys)

    def _insert_head(
        self, dest: TableRef, columns: Sequence[str], extra: dict[str, str]
    ) -> tuple[str, str]:
        names = [self.quote(c) for c in columns] + [self.quote(c) for c in extra]
        values = [f"s.{self.quote(c)}" for c in columns] + list(extra.values())
        return (
            f"INSERT INTO {self.table_sql(dest)} ({', '.join(names)})",
            f"SELECT {', '.join(values)}",
        )

    def clear_table_sql(self, table: TableRef) -> str:
        """Delete every row of `table`, inside the merge's transaction."""
        return f"DELETE FROM {self.table_sql(table)}"

    def delete_matching_sql(self, dest: TableRef, staged: TableRef, keys: Sequence[str]) -> str:
        """Delete the destination rows whose key is in `staged`."""
        return (
            f"DELETE FROM {self.table_sql(dest)} WHERE EXISTS (SELECT 1 FROM "
            f"{self.table_sql(staged)} s WHERE {self._key_match('s', self.table_sql(dest), keys)})"
        )

    def delete_missing_sql(self, dest: TableRef, key_table: TableRef, keys: Sequence[str]) -> str:
        """Delete the destination rows whose key is not in `key_table` (key_sync)."""
        match = self._key_match("k", self.table_sql(dest), keys)
        return (
            f"DELETE FROM {self.table_sql(dest)} WHERE NOT EXISTS (SELECT 1 FROM "
            f"{self.table_sql(key_table)} k WHERE {match})"
        )

    def insert_sql(
        self, dest: TableRef, staged: TableRef, columns: Sequence[str], extra: dict[str, str]
    ) -> str:
        """Copy every staged row; `extra` maps audit columns to SQL values."""
        head, select = self._insert_head(dest, columns, extra)
        return f"{head} {select} FROM {self.table_sql(staged)} s"

    def insert_new_sql(
        self,
        dest: TableRef,
        staged: TableRef,
        columns: Sequence[str],
        keys: Sequence[str],
        extra: dict[str, str],
    ) -> str:
        """Copy the staged rows whose key is not in the destination yet (insert-only)."""
        head, select = self._insert_head(dest, columns, extra)
        return (
            f"{head} {select} FROM {self.table_sql(staged)} s WHERE NOT EXISTS (SELECT 1 FROM "
            f"{self.table_sql(dest)} d WHERE {self._key_match('d', 's', keys)})"
        )

    def replace_by_key_sql(
        self,
        dest: TableRef,
        staged: TableRef,
        columns: Sequence[str],
        keys: Sequence[str],
        extra: dict[str, str],
    ) -> str | None:
        """One statement that does an incremental merge's delete-and-insert, for a
        destination whose primary key is exactly `keys` and whose every column is
        staged: it writes every staged row, replacing the row of the same key, and
        returns one row with one value, the number of rows replaced. None (the
        default) where the dialect has no such statement: the merge then deletes the
        matching keys and inserts."""
        return None

    def upsert_sql(
        self,
        dest: TableRef,
        staged: TableRef,
        columns: Sequence[str],
        keys: Sequence[str],
        extra: dict[str, str],
    ) -> str:
        """Insert staged rows; a row whose key exists updates it instead."""
        head, select = self._insert_head(dest, columns, extra)
        updates = [c for c in [*columns, *extra] if c not in keys]
        action = (
            "DO UPDATE SET "
            + ", ".join(f"{self.quote(c)} = excluded.{self.quote(c)}" for c in updates)
            if updates
            else "DO NOTHING"
        )
        conflict = ", ".join(self.quote(k) for k in keys)
        # WHERE true: SQLite cannot otherwise tell ON CONFLICT from a join constraint
        return (
            f"{head} {select} FROM {self.table_sql(staged)} s WHERE true "
            f"ON CONFLICT ({conflict}) {action}"
        )

    # -- queries the engine runs ----------------------------------------------

    def duplicate_keys_sql(self, table: TableRef, keys: Sequence[str]) -> str:
        """Up to three keys that occur more than once in `table`, each followed by its
        count, most repeated first."""
        cols = ", ".join(self.quote(k) for k in keys)
        return (
            f"SELECT {cols}, COUNT(*) FROM {self.table_sql(table)} "
            f"GROUP BY {cols} HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC LIMIT 3"
        )

    def count_sql(self, table: TableRef) -> str:
        """One row, one value: how many rows `table` has."""
        return f"SELECT COUNT(*) FROM {self.table_sql(table)}"

    # -- full refresh by swap (dialects with ``swap_full_refresh``) -----------

    def lock_sql(self, table: TableRef) -> str | None:
        """The statement that keeps other writers off `table` until the swap commits;
        None where the database has one writer at a time anyway."""
        return None

    def like_table_sql(self, new: TableRef, model: TableRef, info: SwapInfo) -> list[str]:
        """Statements that create `new` as an empty copy of `model` without indexes:
        its columns and types, NOT NULLs, CHECKs, defaults and comments, as far as
        the dialect keeps them (`info` carries what the catalog said of `model`)."""
        raise NotImplementedError(f"{self.kind} does not swap tables")

    def primary_key_sql(self, table: TableRef, name: str, keys: Sequence[str]) -> str:
        """Build `table`'s primary key on `keys`, named `name` where the dialect names
        constraints."""
        cols = ", ".join(self.quote(k) for k in keys)
        return (
            f"ALTER TABLE {self.table_sql(table)} ADD CONSTRAINT {self.quote(name)} "
            f"PRIMARY KEY ({cols})"
        )

    def swap_sql(
        self,
        new: TableRef,
        table: TableRef,
        *,
        exists: bool,
        pk: tuple[str, str] | None,
        tag: str,
    ) -> list[str]:
        """Put `new` (from ``swap_table``) in `table`'s place, in one transaction:
        drop the old table when it `exists`, move and rename the new one. `pk` is
        (the new table's key constraint name, the name it takes); `tag` is a name
        unique to the run, for a table that moves between schemas."""
        raise NotImplementedError(f"{self.kind} does not swap tables")
