"""The module validator: every rule, one bad input each, with the exact message."""

from __future__ import annotations

from typing import Any

import pytest

from pipekit.engine.validate import Problem, module_problems

QUERY = """SELECT "DCORD#" AS dcord, RTRIM(dcotyp) AS dcotyp, dcodat AS dcodat
FROM lgdat.qcrh
WHERE dcodat > {since}"""
CONNECTIONS = {"erp", "dw"}


def good(**changes: Any) -> dict[str, Any]:
    """The issue's example module, which has no problems; `changes` replace fields."""
    spec: dict[str, Any] = {
        "source": "erp",
        "dest": "dw",
        "dest_table": "sync.orders",
        "source_query": QUERY,
        "merge_strategy": "incremental",
        "merge_key": "dcord",
        "watermark_column": "dcodat",
        "watermark_op": ">=",
        "lookback": "2 days",
        "safety_lag": "5 minutes",
        "key_sync": True,
        "key_sync_query": 'SELECT "DCORD#" FROM lgdat.qcrh',
        "full_refresh_cron": "0 3 * * 0",
        "audit_columns": True,
        "enabled": True,
        "watermarks": {
            "since": {
                "connection": "dw",
                "resolver_sql": "SELECT max(x) FROM t",
                "default": "1970-01-01",
            }
        },
        "hooks": [{"sql": "ANALYZE sync.orders", "run_on": "success"}],
        "checks": [
            {"name": "no_null_keys", "sql": "SELECT 1 FROM sync.orders WHERE dcord IS NULL"}
        ],
    }
    spec.update(changes)
    if spec.get("key_sync") is not True and "key_sync_query" not in changes:
        spec["key_sync_query"] = None
    return {k: v for k, v in spec.items() if v is not ...}


def problems(spec: dict[str, Any], dialect: str | None = "postgres") -> list[str]:
    return [str(p) for p in module_problems(spec, source_dialect=dialect, connections=CONNECTIONS)]


def only(spec: dict[str, Any], dialect: str | None = "postgres") -> str:
    found = problems(spec, dialect)
    assert len(found) == 1, found
    return found[0]


# -- good definitions ------------------------------------------------------------


def test_the_issue_example_has_no_problems() -> None:
    assert problems(good()) == []


def test_a_minimal_full_module_has_no_problems() -> None:
    spec = {"source": "erp", "dest": "dw", "dest_table": "t", "source_query": "SELECT a FROM t"}
    assert problems(spec) == []


def test_composite_keys_upsert_and_every_dialect() -> None:
    for dialect, quoted in [
        ("postgres", '"DCORD#"'),
        ("mysql", "`DCORD#`"),
        ("sqlite", '"DCORD#"'),
        ("duckdb", '"DCORD#"'),
    ]:
        spec = good(
            source_query=QUERY.replace('"DCORD#"', quoted),
            merge_strategy="upsert",
            merge_key="dcord, dcotyp",
            key_sync_query=f"SELECT {quoted}, dcotyp FROM lgdat.qcrh",
        )
        assert problems(spec, dialect) == [], dialect


def test_problem_prints_path_then_message() -> None:
    assert str(Problem("hooks[1].run_on", "bad")) == "hooks[1].run_on: bad"
    assert str(Problem("", "bad")) == "bad"


def test_every_problem_is_reported_not_only_the_first() -> None:
    spec = good(merge_key="dcord#", watermark_op="=>", full_refresh_cron="0 25 * * *", dest="dww")
    assert [p.split(":")[0] for p in problems(spec)] == [
        "dest",
        "merge_key",
        "watermark_op",
        "full_refresh_cron",
    ]


def test_select_star_skips_the_column_checks() -> None:
    spec = good(
        source_query="SELECT * FROM lgdat.qcrh WHERE dcodat > {since}", merge_key="anything"
    )
    assert problems(spec) == []


def test_unknown_dialect_skips_the_sql_checks() -> None:
    assert problems(good(source_query="SELEC broken {since}", merge_key="x"), dialect=None) == []


def test_unknown_keys_are_ignored() -> None:
    assert problems(good(name="orders", id=3, running=False, locked_pid=None)) == []


def test_connections_are_not_checked_without_a_list() -> None:
    spec = good(source="nowhere")
    assert module_problems(spec, source_dialect="postgres") == []


# -- required fields and types ---------------------------------------------------


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("source", "source: is required: the connection the source query runs on"),
        ("dest", "dest: is required: the connection the rows are loaded into"),
        ("dest_table", "dest_table: is required: the destination table, e.g. sync.orders"),
        (
            "source_query",
            "source_query: is required: the SELECT that reads the source, or instead "
            "source_table, a table of a connector connection",
        ),
    ],
)
def test_required_fields(key: str, message: str) -> None:
    no_watermarks = {"watermarks": None} if key == "source_query" else {}
    assert only(good(**{key: ...}, **no_watermarks)) == message
    assert only(good(**{key: "  "}, **no_watermarks)) == message


def test_text_field_of_the_wrong_type() -> None:
    assert only(good(dest_table=42)) == "dest_table: must be text, not the number 42"


def test_boolean_field_of_the_wrong_type() -> None:
    assert only(good(enabled="yes")) == "enabled: must be true or false, not the text 'yes'"


def test_lookback_of_the_wrong_type() -> None:
    assert only(good(lookback=[1])) == (
        "lookback: must be a duration such as '2 days' or a number, not a list"
    )


# -- connections and table -------------------------------------------------------


def test_unknown_source_connection_suggests_a_name() -> None:
    assert only(good(source="epr")) == (
        "source: source connection 'epr' does not exist; did you mean 'erp'? (known: dw, erp); "
        "define it under connections or with `pipekit connections add`"
    )


def test_unknown_destination_connection() -> None:
    assert only(good(dest="warehouse")) == (
        "dest: destination connection 'warehouse' does not exist (known: dw, erp); "
        "define it under connections or with `pipekit connections add`"
    )


@pytest.mark.parametrize("table", ["sync orders", "sync.", ".orders", "a..b", "t; DROP TABLE x"])
def test_dest_table_that_is_not_a_table_name(table: str) -> None:
    assert only(good(dest_table=table)) == (
        f"dest_table: {table!r} is not a table name; write schema.table or table "
        "(double-quote a part that has spaces or special characters)"
    )


def test_dest_table_with_three_parts() -> None:
    assert only(good(dest_table="db.sync.orders")) == (
        "dest_table: table name 'db.sync.orders' has three parts; use schema.table or table"
    )


def test_quoted_dest_table_parts_are_fine() -> None:
    assert problems(good(dest_table='sync."Order Lines"')) == []


# -- strategy --------------------------------------------------------------------


def test_unknown_merge_strategy() -> None:
    assert only(good(merge_strategy="incremetal")) == (
        "merge_strategy: 'incremetal' is not a merge strategy; did you mean 'incremental'? "
        "(one of: full, incremental, append, upsert)"
    )


@pytest.mark.parametrize("strategy", ["incremental", "upsert"])
def test_merge_key_is_required_for_keyed_strategies(strategy: str) -> None:
    assert only(good(merge_strategy=strategy, merge_key=None)) == (
        f"merge_key: is required for merge_strategy {strategy}: the destination column(s) "
        "that identify a row, e.g. 'id' or 'order_id, line_no'"
    )


# -- merge key and watermark column ------------------------------------------------


def test_merge_key_that_is_not_a_destination_column() -> None:
    assert only(good(merge_key="dcord#")) == (
        "merge_key: 'dcord#' is not a destination column of the source query; "
        "did you mean 'dcord'? (columns: dcord, dcotyp, dcodat)"
    )


def test_each_part_of_a_composite_key_is_checked() -> None:
    assert only(good(merge_key="dcord, typ", merge_strategy="upsert")) == (
        "merge_key: 'typ' is not a destination column of the source query; did you mean "
        "'dcotyp'? (columns: dcord, dcotyp, dcodat)"
    )


def test_merge_key_with_an_empty_part() -> None:
    assert only(good(merge_key="dcord,,dcotyp")) == (
        "merge_key: 'dcord,,dcotyp' has an empty part; write 'a' or 'a, b'"
    )


def test_merge_key_listing_a_column_twice() -> None:
    assert only(good(merge_key="dcord, dcord")) == "merge_key: lists dcord more than once"


def test_watermark_column_that_is_not_a_destination_column() -> None:
    assert only(good(watermark_column="DCODAT")) == (
        "watermark_column: 'DCODAT' is not a destination column of the source query; "
        "did you mean 'dcodat'? (columns: dcord, dcotyp, dcodat)"
    )


def unfiltered(**changes: Any) -> dict[str, Any]:
    """The example without its named watermark: the merge key can be the watermark."""
    return good(source_query=QUERY.split("\nWHERE")[0], watermarks=None, **changes)


def test_watermark_column_naming_several_columns() -> None:
    assert only(unfiltered(watermark_column="dcodat, dcord")) == (
        "watermark_column: 'dcodat, dcord' names several columns; a watermark is one "
        "destination column that grows, e.g. updated_at"
    )


def test_watermark_column_on_a_full_module() -> None:
    spec = good(
        merge_strategy="full",
        key_sync=False,
        full_refresh_cron=None,
        lookback=None,
        safety_lag=None,
    )
    assert only(spec) == (
        "watermark_column: merge_strategy full replaces every row, so a watermark would keep "
        "only the rows read since the last run; remove watermark_column, or use incremental, "
        "append or upsert"
    )


def test_incremental_falls_back_to_the_merge_key() -> None:
    assert problems(unfiltered(watermark_column=None)) == []


def test_no_merge_key_fallback_when_named_watermarks_filter_the_query() -> None:
    # The engine does not add `key > max(key)` to a query filtered by {since}, so a
    # look-back with no watermark column has nothing to act on.
    found = problems(good(watermark_column=None))
    assert any(p.startswith("lookback: has no effect") for p in found), found


def test_incremental_with_a_composite_key_needs_a_watermark_column() -> None:
    spec = good(
        source_query=QUERY.split("\nWHERE")[0],
        watermarks=None,
        merge_key="dcord, dcotyp",
        watermark_column=None,
        lookback=None,
        safety_lag=None,
        key_sync=False,
        key_sync_query=None,
    )
    assert only(spec) == (
        "watermark_column: is required for incremental with the composite merge_key "
        "'dcord, dcotyp': name the one destination column that grows (e.g. updated_at), or "
        "filter the query with a named watermark"
    )


def test_watermark_op_must_be_greater_than() -> None:
    assert only(good(watermark_op="=>")) == "watermark_op: '=>' is not '>' or '>='"


def test_lookback_that_does_not_parse() -> None:
    assert only(good(lookback="2 fortnights")) == (
        "lookback: cannot read '2 fortnights' as a duration: write e.g. '2 days', '5 minutes', "
        "'1 hour', or a plain number for numeric watermarks"
    )


def test_numeric_lookback_is_fine_and_a_negative_one_is_not() -> None:
    assert problems(good(lookback=100)) == []
    assert only(good(lookback=-5)) == (
        "lookback: -5 is negative; a look-back re-reads, it cannot skip ahead"
    )


@pytest.mark.parametrize("value", ["nan", "NaN", "-inf", "Infinity", float("nan")])
def test_lookback_that_is_not_a_finite_number(value: object) -> None:
    # Decimal reads these; NaN made the validator crash on `window < 0`.
    assert only(good(lookback=value)) == (
        f"lookback: look-back/lag {value!r} is not a finite number; write e.g. 100 or '2 days'"
    )


def test_safety_lag_that_is_a_number() -> None:
    assert only(good(safety_lag=5)) == (
        "safety_lag: must be a duration such as '5 minutes', not the number 5"
    )
    assert only(good(safety_lag="5")) == (
        "safety_lag: '5' is not a duration; write e.g. '5 minutes' (a safety lag leaves out "
        "rows newer than now minus the lag)"
    )


def test_safety_lag_that_does_not_parse() -> None:
    assert only(good(safety_lag="soon")).startswith("safety_lag: cannot read 'soon' as a duration")


def test_lookback_without_a_watermark_column_has_no_effect() -> None:
    spec = good(merge_strategy="append", watermark_column=None, key_sync=False, safety_lag=None)
    assert only(spec) == (
        "lookback: has no effect without a watermark column: set watermark_column"
    )


def test_safety_lag_on_a_full_module_has_no_effect() -> None:
    spec = good(
        merge_strategy="full",
        watermark_column=None,
        key_sync=False,
        full_refresh_cron=None,
        lookback=None,
    )
    assert only(spec) == (
        "safety_lag: has no effect without a watermark column: merge_strategy full reads every "
        "row; remove it"
    )


# -- key sync and full refresh ------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "why"),
    [
        ("full", "a full load already removes the rows that left the source"),
        ("append", "append never deletes"),
    ],
)
def test_key_sync_needs_a_keyed_strategy(strategy: str, why: str) -> None:
    spec = good(
        merge_strategy=strategy,
        watermark_column=None,
        full_refresh_cron=None,
        lookback=None,
        safety_lag=None,
    )
    assert only(spec) == (
        f"key_sync: needs merge_strategy incremental or upsert, not {strategy} ({why})"
    )


def test_key_sync_needs_a_merge_key() -> None:
    spec = good(merge_strategy="append", merge_key=None, lookback=None, safety_lag=None)
    assert problems(spec) == [
        "key_sync: needs merge_strategy incremental or upsert, not append (append never deletes)",
        "key_sync: needs a merge_key: the key columns whose vanished values are deleted",
    ]


def test_key_sync_query_without_key_sync() -> None:
    spec = good(key_sync=False, key_sync_query="SELECT dcord FROM lgdat.qcrh")
    assert only(spec) == (
        "key_sync_query: is set but key_sync is off; set key_sync: true, or remove key_sync_query"
    )


def test_key_sync_query_returning_the_wrong_number_of_columns() -> None:
    assert only(good(key_sync_query="SELECT dcord, dcotyp FROM lgdat.qcrh")) == (
        "key_sync_query: returns 2 column(s) but merge_key 'dcord' has 1; select the source's "
        "key columns in merge_key order"
    )


def test_key_sync_query_that_does_not_parse() -> None:
    assert only(good(key_sync_query="SELECT FROM WHERE")).startswith(
        "key_sync_query: does not parse as postgres SQL at line 1"
    )


def test_full_refresh_cron_that_is_not_cron() -> None:
    assert only(good(full_refresh_cron="0 25 * * *")) == (
        "full_refresh_cron: '0 25 * * *': the hour field 25 is out of range 0-23"
    )


def test_full_refresh_cron_on_a_full_module() -> None:
    spec = good(
        merge_strategy="full",
        watermark_column=None,
        key_sync=False,
        lookback=None,
        safety_lag=None,
    )
    assert only(spec) == (
        "full_refresh_cron: has no effect: merge_strategy full already reloads every row on "
        "every run; remove it"
    )


# -- the source query and its placeholders ------------------------------------------


def test_source_query_that_does_not_parse() -> None:
    spec = good(source_query="SELECT dcord FROM t WHERE dcodat > {since} AND")
    assert problems(spec) == [
        "source_query: does not parse as postgres SQL at line 1, column 46 (near 'AND'): "
        "AND is incomplete (its expression is missing)",
    ]


def test_source_query_with_an_unterminated_string() -> None:
    spec = good(source_query="SELECT 'abc AS dcord FROM t WHERE x > {since}")
    assert only(spec).startswith("source_query: does not parse as postgres SQL: Error tokenizing")


def test_source_query_that_is_not_a_select() -> None:
    assert only(good(source_query="DELETE FROM t WHERE x > {since}")) == (
        "source_query: the source query must be exactly one SELECT statement"
    )


def test_source_query_column_without_a_name() -> None:
    spec = good(source_query="SELECT dcord, dcodat, dcord + 1 FROM t WHERE x > {since}")
    assert only(spec) == (
        "source_query: column 3 of the source query (dcord + 1) has no name; give it one with "
        "AS name"
    )


def test_source_query_with_a_column_twice() -> None:
    spec = good(source_query="SELECT a AS dcord, b AS dcord, dcodat FROM t WHERE x > {since}")
    assert only(spec) == (
        "source_query: destination column 'dcord' appears twice in the source query; give each "
        "output column a distinct alias"
    )


def test_parse_errors_show_the_placeholder_not_its_stand_in() -> None:
    spec = good(source_query="SELECT dcord, dcodat FROM t WHERE x > {since} {since}")
    message = only(spec)
    assert "{since}" in message and "4242" not in message


def test_placeholder_that_is_not_a_declared_watermark() -> None:
    spec = good(source_query=QUERY + " AND dcord > {sinse}")
    assert only(spec) == (
        "source_query: placeholder {sinse} is not a declared watermark; did you mean 'since'? "
        "(declared: since); declare it under watermarks, or remove it"
    )


def test_placeholder_without_any_watermarks() -> None:
    spec = good(watermarks=...)
    assert only(spec) == (
        "source_query: placeholder {since} is not a declared watermark (none are); "
        "declare it under watermarks, or remove it"
    )


def test_declared_watermark_that_the_query_does_not_use() -> None:
    spec = good(source_query=QUERY.split("\nWHERE")[0])
    assert only(spec) == (
        "watermarks.since: is declared but the source query does not use {since}; use it "
        "(e.g. WHERE updated_at > {since}) or remove the watermark"
    )


def test_placeholder_inside_quotes() -> None:
    spec = good(source_query=QUERY.replace("{since}", "'{since}'"))
    assert only(spec) == (
        "source_query: write {since} without quotes around it: Pipekit replaces a placeholder "
        "with a typed, escaped literal, quotes included"
    )


def test_key_sync_query_cannot_use_placeholders() -> None:
    spec = good(key_sync_query="SELECT dcord FROM lgdat.qcrh WHERE dcodat > {since}")
    assert only(spec) == (
        "key_sync_query: cannot use placeholders ({since}): it must list every source key, "
        "unfiltered, or key_sync would delete the rows it leaves out"
    )


def test_key_sync_on_a_query_filtered_by_a_named_watermark_needs_a_key_query() -> None:
    assert only(good(key_sync_query=None)) == (
        "key_sync: needs key_sync_query: the source query is filtered by {since}, so it cannot "
        "list every source key; set key_sync_query to a query that selects them all"
    )


def test_composite_incremental_filtered_by_a_named_watermark_needs_no_column() -> None:
    assert (
        problems(
            good(
                merge_key="dcord, dcotyp",
                watermark_column=None,
                lookback=None,
                safety_lag=None,
                key_sync=False,
                key_sync_query=None,
            )
        )
        == []
    )


# -- named watermarks -----------------------------------------------------------------


def test_watermarks_that_are_not_a_mapping() -> None:
    assert problems(good(watermarks=["since"]))[0] == (
        "watermarks: must be a mapping of name to settings, not a list"
    )


def test_watermark_with_a_bad_name() -> None:
    spec = good(watermarks={"1st": {"resolver_sql": "SELECT 1"}})
    assert problems(spec)[0] == (
        "watermarks.1st: invalid watermark name '1st': use letters, digits and '_', not starting "
        "with a digit (it is written {name} in the source query)"
    )


def test_watermark_that_is_not_a_mapping() -> None:
    assert only(good(watermarks={"since": "SELECT 1"})) == (
        "watermarks.since: must be a mapping with resolver_sql, not the text 'SELECT 1'"
    )


def test_watermark_without_resolver_sql() -> None:
    assert only(good(watermarks={"since": {"connection": "dw", "default": "0"}})) == (
        "watermarks.since.resolver_sql: is required: the SQL whose first cell is the watermark "
        "value, e.g. SELECT max(updated_at) FROM sync.orders"
    )


def test_watermark_on_an_unknown_connection() -> None:
    spec = good(watermarks={"since": {"connection": "dwh", "resolver_sql": "SELECT 1"}})
    assert only(spec) == (
        "watermarks.since.connection: watermark connection 'dwh' does not exist; did you mean "
        "'dw'? (known: dw, erp); define it under connections or with `pipekit connections add`"
    )


def test_watermark_connection_of_the_wrong_type() -> None:
    spec = good(watermarks={"since": {"connection": ["dw"], "resolver_sql": "SELECT 1"}})
    assert only(spec) == "watermarks.since.connection: must be a connection name, not a list"


def test_watermark_default_of_the_wrong_type() -> None:
    spec = good(watermarks={"since": {"resolver_sql": "SELECT 1", "default": {"a": 1}}})
    assert only(spec) == "watermarks.since.default: must be a text or number value, not a mapping"


# -- hooks and checks ------------------------------------------------------------------


def test_hooks_that_are_not_a_list() -> None:
    assert only(good(hooks="ANALYZE t")) == "hooks: must be a list, not the text 'ANALYZE t'"


def test_hook_that_is_not_a_mapping() -> None:
    assert only(good(hooks=["ANALYZE t"])) == (
        "hooks[0]: must be a mapping with sql and run_on, not the text 'ANALYZE t'"
    )


def test_hook_without_sql() -> None:
    assert only(good(hooks=[{"sql": "ANALYZE t"}, {"sql": " ", "run_on": "always"}])) == (
        "hooks[1].sql: is required: the SQL run on the destination"
    )


def test_hook_run_on_that_is_not_an_outcome() -> None:
    assert only(good(hooks=[{"sql": "ANALYZE t", "run_on": "sucess"}])) == (
        "hooks[0].run_on: 'sucess' is not one of success, failure, always; did you mean 'success'?"
    )


def test_checks_that_are_not_a_list() -> None:
    assert only(good(checks={"a": "SELECT 1"})) == "checks: must be a list, not a mapping"


def test_check_that_is_not_a_mapping() -> None:
    assert only(good(checks=["SELECT 1"])) == (
        "checks[0]: must be a mapping with name and sql, not the text 'SELECT 1'"
    )


@pytest.mark.parametrize("name", [None, "no nulls", "1st", ""])
def test_check_with_a_bad_name(name: Any) -> None:
    assert only(good(checks=[{"name": name, "sql": "SELECT 1"}])) == (
        f"checks[0].name: invalid check name {name!r}: use letters, digits and '_', not "
        "starting with a digit"
    )


def test_check_names_are_unique() -> None:
    spec = good(checks=[{"name": "a", "sql": "SELECT 1"}, {"name": "a", "sql": "SELECT 2"}])
    assert only(spec) == (
        "checks[1].name: check 'a' is already defined at checks[0]; names must be unique"
    )


def test_check_without_sql() -> None:
    assert only(good(checks=[{"name": "a"}])) == (
        "checks[0].sql: is required: a query on the destination that returns no rows when the "
        "data is right"
    )


# -- audit column names ------------------------------------------------------------


def test_audit_column_names_are_accepted_when_they_are_identifiers() -> None:
    spec = good(
        audit_loaded_at_column="dss_load_date",
        audit_run_id_column="dss_run_id",
        audit_source_column="dss_record_source",
    )
    assert problems(spec) == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("audit_loaded_at_column", "load date"),
        ("audit_run_id_column", "1st_run"),
        ("audit_source_column", 'src"x'),
        ("audit_source_column", "x" * 64),
    ],
)
def test_an_audit_column_name_that_is_not_an_identifier_is_refused(key: str, value: str) -> None:
    found = only(good(**{key: value}))
    assert found.startswith(f"{key}: {value!r} is not a column name Pipekit creates")
    assert "letters, digits and _" in found


def test_two_audit_columns_of_one_name_are_refused() -> None:
    found = only(good(audit_source_column="_PIPEKIT_RUN_ID"))
    assert found == (
        "audit_source_column: names the same column as audit_run_id_column "
        "(_PIPEKIT_RUN_ID); give it another name"
    )


def test_an_audit_column_named_like_a_source_column_is_refused() -> None:
    found = only(good(audit_loaded_at_column="dcodat"))
    assert found == (
        "audit_loaded_at_column: dcodat is also a column of the source query; give the "
        "audit column another name, or alias the source column"
    )
