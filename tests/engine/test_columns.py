"""Column identity: destination names mapped to source expressions by sqlglot."""

from __future__ import annotations

import pytest
from sqlglot import exp

from pipekit.engine.columns import ColumnMappingError, parse_columns

SEED_QUERY = """
SELECT "DCORD#" AS dcord, RTRIM(dcotyp) AS dcotyp, dcodat AS dcodat
FROM lgdat.qcrh
"""


def test_the_seed_example() -> None:
    m = parse_columns(SEED_QUERY, "postgres")
    assert m.names() == ["dcord", "dcotyp", "dcodat"]
    dcord = m.get("dcord")
    assert (dcord.where, dcord.base_column, dcord.trimmed) == ('"DCORD#"', "DCORD#", False)
    dcotyp = m.get("dcotyp")
    assert (dcotyp.expression, dcotyp.where, dcotyp.trimmed) == ("RTRIM(dcotyp)", "dcotyp", True)
    sql = m.with_where(exp.condition(f"{dcord.where} > 12345", dialect="postgres"))
    assert sql.endswith('FROM lgdat.qcrh WHERE "DCORD#" > 12345')


def test_special_characters_in_quoted_names() -> None:
    m = parse_columns(
        'SELECT "ORD#" AS ord, "E@MAIL" AS email, "AMT$" AS amt, "Company Name" AS company FROM t',
        "postgres",
    )
    assert [m.get(n).where for n in m.names()] == ['"ORD#"', '"E@MAIL"', '"AMT$"', '"Company Name"']


def test_sql_server_brackets() -> None:
    m = parse_columns("SELECT [DCORD#] AS dcord, TRIM([Name]) AS name FROM dbo.t", "tsql")
    assert m.get("dcord").where == "[DCORD#]"
    assert m.get("name").where == "[Name]"


def test_cast_and_coalesce_keep_the_expression_for_where() -> None:
    m = parse_columns(
        "SELECT CAST(dcodat AS DATE) AS d, COALESCE(updated_at, created_at) AS wm FROM t",
        "postgres",
    )
    assert m.get("d").where == "CAST(dcodat AS DATE)"
    assert m.get("d").base_column == "dcodat"
    # Filtering on updated_at alone would lose rows whose updated_at is NULL.
    assert m.get("wm").where == "COALESCE(updated_at, created_at)"
    assert m.get("wm").base_column == "updated_at"


def test_select_star_maps_names_to_themselves() -> None:
    m = parse_columns("SELECT * FROM orders", "mysql")
    assert m.has_star and m.names() == []
    assert m.get("Updated At").where == "`Updated At`"


def test_joins_keep_table_aliases() -> None:
    m = parse_columns(
        "SELECT o.id AS order_id, c.name, o.updated_at FROM orders o JOIN customers c "
        "ON c.id = o.customer_id",
        "postgres",
    )
    assert m.names() == ["order_id", "name", "updated_at"]
    assert m.get("order_id").where == "o.id"
    assert m.get("updated_at").where == "o.updated_at"


def test_ctes_comments_and_an_existing_where() -> None:
    sql = """
    -- recent orders only
    WITH recent AS (SELECT * FROM orders WHERE status <> 'x')
    SELECT id /* key */, amount AS amt FROM recent WHERE amount > 0 ORDER BY id
    """
    m = parse_columns(sql, "postgres")
    assert m.names() == ["id", "amt"]
    out = m.with_where(exp.condition("id >= 10"))
    assert "WITH recent AS" in out
    assert "WHERE amount > 0 AND id >= 10 ORDER BY id" in out


def test_union_is_filtered_from_outside_by_destination_name() -> None:
    m = parse_columns("SELECT a AS x FROM t1 UNION ALL SELECT b FROM t2", "postgres")
    assert m.get("x").where == '"x"'
    out = m.with_where(exp.condition('"x" > 1'))
    assert out.startswith("SELECT * FROM (SELECT a AS x FROM t1 UNION ALL SELECT b FROM t2)")


def test_unknown_destination_column_suggests_the_right_one() -> None:
    m = parse_columns(SEED_QUERY, "postgres")
    with pytest.raises(ColumnMappingError, match=r"'dcord#' is not a destination column.*'dcord'"):
        m.get("dcord#")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT a + b FROM t", r"column 1 .*a \+ b.* has no name"),
        ("SELECT a AS x, b AS X FROM t", "appears twice"),
        ("DELETE FROM t", "exactly one SELECT"),
        ("SELECT 1; SELECT 2", "exactly one SELECT"),
        ("SELECT FROM WHERE (", "does not parse"),
    ],
)
def test_queries_that_cannot_be_mapped(sql: str, message: str) -> None:
    with pytest.raises(ColumnMappingError, match=message):
        parse_columns(sql, "postgres")
