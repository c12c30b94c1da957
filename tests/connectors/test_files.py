"""The files connector: CSV, TSV, Parquet and JSONL (gzip too) in a local folder and in
S3-compatible storage (moto's server mode on 127.0.0.1), through one implementation."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from pipekit.connectors.protocol import ReadOptions
from pipekit.connectors.sources import check_local_path, open_connector
from pipekit.errors import ConnectionSpecError, ConnectorError, ConnectorSpecError
from tests.helpers import free_port

ROWS = [
    {"id": 1, "Prénom": "Zoë", "at": "2026-01-02T03:04:05.123456+02:00"},
    {"id": 2, "Prénom": "Ann", "at": "2026-01-02T00:00:00+00:00"},
]
AS_UTC = dt.datetime(2026, 1, 2, 1, 4, 5, 123456, tzinfo=dt.UTC)


def csv_text(sep: str = ",") -> str:
    lines = [sep.join(["id", "Prénom", "at"])]
    lines += [sep.join(str(r[k]) for k in ("id", "Prénom", "at")) for r in ROWS]
    return "\n".join(lines) + "\n"


def write_all(write: callable, folder: str) -> None:  # type: ignore[valid-type]
    write(f"{folder}/a/x.csv", csv_text().encode())
    write(f"{folder}/b/x.tsv.gz", gzip.compress(csv_text("\t").encode()))
    write(f"{folder}/c/x.jsonl", "\n".join(json.dumps(r) for r in ROWS).encode() + b"\n")
    table = pa.table(
        {
            "id": [1, 2],
            "Prénom": ["Zoë", "Ann"],
            "at": pa.array([AS_UTC, AS_UTC], pa.timestamp("us", tz="UTC")),
        }
    )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    write(f"{folder}/d/x.parquet", sink.getvalue().to_pybytes())


TABLES = {
    "csv": {"glob": "a/*.csv"},
    "tsv": {"glob": "b/*.tsv.gz"},
    "jsonl": {"glob": "c/*.jsonl"},
    "parquet": {"glob": "d/*.parquet"},
}


def check_every_format(c: object) -> None:
    folders = {"csv": "a", "tsv": "b", "jsonl": "c", "parquet": "d"}
    ext = {"csv": "csv", "tsv": "tsv.gz", "jsonl": "jsonl", "parquet": "parquet"}
    for name in TABLES:
        table = pa.Table.from_batches(list(c.read(name, ReadOptions())))  # type: ignore[attr-defined]
        assert table.column_names == ["id", "prenom", "at", "_source_file", "_source_modified"]
        assert table["prenom"].to_pylist() == ["Zoë", "Ann"], name
        assert table["at"].to_pylist()[0] == AS_UTC, name
        assert table["_source_file"].to_pylist()[0] == f"{folders[name]}/x.{ext[name]}", name
    infos = {t.name: t for t in c.discover()}  # type: ignore[attr-defined]
    assert infos["csv"].schema.names == ["id", "prenom", "at", "_source_file", "_source_modified"]


def test_local_folder_every_format(tmp_path: Path) -> None:
    def write(path: str, data: bytes) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)

    write_all(write, str(tmp_path))
    c = open_connector(f"file://{tmp_path}", {"tables": TABLES})
    check_every_format(c)


@pytest.fixture
def s3() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def test_s3_every_format_and_no_secret_in_errors(s3: str) -> None:
    fs = pafs.S3FileSystem(
        access_key="AKIATEST",
        secret_key="s3-secret-XYZ",
        endpoint_override=s3.split("//")[1],
        scheme="http",
        region="us-east-1",
        allow_bucket_creation=True,
    )
    fs.create_dir("landing")

    def write(path: str, data: bytes) -> None:
        with fs.open_output_stream(path, compression=None) as f:
            f.write(data)

    write_all(write, "landing/in")
    options = {"endpoint": s3, "tables": TABLES}
    c = open_connector("s3://landing/in", options, user="AKIATEST", secret="s3-secret-XYZ")
    check_every_format(c)
    write("landing/in/a/y.csv", b"id,Pr\xc3\xa9nom,at\n3,Bob,2026-01-02T00:00:00Z\n4,bad\n")
    with pytest.raises(ConnectorError, match=r"s3://landing/in/a/y.csv line 3") as caught:
        list(c.read("csv", ReadOptions()))
    assert "s3-secret-XYZ" not in str(caught.value)


def test_new_files_are_read_and_old_ones_skipped(tmp_path: Path) -> None:
    for i, day in ((1, 1), (2, 2), (3, 3)):
        f = tmp_path / f"f{i}.csv"
        f.write_text(f"id\n{i}\n")
        stamp = dt.datetime(2026, 1, day, tzinfo=dt.UTC).timestamp()
        import os

        os.utime(f, (stamp, stamp))
    c = open_connector(f"file://{tmp_path}", {"tables": {"t": {"glob": "*.csv"}}})
    since = dt.datetime(2026, 1, 2, tzinfo=dt.UTC).isoformat()
    after = ReadOptions(incremental_key="_source_modified", incremental_value=since)
    assert pa.Table.from_batches(list(c.read("t", after)))["id"].to_pylist() == [3]
    after.incremental_op = ">="
    assert pa.Table.from_batches(list(c.read("t", after)))["id"].to_pylist() == [2, 3]


def test_bad_rows_name_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"id": 1}\n{"id": 2\n')
    (tmp_path / "b.csv").write_text("id,n\n1,2\n3,4,5\n")
    c = open_connector(
        f"file://{tmp_path}", {"tables": {"j": {"glob": "*.jsonl"}, "c": {"glob": "*.csv"}}}
    )
    with pytest.raises(ConnectorError, match=r"a.jsonl line 2: not JSON"):
        list(c.read("j", ReadOptions()))
    with pytest.raises(ConnectorError, match=r"b.csv line 3: .*Expected 2 columns, got 3"):
        list(c.read("c", ReadOptions()))


def test_audit_columns_can_be_renamed_or_left_out(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id\n1\n")
    options = {
        "tables": {"t": {"glob": "*.csv"}},
        "source_file_column": "loaded_from",
        "source_modified_column": None,
    }
    c = open_connector(f"file://{tmp_path}", options)
    batch = next(iter(c.read("t", ReadOptions())))
    assert batch.schema.names == ["id", "loaded_from"]


def test_bad_urls_and_options_say_what_to_write(tmp_path: Path) -> None:
    with pytest.raises(ConnectionSpecError, match="three slashes"):
        open_connector("file://relative/x", {"tables": {"t": {"glob": "*"}}})
    with pytest.raises(ConnectionSpecError, match="does not exist"):
        check_local_path(str(tmp_path / "missing"))
    with pytest.raises(ConnectorSpecError, match="needs a glob"):
        open_connector(f"file://{tmp_path}", {"tables": {"t": {}}})
    with pytest.raises(ConnectorSpecError, match="format 'xml'"):
        open_connector(f"file://{tmp_path}", {"tables": {"t": {"glob": "*", "format": "xml"}}})
