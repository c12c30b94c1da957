"""seeds/004 §11: schema evolution against the last run (added, removed, type and
nullability changes; metadata ignored; no change; first run)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa

from pipekit.connectors.runtime import ConnectorRuntime
from pipekit.connectors.schemas import diff_schemas, schema_to_json
from tests.connectors.sources import MemoryConnector

V1 = pa.schema([pa.field("id", pa.int64(), nullable=False), ("name", pa.string())])


def run(out: Path, schema: pa.Schema, rows: list[dict], **kw: object) -> list[str]:
    c = MemoryConnector({"t": (schema, rows)}, **kw)  # type: ignore[arg-type]
    stats = ConnectorRuntime(out).run(c)
    assert stats.tables_failed == 0, stats.errors
    return stats.schema_changes


class TestSchemaEvolution:
    def test_column_added(self, tmp_path: Path) -> None:
        run(tmp_path, V1, [{"id": 1, "name": "a"}])
        v2 = V1.append(pa.field("score", pa.float64()))
        assert run(tmp_path, v2, [{"id": 1, "name": "a", "score": 0.5}]) == [
            "t: added score (double)"
        ]

    def test_column_removed(self, tmp_path: Path) -> None:
        run(tmp_path, V1, [{"id": 1, "name": "a"}])
        assert run(tmp_path, V1.remove(1), [{"id": 1}]) == ["t: removed name (string)"]

    def test_type_and_nullability_changed(self, tmp_path: Path) -> None:
        run(tmp_path, V1, [{"id": 1, "name": "a"}])
        v2 = pa.schema([pa.field("id", pa.int64()), ("name", pa.large_string())])
        assert run(tmp_path, v2, [{"id": 1, "name": "a"}]) == [
            "t: type changed name: string -> large_string; nullability changed id: not null "
            "-> nullable"
        ]

    def test_no_change_reports_nothing_even_when_metadata_changes(self, tmp_path: Path) -> None:
        run(tmp_path, V1, [{"id": 1, "name": "a"}])
        with_meta = V1.with_metadata({"source": "v2"})
        with_meta = with_meta.set(1, with_meta.field(1).with_metadata({"doc": "the name"}))
        assert run(tmp_path, with_meta, [{"id": 2, "name": "b"}]) == []

    def test_first_run_reports_nothing_and_records_the_schema(self, tmp_path: Path) -> None:
        assert run(tmp_path, V1, []) == []
        saved = json.loads((tmp_path / ".pipekit" / "state.json").read_text())
        assert saved["tables"]["t"]["schema"] == schema_to_json(V1)


def test_incremental_run_merges_an_added_column_as_null_in_earlier_rows(tmp_path: Path) -> None:
    run(tmp_path, V1, [{"id": 1, "name": "a"}], incremental={"t": "id"})
    v2 = V1.append(pa.field("score", pa.float64()))
    rows = [{"id": 1, "name": "a", "score": None}, {"id": 2, "name": "b", "score": 2.5}]
    changes = run(tmp_path, v2, rows, incremental={"t": "id"})
    assert changes == ["t: added score (double)"]
    con = duckdb.connect(str(tmp_path / "extract.duckdb"), read_only=True)
    assert con.execute("SELECT id, name, score FROM t ORDER BY id").fetchall() == [
        (1, "a", None),
        (2, "b", 2.5),
    ]
    con.close()


def test_incremental_run_with_a_changed_type_fails_and_says_to_run_in_full(
    tmp_path: Path,
) -> None:
    run(tmp_path, V1, [{"id": 1, "name": "a"}], incremental={"t": "id"})
    v2 = pa.schema([pa.field("id", pa.int64(), nullable=False), ("name", pa.int32())])
    rows = [{"id": 1, "name": 1}, {"id": 2, "name": 2}]
    c = MemoryConnector({"t": (v2, rows)}, incremental={"t": "id"})
    rt = ConnectorRuntime(tmp_path)
    stats = rt.run(c)
    assert stats.tables_failed == 1
    assert "changed type from string to int32" in stats.errors[0] and "--full" in stats.errors[0]
    stats = rt.run(c, full=True)
    assert stats.rows == {"t": 2} and stats.schema_changes == [
        "t: type changed name: string -> int32"
    ]


def test_diff_schemas_lists_every_kind_of_change() -> None:
    old = schema_to_json(pa.schema([("a", pa.int32()), ("b", pa.string())]))
    new = schema_to_json(pa.schema([pa.field("a", pa.int64(), nullable=False), ("c", pa.date32())]))
    change = diff_schemas("t", old, new)
    assert change is not None
    assert change.added == ["c (date32[day])"] and change.removed == ["b (string)"]
    assert change.retyped == ["a: int32 -> int64"]
    assert change.nullability == ["a: nullable -> not null"]
    assert diff_schemas("t", None, new) is None and diff_schemas("t", new, new) is None
