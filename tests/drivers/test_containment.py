"""Embedded databases kept to their own files (issue 17): DuckDB with external access
off and its configuration locked, SQLite's ATTACH held to the allowed folders, and
both refusing to open a file outside them. Real files, real DuckDB and SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipekit.drivers import connect
from pipekit.errors import ConnectionSpecError, DatabaseError, PathNotAllowedError
from pipekit.files import FilePolicy


@pytest.fixture
def data(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    return tmp_path / "data"


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    path = tmp_path / "secrets.env"
    path.write_text("ERP_PW=s3cret-of-the-server\n")
    return path


@pytest.fixture
def policy(tmp_path: Path, data: Path, secrets: Path) -> FilePolicy:
    return FilePolicy.make([data], [tmp_path / "state.db", secrets])


def _refused(driver: object, sql: str) -> str:
    with pytest.raises(DatabaseError) as e:
        driver.execute(sql)  # type: ignore[attr-defined]
    return str(e.value)


def test_duckdb_sql_reads_and_writes_no_file_outside_the_allowed_folders(
    tmp_path: Path, data: Path, secrets: Path, policy: FilePolicy
) -> None:
    with connect(f"duckdb:///{data / 'w.duckdb'}?create=true", files=policy) as d:
        for sql in (
            f"SELECT content FROM read_text('{secrets}')",
            "SELECT content FROM read_text('/etc/passwd')",
            "SELECT * FROM read_csv('/proc/self/environ')",
            f"COPY (SELECT 42) TO '{tmp_path / 'written.csv'}'",
            f"ATTACH '{tmp_path / 'other.duckdb'}' AS other",
            "INSTALL httpfs",
        ):
            assert "disabled by configuration" in _refused(d, sql), sql
        # nothing undoes the containment from SQL (the configuration is not locked,
        # so the load caps can be set: memory_limit stays settable, and harmless)
        for sql in (
            "SET enable_external_access = true",
            "SET allowed_directories = ['/']",
            "SET allowed_paths = ['/etc/passwd']",
            "SET temp_directory = '/tmp'",
        ):
            _refused(d, sql)
        d.execute("SET memory_limit = '1GB'")
        assert "disabled by configuration" in _refused(d, "SELECT * FROM read_text('/etc/hosts')")
        # inside the allowed folder, SQL may read and write files
        d.execute(f"COPY (SELECT 42 AS x) TO '{data / 'out.csv'}'")
        assert d.query(f"SELECT x FROM read_csv('{data / 'out.csv'}')") == [(42,)]
    assert not (tmp_path / "written.csv").exists()
    assert not (tmp_path / "other.duckdb").exists()


def test_duckdb_sql_gets_no_folder_that_holds_a_protected_file(
    tmp_path: Path, secrets: Path
) -> None:
    # the whole tmp_path is allowed, but the secrets file is in it
    policy = FilePolicy.make([tmp_path], [secrets])
    with connect(f"duckdb:///{tmp_path / 'w.duckdb'}?create=true", files=policy) as d:
        assert "disabled by configuration" in _refused(
            d, f"SELECT content FROM read_text('{secrets}')"
        )


def test_external_access_true_in_the_url_lifts_the_containment(
    tmp_path: Path, data: Path, policy: FilePolicy
) -> None:
    url = f"duckdb:///{data / 'open.duckdb'}?create=true&external_access=true"
    with connect(url, files=policy) as d:
        d.execute(f"COPY (SELECT 1 AS x) TO '{tmp_path / 'allowed_by_admin.csv'}'")
        d.execute("SET memory_limit = '1GB'")
    assert (tmp_path / "allowed_by_admin.csv").exists()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("enable_external_access=true", "external_access=true"),
        ("lock_configuration=false", "external_access=true"),
        ("allowed_directories=/", "external_access=true"),
        ("temp_directory=/tmp/pipekit-elsewhere", "outside the folders"),
    ],
)
def test_url_options_cannot_undo_the_containment(
    data: Path, policy: FilePolicy, option: str, message: str
) -> None:
    with pytest.raises(ConnectionSpecError, match=message):
        connect(f"duckdb:///{data / 'o.duckdb'}?create=true&{option}", files=policy)
    assert not (data / "o.duckdb").exists()


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
def test_a_file_url_outside_the_folders_or_protected_is_refused_before_it_is_opened(
    tmp_path: Path, secrets: Path, policy: FilePolicy, kind: str
) -> None:
    for target in (
        tmp_path / "outside.db",
        tmp_path / "data" / ".." / "outside.db",
        tmp_path / "state.db",
        secrets,
        Path("/proc/self/environ"),
    ):
        with pytest.raises(PathNotAllowedError):
            connect(f"{kind}:///{target}?create=true", files=policy)
    assert not (tmp_path / "outside.db").exists()
    assert not (tmp_path / "state.db").exists()


def test_sqlite_attach_and_vacuum_into_are_held_to_the_allowed_folders(
    tmp_path: Path, data: Path, secrets: Path, policy: FilePolicy
) -> None:
    with connect(f"sqlite:///{data / 's.db'}?create=true", files=policy) as d:
        for sql in (
            f"ATTACH '{tmp_path / 'evil.db'}' AS evil",
            f"ATTACH 'file:{tmp_path / 'evil2.db'}?mode=rwc' AS evil2",
            f"ATTACH '{tmp_path / 'state.db'}' AS state",
            f"VACUUM INTO '{tmp_path / 'copy.db'}'",
            "SELECT load_extension('/tmp/anything.so')",
        ):
            assert "not authorized" in _refused(d, sql) or "denied" in _refused(d, sql), sql
        d.execute(f"ATTACH '{data / 'ok.db'}' AS ok")  # inside the folder: allowed
        d.execute("ATTACH ':memory:' AS scratch")
    for name in ("evil.db", "evil2.db", "state.db", "copy.db"):
        assert not (tmp_path / name).exists(), name
    assert (data / "ok.db").exists()


def test_without_folders_duckdb_sql_reaches_no_file_not_even_beside_it(tmp_path: Path) -> None:
    # the database file may be anywhere then (/root/x.duckdb): its folder is not opened
    with connect(f"duckdb:///{tmp_path / 'w.duckdb'}?create=true") as d:
        assert "disabled by configuration" in _refused(
            d, f"COPY (SELECT 1) TO '{tmp_path / 'x.csv'}'"
        )
    assert not (tmp_path / "x.csv").exists()


def test_a_view_over_parquet_beside_the_database_still_reads(tmp_path: Path) -> None:
    # what a connector's extract.duckdb is: views over the Parquet files in its folder,
    # readable once that folder is an allowed one
    (tmp_path / "out" / "data").mkdir(parents=True)
    parquet = tmp_path / "out" / "data" / "t.parquet"
    writer = f"duckdb:///{tmp_path / 'out' / 'x.duckdb'}?create=true&external_access=true"
    with connect(writer) as d:
        d.execute(f"COPY (SELECT 7 AS id) TO '{parquet}' (FORMAT parquet)")
        d.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{parquet}')")
    policy = FilePolicy.make([tmp_path / "out"], [tmp_path / "secrets.env"])
    with connect(f"duckdb:///{tmp_path / 'out' / 'x.duckdb'}", files=policy) as d:
        assert d.query("SELECT id FROM t") == [(7,)]


def test_a_second_connection_to_a_contained_file_shares_its_limits(
    data: Path, policy: FilePolicy
) -> None:
    url = f"duckdb:///{data / 'twice.duckdb'}?create=true&memory_limit=500MB"
    with connect(url, files=policy) as first, connect(url, files=policy) as second:
        assert "disabled by configuration" in _refused(
            second, "SELECT content FROM read_text('/etc/passwd')"
        )
        assert first.query("SELECT current_setting('TimeZone')") == [("UTC",)]
        with pytest.raises(ConnectionSpecError, match="external_access=true cannot apply"):
            connect(f"duckdb:///{data / 'twice.duckdb'}?external_access=true", files=policy)
