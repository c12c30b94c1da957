"""The source query's part of checking a module: its named ``{placeholders}``, whether
it parses in the source's dialect, and its destination columns.

``QueryChecks`` is mixed into the validator (``engine/validate.py``), whose state
(``spec``, ``dialect``, ``bad``, ``stand_ins``, …) and ``add``/``text`` it uses.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

#: ``{name}`` in a query: a named watermark, replaced by a typed literal at run time
PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
# What stands in for placeholder number N while parsing: a number, valid wherever
# the engine's typed literal will be, and easy to find again inside a string token.
_STAND_IN = "4242424242{:03d}"
_STAND_IN_RE = re.compile(r"4242424242(\d{3})")


def did_you_mean(name: str, known: Collection[str]) -> str:
    """``"; did you mean 'dw'?"`` when a known name is close to `name`, else ``""``."""
    hint = difflib.get_close_matches(name, sorted(known), n=1)
    return f"; did you mean '{hint[0]}'?" if hint else ""


def placeholders(sql: str) -> list[str]:
    """The ``{name}`` placeholders in `sql`, in order of first appearance."""
    return list(dict.fromkeys(PLACEHOLDER_RE.findall(sql)))


class QueryChecks:
    """The query half of the validator; the validator supplies the state declared here."""

    spec: Mapping[str, Any]
    dialect: str | None
    bad: set[str]
    key_sync_columns: Any
    stand_ins: list[str]
    query_placeholders: list[str]

    if TYPE_CHECKING:

        def add(self, path: str, message: str) -> None: ...

        def text(self, key: str) -> str | None: ...

        def _connection(self, path: str, name: Any, role: str) -> None: ...

    def _watermarks(self) -> set[str]:
        """Check the named watermarks; returns the declared names."""
        items = self.spec.get("watermarks")
        if items is None:
            return set()
        if not isinstance(items, Mapping):
            self.add("watermarks", f"must be a mapping of name to settings, not {kind_of(items)}")
            return set()
        declared: set[str] = set()
        for name, item in items.items():
            path = f"watermarks.{name}"
            if not isinstance(name, str) or not NAME_RE.match(name):
                self.add(
                    path,
                    f"invalid watermark name {name!r}: use letters, digits and '_', not "
                    "starting with a digit (it is written {name} in the source query)",
                )
                continue
            declared.add(name)
            if not isinstance(item, Mapping):
                self.add(path, f"must be a mapping with resolver_sql, not {kind_of(item)}")
                continue
            resolver = item.get("resolver_sql")
            if not isinstance(resolver, str) or not resolver.strip():
                self.add(
                    f"{path}.resolver_sql",
                    "is required: the SQL whose first cell is the watermark value, "
                    "e.g. SELECT max(updated_at) FROM sync.orders",
                )
            conn = item.get("connection")
            if conn is not None and not isinstance(conn, str):
                self.add(f"{path}.connection", f"must be a connection name, not {kind_of(conn)}")
            else:
                self._connection(f"{path}.connection", conn, "watermark")
            default = item.get("default", item.get("default_value"))
            if default is not None and (
                isinstance(default, bool) or not isinstance(default, str | int | float | dt.date)
            ):
                self.add(
                    f"{path}.default", f"must be a text or number value, not {kind_of(default)}"
                )
        return declared

    def _placeholders(self, key: str, declared: set[str], used: set[str]) -> str | None:
        """The SQL of `key` with placeholders checked and replaced; None if unusable."""
        sql = self.text(key)
        if sql is None:
            return None
        names = placeholders(sql)
        used.update(names)
        for name in names:
            if name not in declared:
                where = f"declared: {', '.join(sorted(declared))}" if declared else "none are"
                self.add(
                    key,
                    f"placeholder {{{name}}} is not a declared watermark"
                    f"{did_you_mean(name, declared)} ({where}); declare it under "
                    f"watermarks, or remove it",
                )
        return PLACEHOLDER_RE.sub(lambda m: _STAND_IN.format(self._number(m.group(1))), sql)

    def _number(self, name: str) -> int:
        if name not in self.stand_ins:
            self.stand_ins.append(name)
        return self.stand_ins.index(name)

    def _unstand(self, text: str) -> str:
        """`text` with stand-in numbers turned back into their ``{name}`` placeholders."""
        return _STAND_IN_RE.sub(lambda m: "{" + self.stand_ins[int(m.group(1))] + "}", text)

    def _quoted_placeholders(self, key: str, sql: str) -> None:
        """A placeholder inside a string literal (the engine's literal brings its own quotes)."""
        import sqlglot
        from sqlglot.tokens import TokenType

        try:
            tokens = sqlglot.tokenize(sql, read=self.dialect)
        except Exception:  # the parse reports it
            return
        strings = (TokenType.STRING, TokenType.NATIONAL_STRING)
        quoted = [
            self._unstand(m.group(0))
            for t in tokens
            if t.token_type in strings
            for m in _STAND_IN_RE.finditer(t.text)
        ]
        if quoted:
            self.add(
                key,
                f"write {', '.join(dict.fromkeys(quoted))} without quotes around it: Pipekit "
                "replaces a placeholder with a typed, escaped literal, quotes included",
            )

    def _query(self, declared: set[str]) -> Any:
        """Parse the source query; the ColumnMap, or None when it cannot be checked."""
        used: set[str] = set()
        sql = self._placeholders("source_query", declared, used)
        self.query_placeholders = sorted(used)
        key_sql = self.text("key_sync_query")
        if key_sql is not None and placeholders(key_sql):
            names = ", ".join(f"{{{n}}}" for n in placeholders(key_sql))
            self.add(
                "key_sync_query",
                f"cannot use placeholders ({names}): it must list every source key, "
                "unfiltered, or key_sync would delete the rows it leaves out",
            )
            key_sql = PLACEHOLDER_RE.sub(lambda m: _STAND_IN.format(self._number(m[1])), key_sql)
        for name in sorted(declared - used):
            self.add(
                f"watermarks.{name}",
                f"is declared but the source query does not use {{{name}}}; use it "
                f"(e.g. WHERE updated_at > {{{name}}}) or remove the watermark",
            )
        if self.dialect is None:
            return None  # unknown source kind: its SQL cannot be parsed here
        if key_sql is not None:
            self.key_sync_columns = self._parse("key_sync_query", key_sql)
        return None if sql is None else self._parse("source_query", sql)

    def _parse(self, key: str, sql: str) -> Any:
        """The ColumnMap of `sql` (placeholders already replaced), or None with a problem."""
        import sqlglot
        from sqlglot.errors import ParseError

        from pipekit.engine.columns import parse_columns
        from pipekit.errors import ColumnMappingError

        self._quoted_placeholders(key, sql)
        try:
            sqlglot.parse(sql, read=self.dialect)
        except ParseError as exc:
            self.add(
                key,
                self._unstand(_parse_error_message(exc, sql, self.dialect or "", self.stand_ins)),
            )
            return None
        except Exception as exc:  # the tokenizer raises plain errors
            self.add(key, f"does not parse as {self.dialect} SQL: {self._unstand(str(exc))}")
            return None
        try:
            return parse_columns(sql, self.dialect or "")
        except ColumnMappingError as exc:
            message = self._unstand(str(exc))
            if key != "source_query":
                message = message.replace("the source query", "the query")
            self.add(key, message)
            return None


def kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, dt.date):
        return f"the date {value.isoformat()}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return type(value).__name__


def _parse_error_message(exc: Any, sql: str, dialect: str, names: list[str]) -> str:
    """One line: what sqlglot expected, where (line and column of the query), near what.

    `sql` is what was parsed (placeholders replaced by stand-ins); the column is
    given in the query as written, with its placeholders.
    """
    first = exc.errors[0] if getattr(exc, "errors", None) else {}
    what = first.get("description") or str(exc).splitlines()[0]
    missing = re.match(r"Required keyword: '(\w+)' missing for <class '[\w.]*?(\w+)'>", what)
    if missing:  # sqlglot's internals, said the way a user thinks of it
        what = f"{missing.group(2).upper()} is incomplete (its {missing.group(1)} is missing)"
    where = ""
    if first.get("line"):
        line, col = first["line"], first["col"]
        lines = sql.splitlines() or [""]
        text = lines[min(line, len(lines)) - 1]
        for m in _STAND_IN_RE.finditer(text):
            if m.start() < col:  # the placeholder written there is shorter or longer
                col -= len(m.group(0)) - len("{" + names[int(m.group(1))] + "}")
        where = f" at line {line}, column {col}"
        near = str(first.get("highlight") or "").strip()
        if near:
            where += f" (near '{near}')"
    return f"does not parse as {dialect} SQL{where}: {what}"
