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
import re
from collections.abc import Collection, Mapping
from typing import Any

from pipekit import module_settings as settings
from pipekit.engine.validate_query import (
    NAME_RE,
    PLACEHOLDER_RE,
    QueryChecks,
    did_you_mean,
    kind_of,
    placeholders,
)
from pipekit.errors import Problem

# re-exported: the faces and the manifest check read them from here
__all__ = [
    "NAME_RE",
    "PLACEHOLDER_RE",
    "Problem",
    "did_you_mean",
    "kind_of",
    "module_problems",
    "placeholders",
    "split_key",
]

MERGE_STRATEGIES = settings.MERGE_STRATEGIES
WATERMARK_OPS = settings.WATERMARK_OPS
HOOK_RUN_ON = ("success", "failure", "always")
#: strategies whose loads delete by key, so key_sync (deleting vanished keys) fits them
KEY_SYNC_STRATEGIES = ("incremental", "upsert")
#: what a user sets on a module, in display order (declared in pipekit.module_settings)
MODULE_SETTINGS = settings.NAMES


def split_key(value: str) -> list[str]:
    """``"a, b"`` -> ``["a", "b"]`` (composite keys are comma-separated destination names)."""
    return [part.strip() for part in value.split(",")]


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


#: what a source_table may be: a table a connector's options declare
SOURCE_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")


def source_problem(query: str | None, table: str | None) -> Problem | None:
    """The problem with a module's source side: it reads a query or a connector's
    table, exactly one of them (every face refuses the same way)."""
    if query is None and table is None:
        return Problem(
            "source_query",
            "is required: the SELECT that reads the source, or instead source_table, "
            "a table of a connector connection",
        )
    if query is not None and table is not None:
        return Problem(
            "source_table",
            "give source_query or source_table, not both: a module reads a query on a "
            "database or a table of a connector; clear the other one",
        )
    if table is not None and not SOURCE_TABLE.match(table):
        return Problem(
            "source_table",
            f"{table!r} is not a connector table name; use the name the connection's "
            "options declare under tables (letters, digits, _ . -)",
        )
    return None


def source_kind_problems(spec: Mapping[str, Any], urls: dict[str, str]) -> list[Problem]:
    """A source_table needs a connector connection, a source_query a database."""
    from pipekit.connectors.sources import connector_kind, is_connector_url

    url = urls.get(str(spec.get("source") or ""))
    if url is None:
        return []
    connector = is_connector_url(url)
    if connector and spec.get("source_query") and not spec.get("source_table"):
        return [
            Problem(
                "source_query",
                f"source connection '{spec['source']}' is a {connector_kind(url)} connector, "
                "which runs no SQL: name one of its tables with source_table instead "
                "(`pipekit modules edit NAME --query '' --source-table TABLE`)",
            )
        ]
    if not connector and spec.get("source_table") and not spec.get("source_query"):
        return [
            Problem(
                "source_table",
                f"source connection '{spec['source']}' is a database: read it with "
                "source_query; source_table names a table of a connector connection "
                "(rest+https://, file:///, s3://, connector://)",
            )
        ]
    return []


#: a name Pipekit gives an audit column: quoted nowhere differently by any destination
AUDIT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class _Checker(QueryChecks):
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
        self._nul()
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
        self._audit_columns(columns)
        self._hooks()
        self._checks()
        return self.problems

    # -- shape -------------------------------------------------------------

    def _nul(self) -> None:
        """Refuse a NUL character in any text of the definition (settings, watermarks,
        hooks, checks): PostgreSQL cannot store it, and a query holding one is cut short
        by some clients and read whole by others."""
        stack: list[tuple[str, Any]] = [(key, value) for key, value in self.spec.items()]
        while stack:
            path, value = stack.pop()
            if isinstance(value, str) and "\x00" in value:
                self.bad.add(path)
                self.add(
                    path,
                    "contains a NUL character (\\0), which no setting may hold; remove it "
                    "(a file pasted from a binary or UTF-16 source can carry one)",
                )
            elif isinstance(value, Mapping):
                stack.extend((f"{path}.{k}", v) for k, v in value.items())
            elif isinstance(value, list | tuple):
                stack.extend((f"{path}[{i}]", v) for i, v in enumerate(value))

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
                self.add(s.name, f"must be {what}, not {kind_of(value)}")

    def _required(self) -> None:
        for key, what in settings.REQUIRED.items():
            if key not in self.bad and self.text(key) is None:
                self.add(key, f"is required: {what}")
        self._source_kind()

    def _source_kind(self) -> None:
        """Exactly one of source_query and source_table (``source_problem``)."""
        if {"source_query", "source_table"} & self.bad:
            return
        problem = source_problem(self.text("source_query"), self.text("source_table"))
        if problem is not None:
            self.problems.append(problem)

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

    def _audit_columns(self, columns: Any) -> None:
        """Audit column names: identifiers, distinct, and not a column of the query."""
        from pipekit.engine.merge import LOADED_AT, RUN_ID

        defaults = {"audit_loaded_at_column": LOADED_AT, "audit_run_id_column": RUN_ID}
        names: dict[str, str] = {}
        for key in ("audit_loaded_at_column", "audit_run_id_column", "audit_source_column"):
            given = self.text(key)
            if given is not None and not AUDIT_NAME.fullmatch(given):
                self.add(
                    key,
                    f"{given!r} is not a column name Pipekit creates: use letters, digits and "
                    "_, not starting with a digit, at most 63 characters (e.g. dss_load_date)",
                )
                continue
            name = given or defaults.get(key)
            if name is None:
                continue
            other = next((k for k, n in names.items() if n.lower() == name.lower()), None)
            if other is not None and (given or self.text(other)):
                self.add(key, f"names the same column as {other} ({name}); give it another name")
            names[key] = name
            if given and columns is not None and not columns.has_star:
                clash = [c for c in columns.names() if c.lower() == name.lower()]
                if clash:
                    self.add(
                        key,
                        f"{name} is also a column of the source query; give the audit "
                        "column another name, or alias the source column",
                    )

    def _list(self, key: str) -> list[Any]:
        items = self.spec.get(key)
        if items is None:
            return []
        if not isinstance(items, list | tuple):
            self.add(key, f"must be a list, not {kind_of(items)}")
            return []
        return list(items)

    def _hooks(self) -> None:
        for i, hook in enumerate(self._list("hooks")):
            path = f"hooks[{i}]"
            if not isinstance(hook, Mapping):
                self.add(path, f"must be a mapping with sql and run_on, not {kind_of(hook)}")
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
                self.add(path, f"must be a mapping with name and sql, not {kind_of(check)}")
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
