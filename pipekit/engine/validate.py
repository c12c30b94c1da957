"""Check one module definition statically: every problem, with where it is and how to fix it.

    >>> module_problems({"source": "erp", ...}, source_dialect="postgres", connections={"erp"})
    [Problem(path='merge_key', message="'dcord#' is not a destination column ...")]

Nothing here connects to a database: the source query is parsed with sqlglot in
the source's dialect (``pipekit.engine.columns``), so merge keys and watermark
columns are checked against the query's destination column names. The rules
are listed in docs/yaml.md ("Validation rules"); ``pipekit apply``, the module
commands and the API all use this one function, so a definition is judged the
same way wherever it comes from.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Collection, Mapping
from typing import Any

from pipekit import module_settings as settings
from pipekit.errors import Problem

MERGE_STRATEGIES = settings.MERGE_STRATEGIES
WATERMARK_OPS = settings.WATERMARK_OPS
HOOK_RUN_ON = ("success", "failure", "always")
#: strategies whose loads delete by key, so key_sync (deleting vanished keys) fits them
KEY_SYNC_STRATEGIES = ("incremental", "upsert")
#: what a user sets on a module, in display order (declared in pipekit.module_settings)
MODULE_SETTINGS = settings.NAMES
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


def split_key(value: str) -> list[str]:
    """``"a, b"`` -> ``["a", "b"]`` (composite keys are comma-separated destination names)."""
    return [part.strip() for part in value.split(",")]


def placeholders(sql: str) -> list[str]:
    """The ``{name}`` placeholders in `sql`, in order of first appearance."""
    return list(dict.fromkeys(PLACEHOLDER_RE.findall(sql)))


def module_problems(
    spec: Mapping[str, Any],
    *,
    source_dialect: str | None,
    connections: Collection[str] | None = None,
) -> list[Problem]:
    """Every problem of one module definition (all of them, not the first).

    `spec` holds the module's fields as the store names them, plus optional
    ``watermarks`` (name -> {connection, resolver_sql, default}), ``hooks``
    (list of {sql, run_on}) and ``checks`` (list of {name, sql}). Keys it does
    not know (``name``, ``id``, lock fields) are ignored. `source_dialect` is
    the sqlglot dialect of the source connection; None skips the checks that
    parse SQL. `connections`, when given, are the connection names that exist.
    """
    return _Checker(spec, source_dialect, connections).run()


class _Checker:
    def __init__(
        self,
        spec: Mapping[str, Any],
        dialect: str | None,
        connections: Collection[str] | None,
    ) -> None:
        self.spec = spec
        self.dialect = dialect
        self.connections = None if connections is None else set(connections)
        self.problems: list[Problem] = []
        self.bad: set[str] = set()  # fields with the wrong type: no further checks on them
        self.key_sync_columns: Any = None
        self.stand_ins: list[str] = []  # placeholder names, by stand-in number
        self.query_placeholders: list[str] = []  # the {names} the source query uses

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def text(self, key: str) -> str | None:
        """The field as non-empty text, or None (absent, empty, or the wrong type)."""
        value = self.spec.get(key)
        if key in self.bad or not isinstance(value, str) or not value.strip():
            return None
        return value

    def run(self) -> list[Problem]:
        self._types()
        self._required()
        self._connections()
        self._dest_table()
        strategy = self._strategy()
        declared = self._watermarks()
        columns = self._query(declared)
        keys = self._merge_key(strategy, columns)
        self._watermark_column(strategy, keys, columns)
        self._key_sync(strategy, keys)
        self._full_refresh(strategy)
        self._hooks()
        self._checks()
        return self.problems

    # -- shape -------------------------------------------------------------

    def _types(self) -> None:
        for s in settings.SETTINGS:
            value = self.spec.get(s.name)
            if value is None:
                continue
            if s.kind == "bool":
                wrong, what = not isinstance(value, bool), "true or false"
            elif s.kind == "window":
                wrong = isinstance(value, bool) or not isinstance(value, str | int | float)
                what = "a duration such as '2 days' or a number"
            else:
                wrong = not isinstance(value, str)
                what = "a duration such as '5 minutes'" if s.name == "safety_lag" else "text"
            if wrong:
                self.bad.add(s.name)
                self.add(s.name, f"must be {what}, not {_kind(value)}")

    def _required(self) -> None:
        for key, what in settings.REQUIRED.items():
            if key not in self.bad and self.text(key) is None:
                self.add(key, f"is required: {what}")

    def _connection(self, path: str, name: Any, role: str) -> None:
        if self.connections is None or not isinstance(name, str) or not name:
            return
        if name not in self.connections:
            known = ", ".join(sorted(self.connections)) or "none"
            self.add(
                path,
                f"{role} connection '{name}' does not exist{did_you_mean(name, self.connections)} "
                f"(known: {known}); define it under connections or with "
                "`pipekit connections add`",
            )

    def _connections(self) -> None:
        self._connection("source", self.text("source"), "source")
        self._connection("dest", self.text("dest"), "destination")

    def _dest_table(self) -> None:
        from pipekit.drivers.base import TableRef
        from pipekit.errors import ConnectionSpecError

        table = self.text("dest_table")
        if table is None:
            return
        bare = re.sub(r'"[^"]*"', '""', table)  # what is left outside double quotes
        if re.search(r"\s|;", bare) or ".." in bare or bare.startswith(".") or bare.endswith("."):
            self.add(
                "dest_table",
                f"{table!r} is not a table name; write schema.table or table "
                "(double-quote a part that has spaces or special characters)",
            )
            return
        try:
            TableRef.parse(table)
        except ConnectionSpecError as exc:
            self.add("dest_table", f"{exc}")

    def _strategy(self) -> str | None:
        if "merge_strategy" in self.bad:
            return None
        strategy = self.spec.get("merge_strategy") or "full"
        if strategy not in MERGE_STRATEGIES:
            self.add(
                "merge_strategy",
                f"{strategy!r} is not a merge strategy{did_you_mean(strategy, MERGE_STRATEGIES)} "
                f"(one of: {', '.join(MERGE_STRATEGIES)})",
            )
            return None
        return strategy

    # -- the query and its placeholders --------------------------------------

    def _watermarks(self) -> set[str]:
        """Check the named watermarks; returns the declared names."""
        items = self.spec.get("watermarks")
        if items is None:
            return set()
        if not isinstance(items, Mapping):
            self.add("watermarks", f"must be a mapping of name to settings, not {_kind(items)}")
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
                self.add(path, f"must be a mapping with resolver_sql, not {_kind(item)}")
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
                self.add(f"{path}.connection", f"must be a connection name, not {_kind(conn)}")
            else:
                self._connection(f"{path}.connection", conn, "watermark")
            default = item.get("default", item.get("default_value"))
            if default is not None and (
                isinstance(default, bool) or not isinstance(default, str | int | float | dt.date)
            ):
                self.add(f"{path}.default", f"must be a text or number value, not {_kind(default)}")
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

    # -- keys and watermarks --------------------------------------------------

    def _columns_exist(self, key: str, names: list[str], columns: Any) -> None:
        from pipekit.engine.columns import unknown_column_message

        if columns is None or columns.has_star:
            return  # no parse, or SELECT *: the names are only known at run time
        known = columns.names()
        for name in names:
            if name not in known:
                self.add(key, unknown_column_message(name, known))

    def _merge_key(self, strategy: str | None, columns: Any) -> list[str]:
        raw = self.text("merge_key")
        if raw is None:
            if strategy in ("incremental", "upsert") and "merge_key" not in self.bad:
                self.add(
                    "merge_key",
                    f"is required for merge_strategy {strategy}: the destination column(s) "
                    "that identify a row, e.g. 'id' or 'order_id, line_no'",
                )
            return []
        keys = split_key(raw)
        if any(not k for k in keys):
            self.add("merge_key", f"{raw!r} has an empty part; write 'a' or 'a, b'")
            return []
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            self.add("merge_key", f"lists {', '.join(twice)} more than once")
        self._columns_exist("merge_key", keys, columns)
        return keys

    def _watermark_column(self, strategy: str | None, keys: list[str], columns: Any) -> None:
        column = self.text("watermark_column")
        if column is not None:
            if "," in column:
                self.add(
                    "watermark_column",
                    f"{column!r} names several columns; a watermark is one destination column "
                    "that grows, e.g. updated_at",
                )
                column = None
            elif strategy == "full":
                self.add(
                    "watermark_column",
                    "merge_strategy full replaces every row, so a watermark would keep only "
                    "the rows read since the last run; remove watermark_column, or use "
                    "incremental, append or upsert",
                )
            else:
                self._columns_exist("watermark_column", [column], columns)
        effective = column
        if column is None and strategy == "incremental" and keys:
            if len(keys) > 1:
                if not self.query_placeholders:  # else a named watermark filters the reads
                    self.add(
                        "watermark_column",
                        f"is required for incremental with the composite merge_key "
                        f"'{', '.join(keys)}': name the one destination column that grows "
                        "(e.g. updated_at), or filter the query with a named watermark",
                    )
            elif not self.query_placeholders:  # a named watermark filters the reads
                effective = keys[0]  # incremental falls back to the merge key
        self._window(effective, strategy)

    def _window(self, effective: str | None, strategy: str | None) -> None:
        from pipekit.engine.watermarks import parse_window
        from pipekit.errors import WatermarkError

        op = self.spec.get("watermark_op")
        if "watermark_op" not in self.bad and op is not None and op not in WATERMARK_OPS:
            self.add("watermark_op", f"{op!r} is not '>' or '>='")
        for key in ("lookback", "safety_lag"):
            value = self.spec.get(key)
            if key in self.bad or value is None or value == "":
                continue
            try:
                window = parse_window(value)
            except WatermarkError as exc:
                self.add(key, str(exc))
                continue
            if window is None:  # parse_window returns None only for None or ""
                continue
            if key == "lookback" and not isinstance(window, dt.timedelta) and window < 0:
                self.add(key, f"{value!r} is negative; a look-back re-reads, it cannot skip ahead")
                continue
            if key == "safety_lag" and not isinstance(window, dt.timedelta):
                self.add(
                    key,
                    f"{value!r} is not a duration; write e.g. '5 minutes' (a safety lag "
                    "leaves out rows newer than now minus the lag)",
                )
                continue
            if effective is None and strategy is not None:
                if strategy == "full":
                    why = "merge_strategy full reads every row; remove it"
                else:
                    why = "set watermark_column" + (
                        " (or merge_key, which incremental falls back to)"
                        if strategy == "incremental"
                        else ""
                    )
                self.add(key, f"has no effect without a watermark column: {why}")

    def _key_sync(self, strategy: str | None, keys: list[str]) -> None:
        key_sync = self.spec.get("key_sync")
        if key_sync is not True:
            if self.text("key_sync_query") is not None and "key_sync" not in self.bad:
                self.add(
                    "key_sync_query",
                    "is set but key_sync is off; set key_sync: true, or remove key_sync_query",
                )
            return
        if strategy is not None and strategy not in KEY_SYNC_STRATEGIES:
            why = {
                "full": "a full load already removes the rows that left the source",
                "append": "append never deletes",
            }[strategy]
            self.add(
                "key_sync",
                f"needs merge_strategy incremental or upsert, not {strategy} ({why})",
            )
        if self.text("merge_key") is None and "merge_key" not in self.bad:
            if strategy not in KEY_SYNC_STRATEGIES:  # else "merge_key: is required" said it
                self.add(
                    "key_sync",
                    "needs a merge_key: the key columns whose vanished values are deleted",
                )
            return
        if (
            strategy in KEY_SYNC_STRATEGIES
            and self.query_placeholders
            and self.text("key_sync_query") is None
        ):
            names = ", ".join(f"{{{n}}}" for n in self.query_placeholders)
            self.add(
                "key_sync",
                f"needs key_sync_query: the source query is filtered by {names}, so it cannot "
                "list every source key; set key_sync_query to a query that selects them all",
            )
        key_columns = self.key_sync_columns
        if (
            keys
            and not any(p.path == "merge_key" for p in self.problems)
            and key_columns is not None
            and not key_columns.has_star
            and len(key_columns.columns) != len(keys)
        ):
            self.add(
                "key_sync_query",
                f"returns {len(key_columns.columns)} column(s) but merge_key "
                f"'{', '.join(keys)}' has {len(keys)}; select the source's key columns "
                "in merge_key order",
            )

    def _full_refresh(self, strategy: str | None) -> None:
        from pipekit.cron import cron_problem

        expr = self.text("full_refresh_cron")
        if expr is None:
            return
        problem = cron_problem(expr, example="0 3 * * 0")
        if problem is not None:
            self.add("full_refresh_cron", f"{expr!r}: {problem}")
        elif strategy == "full":
            self.add(
                "full_refresh_cron",
                "has no effect: merge_strategy full already reloads every row on every run; "
                "remove it",
            )

    # -- hooks and checks ----------------------------------------------------

    def _list(self, key: str) -> list[Any]:
        items = self.spec.get(key)
        if items is None:
            return []
        if not isinstance(items, list | tuple):
            self.add(key, f"must be a list, not {_kind(items)}")
            return []
        return list(items)

    def _hooks(self) -> None:
        for i, hook in enumerate(self._list("hooks")):
            path = f"hooks[{i}]"
            if not isinstance(hook, Mapping):
                self.add(path, f"must be a mapping with sql and run_on, not {_kind(hook)}")
                continue
            sql = hook.get("sql")
            if not isinstance(sql, str) or not sql.strip():
                self.add(f"{path}.sql", "is required: the SQL run on the destination")
            run_on = hook.get("run_on", "success")
            if run_on not in HOOK_RUN_ON:
                hint = did_you_mean(run_on, HOOK_RUN_ON) if isinstance(run_on, str) else ""
                self.add(
                    f"{path}.run_on",
                    f"{run_on!r} is not one of {', '.join(HOOK_RUN_ON)}{hint}",
                )

    def _checks(self) -> None:
        seen: dict[str, int] = {}
        for i, check in enumerate(self._list("checks")):
            path = f"checks[{i}]"
            if not isinstance(check, Mapping):
                self.add(path, f"must be a mapping with name and sql, not {_kind(check)}")
                continue
            name = check.get("name")
            if not isinstance(name, str) or not NAME_RE.match(name):
                self.add(
                    f"{path}.name",
                    f"invalid check name {name!r}: use letters, digits and '_', not starting "
                    "with a digit",
                )
            elif name in seen:
                self.add(
                    f"{path}.name",
                    f"check '{name}' is already defined at checks[{seen[name]}]; "
                    "names must be unique",
                )
            else:
                seen[name] = i
            sql = check.get("sql")
            if not isinstance(sql, str) or not sql.strip():
                self.add(
                    f"{path}.sql",
                    "is required: a query on the destination that returns no rows when the "
                    "data is right",
                )


def _kind(value: Any) -> str:
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
