"""Declared source types at the destination (issue 16 item 1), end to end.

A PostgreSQL ``numeric`` without precision used to land as ``text``, so ``SUM`` on
the destination failed. A destination of the source's kind now gets the source's
declared types; other kinds get the closest exact type, or text with a warning in
the run log naming the column. Every row of docs/drivers.md's "Source type →
destination type" table is checked here: the cases come from the table itself.
"""

from __future__ import annotations

import decimal
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from pipekit.store import Store
from tests.helpers import RUN_KINDS, Setup, add_connection, dest_table_name, ok, open_db

DOCS = Path(__file__).resolve().parents[2] / "docs" / "drivers.md"
WARNING = "(text, warned)"


def test_unconstrained_numeric_lands_as_numeric_and_sums(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    s = Setup(run_store, run_urls, query="SELECT id, v, n * 1.5 AS c FROM {src}")
    dry = s.run(dry_run=True)  # a dry run plans the same columns
    assert '"c" DECIMAL' in (dry.merge_sql or ""), dry.merge_sql
    first = ok(s.run())
    with open_db(s.dest_url) as d:
        types = {c.name: c.type for c in d.list_columns(s.dest)}
        assert types["c"] == "numeric"
        dest_sum = d.query(f"SELECT SUM(c) FROM {d.table_sql(s.dest)}")[0][0]
    with open_db(s.src_url) as src:
        src_sum = src.query(f"SELECT SUM(n * 1.5) FROM {src.quote(s.src)}")[0][0]
    assert decimal.Decimal(str(dest_sum)) == decimal.Decimal(str(src_sum))
    assert decimal.Decimal(str(dest_sum)) == decimal.Decimal("225.0")
    assert "has no exact type" not in (first.live_log or "")

    # a second, incremental run merges into the numeric column and alters no type
    s.sql("INSERT INTO {t} VALUES (6, 'v6', 7)")
    second = ok(s.run())
    assert second.schema_changes is None, second.live_log
    assert "ALTER" not in (second.merge_sql or "")
    with open_db(s.dest_url) as d:
        assert {c.name: c.type for c in d.list_columns(s.dest)} == types
        total, new = d.query(
            f"SELECT SUM(c), SUM(c) FILTER (WHERE id = 6) FROM {d.table_sql(s.dest)}"
        )[0]
    assert (decimal.Decimal(str(total)), decimal.Decimal(str(new))) == (
        decimal.Decimal("235.5"),
        decimal.Decimal("10.5"),
    )


def test_postgresql_intervals_and_addresses_reach_duckdb_exactly(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    query = (
        "SELECT id, make_interval(months => n, days => -id, secs => n / 8.0) AS iv, "
        "('10.0.' || id || '.1/' || (16 + id))::inet AS ip, n * 1.5 AS c FROM {src}"
    )
    s = Setup(run_store, run_urls, "duckdb", query=query)
    ok(s.run())
    with open_db(s.dest_url) as d:
        types = {c.name: c.type for c in d.list_columns(s.dest)}
        sql = f"SELECT id, iv, ip, c FROM {d.table_sql(s.dest)} ORDER BY id"
        landed = d.read(sql).read_all().to_pylist()
    assert (types["iv"], types["ip"], types["c"]) == ("INTERVAL", "VARCHAR", "VARCHAR")
    with open_db(s.src_url) as src:
        sql = query.replace("{src}", src.quote(s.src)) + " ORDER BY id"
        assert landed == src.read(sql).read_all().to_pylist()
    assert landed[0] == {
        "id": 1,
        "iv": "10 months -1 days 1.25 seconds",
        "ip": "10.0.1.1/17",
        "c": "15.0",
    }


# -- every row of the docs table -------------------------------------------------------

#: a value of each source type of the docs table, as a SQL literal of its kind
SAMPLES: dict[tuple[str, str], str] = {
    ("postgresql", "numeric"): "1234567890.123456789012345",
    ("postgresql", "numeric(10,2)"): "12345678.90",
    ("postgresql", "varchar(5)"): "'abc'",
    ("postgresql", "char(3)"): "'ab'",
    ("postgresql", "jsonb"): """'{"a": [1, 2.5]}'""",
    ("postgresql", "json"): """'{"b":  null}'""",
    ("postgresql", "integer[]"): "'{1,2,3}'",
    ("postgresql", "text[]"): """'{"a b",c}'""",
    ("postgresql", "interval"): "'1 day 02:03:04'",
    ("postgresql", "inet"): "'192.168.0.1/24'",
    ("postgresql", "uuid"): f"'{uuid.UUID(int=7)}'",
    ("postgresql", "timestamptz(3)"): "'2024-05-01 08:00:00.123+00'",
    ("postgresql", "bytea"): "'\\x00ff'",
    ("mysql", "varchar(5)"): "'abc'",
    ("mysql", "char(3)"): "'ab'",
    ("mysql", "decimal(10,2)"): "12345678.90",
    ("mysql", "enum('a','b c')"): "'b c'",
    ("mysql", "set('x','y')"): "'x,y'",
    ("mysql", "json"): """'{"a": [1, 2.5]}'""",
    ("mysql", "int(10) unsigned"): "4294967295",
    ("mysql", "bigint(20) unsigned"): "18446744073709551615",
    ("sqlite", "VARCHAR(20)"): "'abc'",
    ("sqlite", "NUMERIC(10,2)"): "12.5",
    ("sqlite", "DATETIME"): "'2024-05-01 08:00:00'",
    ("sqlite", "INT"): "7",
    ("duckdb", "DECIMAL(18,3)"): "123456789012345.678",
    ("duckdb", "HUGEINT"): "170141183460469231731687303715884105",
    ("duckdb", "INTEGER[]"): "[1, 2, 3]",
    ("duckdb", "VARCHAR[]"): "['a,b', 'it''s', NULL]",
    ("duckdb", "STRUCT(a INTEGER, b VARCHAR)"): "{'a': 1, 'b': 'x y'}",
    ("duckdb", "MAP(VARCHAR, INTEGER)"): "MAP {'k': 1}",
    ("duckdb", "INTERVAL"): "INTERVAL '1 day 2 hours'",
}


def docs_rows() -> list[tuple[str, str, dict[str, str]]]:
    """(source kind, source type, {destination kind: landed type}) per row of the table."""
    text = DOCS.read_text()
    section = text.split("### Source type → destination type", 1)[1].split("\n#", 1)[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    dests = [h.lower().replace("mariadb", "mysql") for h in header[2:]]
    rows = []
    for line in lines[2:]:
        cells = [c.strip().strip("`").replace("` ", " ") for c in line.strip("|").split("|")]
        kind = cells[0].lower().replace("mariadb", "mysql")
        rows.append((kind, cells[1].strip("`"), dict(zip(dests, cells[2:], strict=True))))
    return rows


def test_docs_table_and_samples_name_the_same_types() -> None:
    assert [(k, t) for k, t, _ in docs_rows()] == list(SAMPLES)
    for _kind, _typ, landed in docs_rows():
        assert sorted(landed) == sorted(RUN_KINDS)


def _landed(cell: str) -> tuple[str, bool]:
    warned = cell.endswith(WARNING)
    return cell.removesuffix(WARNING).strip().strip("`"), warned


@pytest.mark.parametrize("dest_kind", RUN_KINDS)
@pytest.mark.parametrize("src_kind", sorted({k for k, _ in SAMPLES}))
def test_every_docs_row_lands_as_documented(
    src_kind: str, dest_kind: str, run_store: Store, run_urls: dict[str, str], tmp_path: Path
) -> None:
    rows = [(t, landed[dest_kind]) for k, t, landed in docs_rows() if k == src_kind]
    tag = uuid.uuid4().hex[:8]
    src_table = f"types_{tag}"
    names = [f"c{i}" for i in range(len(rows))]
    # a file of its own for a DuckDB source: the destination may be DuckDB too
    src_url = run_urls[src_kind]
    if src_kind in ("duckdb", "sqlite"):
        src_url = f"{src_kind}:///{tmp_path / ('source.' + src_kind)}?create=true"
    with open_db(src_url) as src:
        cols = ", ".join(f"{n} {t}" for n, (t, _) in zip(names, rows, strict=True))
        src.execute(f"CREATE TABLE {src.quote(src_table)} (id integer PRIMARY KEY, {cols})")
        values = ", ".join(SAMPLES[(src_kind, t)] for t, _ in rows)
        src.execute(f"INSERT INTO {src.quote(src_table)} VALUES (1, {values})")
        src.execute(f"INSERT INTO {src.quote(src_table)} (id) VALUES (2)")
    dest = dest_table_name(dest_kind, f"d_{tag}")
    add_connection(run_store, "src", src_url)
    add_connection(run_store, "dw", run_urls[dest_kind])
    run_store.modules.add(
        "m",
        source="src",
        dest="dw",
        dest_table=dest,
        source_query=f"SELECT * FROM {src_table}",
        merge_strategy="incremental",
        merge_key="id",
    )
    from pipekit.engine.run import Engine

    run = ok(Engine(run_store).run_module("m"))
    log = run.live_log or ""
    with open_db(run_urls[dest_kind]) as d:
        got = {c.name: c.type for c in d.list_columns(dest)}
        count = d.query(f"SELECT COUNT(*) FROM {d.table_sql(dest)}")[0][0]
    assert count == 2
    problems = []
    for name, (typ, cell) in zip(names, rows, strict=True):
        want, warned = _landed(cell)
        if got[name].lower() != want.lower():
            problems.append(f"{src_kind} {typ} -> {dest_kind}: {got[name]!r}, documented {want!r}")
        says = re.search(rf"warning: column {name}: .* landed as", log) is not None
        if says != warned:
            problems.append(f"{src_kind} {typ} -> {dest_kind}: warning {says}, documented {warned}")
    assert not problems, "\n".join(problems)

    # a second, incremental run into the declared types: no column altered or added
    with open_db(src_url) as src:
        src.execute(f"INSERT INTO {src.quote(src_table)} VALUES (3, {values})")
    again = ok(Engine(run_store).run_module("m"))
    assert again.schema_changes is None, again.live_log
    assert "ALTER" not in (again.merge_sql or "")
    with open_db(run_urls[dest_kind]) as d:
        assert {c.name: c.type for c in d.list_columns(dest)} == got
        assert d.query(f"SELECT COUNT(*) FROM {d.table_sql(dest)}")[0][0] == 3
    if src_kind == dest_kind:
        # the same kind: the declared types, and the values exactly as the source holds them
        assert _values(src_url, src_table, names) == _values(run_urls[dest_kind], dest, names)


def _values(url: str, table: str, names: list[str]) -> list[Any]:
    """The rows of `table` as text where the kind's text form is exact (PostgreSQL,
    DuckDB: a numeric's scale, a list's elements), else as read (SQLite writes
    timestamps with six digits: the same instant, other text)."""
    with open_db(url) as d:
        if d.kind == "sqlite":
            sql = f"SELECT {', '.join(names)} FROM {d.table_sql(table)} ORDER BY id"
            return d.read(sql).read_all().to_pylist()
        cast = "CHAR" if d.kind == "mysql" else "TEXT"
        select = ", ".join(f"CAST({n} AS {cast})" for n in names)
        return d.query(f"SELECT {select} FROM {d.table_sql(table)} ORDER BY id")
