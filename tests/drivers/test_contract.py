"""The contract every driver keeps, run against each real database kind."""

from __future__ import annotations

import pyarrow as pa
import pytest

from pipekit.drivers.base import Driver
from pipekit.errors import DatabaseError, TerminalDatabaseError
from tests.helpers import KINDS

# A query producing N rows of (id bigint, label text) in each dialect.
SERIES = {
    "postgresql": "SELECT g::bigint AS id, 'row ' || g AS label FROM generate_series(1, {n}) g",
    "duckdb": "SELECT range::BIGINT AS id, 'row ' || range AS label FROM range(1, {n} + 1)",
    "sqlite": (
        "WITH RECURSIVE s(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM s WHERE id < {n}) "
        "SELECT id, 'row ' || id AS label FROM s"
    ),
    "mysql": "SELECT seq AS id, CONCAT('row ', seq) AS label FROM seq_1_to_{n}",
}

pytestmark = pytest.mark.parametrize("kind", KINDS)


def test_connects_and_reports_version(kind: str, drivers: dict[str, Driver]) -> None:
    version = drivers[kind].server_version()
    assert version and any(ch.isdigit() for ch in version)


def test_zero_row_result_keeps_its_schema(kind: str, drivers: dict[str, Driver]) -> None:
    d = drivers[kind]
    d.drop_table("zero")
    schema = pa.schema(
        [("id", pa.int64()), ("amount", pa.decimal128(12, 2)), ("at", pa.timestamp("us"))]
    )
    d.create_table("zero", schema, ["id"])
    reader = d.read(f"SELECT * FROM {d.quote('zero')}")
    assert reader.schema.names == ["id", "amount", "at"]
    assert reader.schema.field("amount").type == pa.decimal128(12, 2)
    assert pa.types.is_timestamp(reader.schema.field("at").type)
    assert reader.read_all().num_rows == 0


def test_a_million_rows_stream_in_batches(kind: str, drivers: dict[str, Driver]) -> None:
    d = drivers[kind]
    n, batch_rows = 1_000_000, 50_000
    reader = d.read(SERIES[kind].format(n=n), batch_rows=batch_rows)
    sizes, first_ids, total_label_bytes = [], [], 0
    for batch in reader:
        sizes.append(batch.num_rows)
        first_ids.append(batch.column("id")[0].as_py())
        total_label_bytes += batch.column("label").nbytes
    assert sum(sizes) == n
    assert max(sizes) <= batch_rows
    assert len(sizes) >= n // batch_rows
    assert first_ids == sorted(first_ids)  # batches come in order, not re-assembled
    assert total_label_bytes > 10 * 1024 * 1024  # the data really was bigger than a batch


def test_rollback_leaves_nothing(kind: str, drivers: dict[str, Driver]) -> None:
    d = drivers[kind]
    d.drop_table("tx")
    d.create_table("tx", pa.schema([("id", pa.int64()), ("v", pa.string())]), ["id"])
    d.load("tx", pa.table({"id": [1], "v": ["kept"]}))
    with pytest.raises(RuntimeError), d.transaction():
        d.load("tx", pa.table({"id": [2, 3], "v": ["a", "b"]}))
        d.execute(f"DELETE FROM {d.quote('tx')} WHERE id = 1")
        raise RuntimeError("fail before commit")
    assert d.query(f"SELECT id, v FROM {d.quote('tx')}") == [(1, "kept")]


def test_failed_load_writes_nothing(kind: str, drivers: dict[str, Driver]) -> None:
    d = drivers[kind]
    d.drop_table("partial")
    d.create_table("partial", pa.schema([("id", pa.int64())]), ["id"])
    batches = [
        pa.record_batch({"id": pa.array([1, 2], pa.int64())}),
        pa.record_batch({"id": pa.array([2, 3], pa.int64())}),  # duplicate key
    ]
    with pytest.raises(DatabaseError):
        d.load("partial", batches)
    assert d.query(f"SELECT count(*) FROM {d.quote('partial')}")[0][0] == 0


def test_load_into_missing_column_is_refused(kind: str, drivers: dict[str, Driver]) -> None:
    d = drivers[kind]
    d.drop_table("narrow")
    d.create_table("narrow", pa.schema([("id", pa.int64())]), ["id"])
    with pytest.raises(TerminalDatabaseError, match="extra"):
        d.load("narrow", pa.table({"id": [1], "extra": ["x"]}))
    assert d.query(f"SELECT count(*) FROM {d.quote('narrow')}")[0][0] == 0


@pytest.mark.parametrize(
    "value",
    ["'; DROP TABLE lit; --", "back\\slash 'q' \"dq\"", "unicode é 🚀", ""],
)
def test_text_literals_are_inert(kind: str, drivers: dict[str, Driver], value: str) -> None:
    d = drivers[kind]
    assert d.query(f"SELECT {d.literal(value)}")[0][0] == value


def test_awkward_identifiers_are_quoted(kind: str, drivers: dict[str, Driver]) -> None:
    d = drivers[kind]
    names = ["DCORD#", "company name", "sp$ecial@", 'q"uote']
    d.drop_table("Odd Table")
    d.create_table("Odd Table", pa.schema([(n, pa.int32()) for n in names]), ["DCORD#"])
    d.load("Odd Table", pa.table({n: pa.array([i], pa.int32()) for i, n in enumerate(names)}))
    landed = d.read(f"SELECT * FROM {d.quote('Odd Table')}").read_all()
    assert landed.column_names == names
    assert landed.to_pylist() == [{n: i for i, n in enumerate(names)}]


def test_introspection(kind: str, drivers: dict[str, Driver]) -> None:
    d = drivers[kind]
    d.drop_table("intro")
    d.create_table(
        "intro",
        pa.schema([("k1", pa.int64()), ("k2", pa.string()), ("v", pa.decimal128(20, 4))]),
        ["k1", "k2"],
    )
    assert d.default_schema in d.list_schemas() or kind == "mysql"
    assert "intro" in d.list_tables()
    cols = {c.name: c for c in d.list_columns("intro")}
    assert list(cols) == ["k1", "k2", "v"]
    assert cols["k1"].primary_key and cols["k2"].primary_key and not cols["v"].primary_key
    assert not cols["k1"].nullable and cols["v"].nullable
    assert cols["v"].arrow_type == pa.decimal128(20, 4)
    assert cols["k1"].arrow_type == pa.int64()
