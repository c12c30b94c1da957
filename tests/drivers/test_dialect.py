"""The dialects stand apart from the clients: no connection, no client library, clear
errors for what cannot be planned, and what a connection teaches them."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pyarrow as pa
import pytest

from pipekit.drivers import REGISTRY, connect, dialect_for, driver_class, parse_url
from pipekit.drivers import types as T
from pipekit.drivers.dialect import Dialect
from pipekit.drivers.mysql_dialect import MySQLDialect
from pipekit.drivers.postgresql_dialect import PostgresDialect
from pipekit.drivers.sqlite_dialect import SQLiteDialect
from pipekit.drivers.tables import Column, SwapInfo, TableRef
from pipekit.engine.merge import plan_merge, plan_swap
from pipekit.errors import ConnectionSpecError, MergeError, UnknownSchemeError

SOURCE = pa.schema([pa.field("id", pa.int64()), pa.field("v", pa.string())])
DEST = TableRef("t", "s")
STAGED = TableRef("t", "stage")


def _existing(pk: list[str]) -> list[Column]:
    return [
        Column("id", "bigint", "id" not in pk, "id" in pk, pa.int64()),
        Column("v", "text", True, False, pa.string()),
    ]


def _plan(dialect: Dialect, **given: object) -> None:
    args: dict[str, object] = {
        "table": DEST,
        "staged": STAGED,
        "key_table": None,
        "source_schema": SOURCE,
        "existing": None,
        "strategy": "incremental",
        "keys": ["id"],
        "full_refresh": False,
        "supports_deletes": True,
        "audit": None,
    }
    plan_merge(dialect, **(args | given))  # type: ignore[arg-type]


def test_dialect_modules_import_no_client_library() -> None:
    code = (
        "import sys\n"
        "from pipekit.drivers import REGISTRY, dialect_for\n"
        "for kind in REGISTRY: dialect_for(kind).literal('x')\n"
        "heavy = {'adbc_driver_postgresql', 'adbc_driver_sqlite', 'psycopg', 'pymysql', 'duckdb'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("kind", list(REGISTRY))
def test_each_driver_owns_its_kinds_dialect_without_connecting(kind: str) -> None:
    cls = driver_class(kind)
    urls = {
        "postgresql": "postgresql://h/db",
        "mysql": "mysql://h/db",
        "sqlite": "sqlite:////tmp/x.db",
        "duckdb": "duckdb:////tmp/x.duckdb",
        "jdbc": "jdbc:anydb://h/db",  # a subprotocol without a profile: the generic one
        "mssql": "mssql://h/db",
    }
    unopened = cls(parse_url(urls[kind]), None, None)
    assert type(unopened.dialect) is type(dialect_for(kind))
    assert unopened.kind == unopened.dialect.kind == kind
    # the old names answer from the dialect
    assert unopened.quote("a b") == unopened.dialect.quote("a b")
    assert unopened.literal("x") == unopened.dialect.literal("x")


def test_unknown_kind_has_no_dialect() -> None:
    with pytest.raises(UnknownSchemeError, match="known: postgresql"):
        dialect_for("oracle")


def test_connection_facts_are_dialect_settings() -> None:
    old = PostgresDialect(server_version_num=130011)
    assert "COMPRESSION" not in old.like_table_sql(STAGED, DEST, SwapInfo([]))[0]
    assert "COMPRESSION" in PostgresDialect().like_table_sql(STAGED, DEST, SwapInfo([]))[0]
    no_uuid = MySQLDialect(default_schema="erp", native_uuid=False)
    assert no_uuid.default_schema == "erp" and MySQLDialect().default_schema is None
    assert no_uuid.ddl_type(T.UUID) == "VARCHAR(36)"
    value = uuid.UUID(int=1)
    # sqlglot writes MySQL's CAST to a character type as CHAR
    assert no_uuid.literal(value) == f"CAST('{value}' AS CHAR(36))"


def test_a_connection_teaches_its_dialect(pg_url: str, mysql_url: str) -> None:
    with connect(pg_url) as pg:
        version = int(pg.query("SELECT current_setting('server_version_num')")[0][0])
        assert isinstance(pg.dialect, PostgresDialect)
        assert pg.dialect.server_version_num == version
    with connect(mysql_url) as my:
        assert isinstance(my.dialect, MySQLDialect)
        assert my.dialect.default_schema == parse_url(mysql_url).database
        # the class's dialect, shared by unconnected drivers, is left as it was
        assert type(my).dialect.default_schema is None


@pytest.mark.parametrize(
    ("given", "path", "message"),
    [
        ({"keys": []}, "merge_key", "merge_strategy incremental needs a merge_key"),
        ({"keys": ["nope"]}, "merge_key", "merge_key 'nope' is not among the source query's"),
        ({"strategy": "sideways"}, "merge_strategy", "unknown merge_strategy 'sideways'"),
        (
            {"strategy": "upsert", "existing": _existing(pk=[])},
            "merge_key",
            "needs its primary key to be the merge key",
        ),
        (
            {"strategy": "full", "keys": [], "supports_deletes": False},
            "merge_key",
            "does not support deletes",
        ),
    ],
)
def test_a_merge_that_cannot_be_planned_says_which_setting(
    given: dict[str, object], path: str, message: str
) -> None:
    with pytest.raises(MergeError, match=message) as info:
        _plan(SQLiteDialect(), **given)
    assert info.value.path == path


def test_a_dialect_that_does_not_swap_refuses_a_swap_plan() -> None:
    with pytest.raises(NotImplementedError, match="sqlite does not swap tables"):
        plan_swap(
            SQLiteDialect(),
            table=DEST,
            shadow=STAGED,
            source_schema=SOURCE,
            existing=_existing(pk=["id"]),
            strategy="full",
            keys=["id"],
            full_refresh=True,
            audit=None,
            info=SwapInfo([]),
            tag="x",
        )


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (float("nan"), ValueError, "non-finite float"),
        (object(), TypeError, "cannot render a object"),
    ],
)
def test_values_without_a_literal_are_refused(value: object, error: type, message: str) -> None:
    for kind in REGISTRY:
        with pytest.raises(error, match=message):
            dialect_for(kind).literal(value)


def test_a_primary_key_outside_the_columns_is_refused() -> None:
    with pytest.raises(ConnectionSpecError, match=r"primary key column\(s\) nope not among"):
        PostgresDialect().create_table_sql(DEST, SOURCE, ["nope"])


@pytest.mark.parametrize("kind", ["postgresql", "mysql", "sqlite", "duckdb"])
def test_split_script_keeps_semicolons_inside_strings_names_and_comments(kind: str) -> None:
    d = dialect_for(kind)
    q = d.quote("we;ird")
    script = f"DELETE FROM t; -- a; comment\nINSERT INTO t VALUES ('a;b');\nSELECT {q} FROM t;;  "
    assert d.split_script(script) == [
        "DELETE FROM t",
        "-- a; comment\nINSERT INTO t VALUES ('a;b')",
        f"SELECT {q} FROM t",
    ]
    assert d.split_script("SELECT 1") == ["SELECT 1"]
    assert d.split_script("-- only a comment\n;") == []


def test_split_script_keeps_a_postgresql_dollar_body_whole() -> None:
    body = "DO $$ BEGIN PERFORM 1; PERFORM 2; END $$"
    assert dialect_for("postgresql").split_script(f"{body}; ANALYZE t") == [body, "ANALYZE t"]
