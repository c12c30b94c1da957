"""Column identity: which source expression each destination column comes from.

A module's source query maps source columns to destination names
(``SELECT "DCORD#" AS dcord``). Merge keys and watermark columns are destination
names; a watermark WHERE must use the *source* expression with the source's
quoting, because the source does not know the alias. This module parses the
query with sqlglot and keeps, for every destination column, the expression to
filter on and the base column it reads (RTRIM/TRIM/CAST/COALESCE unwrapped).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from pipekit.errors import (
    ColumnMappingError,
)

_TRIMS = (exp.Trim,)


@dataclass(frozen=True)
class ColumnIdentity:
    """One destination column and where it comes from in the source."""

    dest: str
    #: the projection without its alias, in the source dialect (``RTRIM(dcotyp)``)
    expression: str
    #: what a WHERE on this column filters on: the base column when only trimmed,
    #: else the whole expression (a CAST or COALESCE changes what is compared)
    where: str
    #: the column the value is read from, unwrapped, when there is exactly one
    base_column: str | None
    trimmed: bool


@dataclass(frozen=True)
class ColumnMap:
    """The parsed query: identities in select order, or a star that needs the result."""

    query: exp.Query
    dialect: str
    columns: tuple[ColumnIdentity, ...]
    has_star: bool

    def names(self) -> list[str]:
        return [c.dest for c in self.columns]

    def get(self, dest: str) -> ColumnIdentity:
        """The identity of destination column `dest`; a clear error when unknown."""
        for c in self.columns:
            if c.dest == dest:
                return c
        if self.has_star:
            # SELECT *: the destination name is the source column's own name.
            col = exp.column(dest, quoted=True)
            sql = col.sql(dialect=self.dialect)
            return ColumnIdentity(dest, sql, sql, dest, False)
        raise ColumnMappingError(unknown_column_message(dest, self.names()))

    def with_where(self, condition: exp.Expr) -> str:
        """The query with `condition` ANDed into its outermost WHERE."""
        query = self.query.copy()
        if isinstance(query, exp.Select):
            return query.where(condition, copy=False).sql(dialect=self.dialect)
        # A UNION (or similar) is filtered from outside, by destination names.
        wrapped = exp.select("*").from_(query.subquery("pipekit_src")).where(condition)
        return wrapped.sql(dialect=self.dialect)


def unknown_column_message(name: str, known: list[str]) -> str:
    lowered = {k.lower(): k for k in known}
    hint = difflib.get_close_matches(name.lower(), list(lowered), n=1)
    suggestion = f"; did you mean '{lowered[hint[0]]}'?" if hint else ""
    return (
        f"'{name}' is not a destination column of the source query{suggestion} "
        f"(columns: {', '.join(known) or 'none'})"
    )


def _unwrap(node: exp.Expr) -> tuple[exp.Expr, bool]:
    """Strip TRIM/RTRIM/CAST/COALESCE(first argument) down to a column, if there is one."""
    trimmed = False
    while True:
        if isinstance(node, exp.Paren):
            node = node.this
        elif isinstance(node, _TRIMS):
            node, trimmed = node.this, True
        elif isinstance(node, exp.Cast | exp.TryCast | exp.Coalesce):
            node = node.this
        else:
            return node, trimmed


def _only_trimmed(node: exp.Expr) -> bool:
    while isinstance(node, exp.Paren | exp.Trim):
        node = node.this
    return isinstance(node, exp.Column)


def parse_columns(sql: str, dialect: str) -> ColumnMap:
    """Map every output column of `sql` to its source expression."""
    try:
        statements = sqlglot.parse(sql, dialect=dialect)
    except ParseError as exc:
        raise ColumnMappingError(f"the source query does not parse: {exc}") from None
    statements = [s for s in statements if s is not None]
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise ColumnMappingError("the source query must be exactly one SELECT statement")
    query = statements[0]
    identities: list[ColumnIdentity] = []
    has_star = False
    is_select = isinstance(query, exp.Select)
    for position, projection in enumerate(query.selects, 1):
        node = projection.unalias()
        if isinstance(node, exp.Star) or (
            isinstance(node, exp.Column) and isinstance(node.this, exp.Star)
        ):
            has_star = True
            continue
        dest = projection.alias_or_name
        if not dest or (not projection.alias and not isinstance(node, exp.Column)):
            raise ColumnMappingError(
                f"column {position} of the source query ({node.sql(dialect=dialect)}) has no "
                "name; give it one with AS name"
            )
        base, trimmed = _unwrap(node)
        expression = node.sql(dialect=dialect)
        where = base.sql(dialect=dialect) if _only_trimmed(node) else expression
        if not is_select:
            # A UNION is filtered from outside, where only the output names exist.
            where = exp.column(dest, quoted=True).sql(dialect=dialect)
        base_column = base.name if isinstance(base, exp.Column) else None
        identities.append(ColumnIdentity(dest, expression, where, base_column, trimmed))
    seen: set[str] = set()
    for c in identities:
        if c.dest.lower() in seen:
            raise ColumnMappingError(
                f"destination column '{c.dest}' appears twice in the source query; "
                "give each output column a distinct alias"
            )
        seen.add(c.dest.lower())
    if not is_select and has_star:
        raise ColumnMappingError("SELECT * inside a UNION cannot be mapped; list the columns")
    return ColumnMap(query, dialect, tuple(identities), has_star)
