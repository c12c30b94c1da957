"""Plain descriptions of tables that the dialects render and the clients introspect.

These are values, with no connection behind them: a client fills them in from the
database's catalog, a dialect and the merge planner read them, and a test can
write them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
from sqlglot import exp

from pipekit.errors import ConnectionSpecError


@dataclass(frozen=True)
class TableRef:
    """A table name, optionally schema-qualified, as the user wrote it (unquoted)."""

    name: str
    schema: str | None = None

    @classmethod
    def parse(cls, text: str | TableRef) -> TableRef:
        """``"sync.orders"`` -> TableRef("orders", "sync"); quoted parts are honoured."""
        if isinstance(text, TableRef):
            return text
        try:
            table = exp.to_table(text)
        except Exception as exc:
            raise ConnectionSpecError(f"not a valid table name: {text!r} ({exc})") from None
        if table.catalog:
            raise ConnectionSpecError(
                f"table name {text!r} has three parts; use schema.table or table"
            )
        return cls(name=table.name, schema=table.db or None)

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


@dataclass(frozen=True)
class Column:
    """A column as introspection reports it."""

    name: str
    type: str
    nullable: bool
    primary_key: bool
    arrow_type: pa.DataType


@dataclass(frozen=True)
class ColumnDetails:
    """What an empty copy of a table must repeat of one column, where the dialect
    cannot say ``LIKE`` (DuckDB): NOT NULL, its default expression, its comment."""

    name: str
    nullable: bool = True
    default: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class SwapInfo:
    """Whether a full refresh may load a new table and rename it into `table`'s place.

    ``blockers`` says why not (a view depends on it, it has triggers, ...); empty
    means it may. The rest is what the new table must carry over from the old one:
    its key, grants and comment, and (for dialects without ``CREATE TABLE … LIKE``)
    its columns' details.
    """

    blockers: list[str]
    primary_key: list[str] = field(default_factory=list)
    primary_key_name: str | None = None
    grants: list[str] = field(default_factory=list)
    comment: str | None = None
    columns: list[ColumnDetails] = field(default_factory=list)
