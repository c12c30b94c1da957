"""SQL Server's type mapping and names (not tested against a live server: none can run
here; the statements are in tests/drivers/golden/mssql and jdbc-sqlserver)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from pipekit.drivers import dialect_for_url, kind_for_url
from pipekit.drivers import types as T
from pipekit.drivers.jdbc_dialect import JtdsDialect, SqlServerJdbcDialect
from pipekit.drivers.mssql_dialect import MssqlDialect


@pytest.mark.parametrize(
    ("tsql", "arrow"),
    [
        ("float", pa.float64()),  # FLOAT is 8 bytes in T-SQL
        ("float(53)", pa.float64()),
        ("real", pa.float32()),
        ("money", pa.decimal128(19, 4)),
        ("smallmoney", pa.decimal128(10, 4)),
        ("decimal(15,5)", pa.decimal128(15, 5)),
        ("datetime2(3)", pa.timestamp("us")),
        ("datetime2(7)", pa.timestamp("ns")),
        ("datetime2", pa.timestamp("ns")),
        ("datetimeoffset(6)", pa.timestamp("us", tz="UTC")),
        ("datetimeoffset", pa.timestamp("ns", tz="UTC")),
        ("uniqueidentifier", T.UUID),
        ("bit", pa.bool_()),
        ("tinyint", pa.uint8()),
        ("nvarchar(max)", pa.string()),
        ("varbinary(max)", pa.binary()),
        ("timestamp", pa.binary()),  # ROWVERSION, not a time
    ],
)
def test_tsql_types_read_as(tsql: str, arrow: pa.DataType) -> None:
    assert MssqlDialect().arrow_type(tsql) == arrow
    assert SqlServerJdbcDialect().arrow_type(tsql) == arrow


def test_brackets_and_four_part_names() -> None:
    d = MssqlDialect()
    assert d.quote("a]b") == "[a]]b]"
    assert d.four_part_sql("QCRH", "dbo", "erp", "AS400LINK") == "[AS400LINK].[erp].[dbo].[QCRH]"
    assert d.four_part_sql("t", None, "erp") == "[erp]..[t]"
    assert d.limit_sql("SELECT 1 AS x", 5) == "SELECT TOP 5 * FROM (SELECT 1 AS x) pipekit_q"


def test_urls_pick_the_kind_and_the_profile() -> None:
    assert kind_for_url("mssql://db1:1433/erp") == "mssql"
    assert kind_for_url("jdbc:sqlserver://db1;databaseName=erp") == "jdbc"
    assert isinstance(dialect_for_url("jdbc:jtds:sqlserver://db1/erp"), JtdsDialect)
    assert isinstance(dialect_for_url("jdbc:sqlserver://db1"), SqlServerJdbcDialect)
    assert isinstance(dialect_for_url("mssql://db1/erp"), MssqlDialect)
