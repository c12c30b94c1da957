"""The connections service on a real state database, against real SQLite, DuckDB,
PostgreSQL and MariaDB databases: checks with paths (nothing written on a refusal),
the prompted-password secret and its rollback, test, browse with row estimates,
propose and the module file `apply` takes; and the system functions (init, doctor,
secrets)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import duckdb
import psycopg
import pymysql
import pytest

from pipekit.config import parse_config
from pipekit.errors import (
    AlreadyExistsError,
    ConnectionSpecError,
    DatabaseError,
    InUseError,
    ModuleSpecError,
    NotFoundError,
    SecretError,
    TransientDatabaseError,
    UnknownSchemeError,
    ValidationError,
)
from pipekit.services import Services, system
from pipekit.services.connections import ConnectionView, ProbeView, SchemaView, TableView
from pipekit.services.views import to_json

#: the fields today's API answers for a connection (pipekit.api.schemas.ConnectionOut)
CONNECTION_FIELDS = {
    "id",
    "name",
    "url",
    "user",
    "password",
    "supports_deletes",
    "driver_id",
    "created_at",
    "updated_at",
}


def make_sqlite(path: Path) -> str:
    """A SQLite file with `t` (3 rows, key id) and `notes` (no key); its URL."""
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, updated_at TEXT)")
        db.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, f"v{i}", "2024") for i in (1, 2, 3)])
        db.execute("CREATE TABLE notes (body TEXT)")
        db.commit()
    return f"sqlite:///{path}"


@pytest.fixture
def sv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    """Services over a fresh SQLite state DB, with a secrets file in `tmp_path`."""
    monkeypatch.delenv("PIPEKIT_SECRETS", raising=False)
    config = parse_config(
        {"database": str(tmp_path / "state.db"), "secrets_file": str(tmp_path / "secrets.env")},
        tmp_path / "pipekit.yaml",
    )
    with Services.open(config) as services:
        services.store.init()
        yield services


def names(sv: Services) -> list[str]:
    return [c.name for c in sv.connections.list()]


# -- create, read, update, delete ------------------------------------------------------


def test_round_trip_by_id_and_name(sv: Services, tmp_path: Path) -> None:
    url = make_sqlite(tmp_path / "src.db")
    c = sv.connections.add("src", url, user="etl", password="$SRC_PW", supports_deletes=False)
    assert isinstance(c, ConnectionView)
    assert (c.name, c.url, c.user, c.password, c.supports_deletes) == (
        "src",
        url,
        "etl",
        "$SRC_PW",
        False,
    )
    assert set(to_json(c)) == CONNECTION_FIELDS
    assert sv.connections.show(c.id) == c == sv.connections.show(str(c.id))
    assert sv.connections.show("src") == c
    assert sv.connections.list() == [c]

    changed = sv.connections.update(str(c.id), name="source", supports_deletes=True, user=None)
    assert (changed.id, changed.name, changed.user, changed.supports_deletes) == (
        c.id,
        "source",
        None,
        True,
    )
    assert changed.password == "$SRC_PW"  # not given: kept
    assert sv.connections.remove("source") == changed
    assert sv.connections.list() == []


def test_relative_file_paths_are_stored_absolute(
    sv: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    c = sv.connections.add("rel", "sqlite:///data/x.db?create=true")
    assert c.url == f"sqlite:///{tmp_path / 'data' / 'x.db'}?create=true"
    moved = sv.connections.update("rel", url="duckdb:///y.duckdb")
    assert moved.url == f"duckdb:///{tmp_path / 'y.duckdb'}"


def test_unknown_connection_suggests_the_closest(sv: Services) -> None:
    sv.connections.add("warehouse", "sqlite:////tmp/w.db")
    with pytest.raises(NotFoundError, match="no connection named 'warehose'; did you mean"):
        sv.connections.show("warehose")
    with pytest.raises(NotFoundError, match="no connection with id 999"):
        sv.connections.update("999", user="x")
    with pytest.raises(NotFoundError, match="known: warehouse"):
        sv.connections.remove("nope")


@pytest.mark.parametrize(
    ("name", "url", "password", "error", "paths"),
    [
        ("7", "sqlite:////tmp/x.db", None, ConnectionSpecError, ["name"]),
        ("bad name", "sqlite:////tmp/x.db", None, ConnectionSpecError, ["name"]),
        ("x", "postgresql://u:hunter2@db1:99999/erp", None, ConnectionSpecError, ["url"]),
        ("x", "postgresql://u:hunter2@db1/erp", None, ConnectionSpecError, ["url"]),
        ("x", "oracle://h/db", None, UnknownSchemeError, ["url"]),
        ("x", "postgresql:/nohost", None, ConnectionSpecError, ["url"]),
        ("x", "sqlite:////tmp/x.db", "hunter2", SecretError, ["password"]),
        ("7", "oracle://h/db", "hunter2", ValidationError, ["name", "url", "password"]),
    ],
)
def test_bad_input_names_every_field_and_writes_nothing(
    sv: Services,
    name: str,
    url: str,
    password: str | None,
    error: type[Exception],
    paths: list[str],
) -> None:
    sv.connections.add("keep", "sqlite:////tmp/keep.db")
    with pytest.raises(error) as caught:
        sv.connections.add(name, url, password=password)
    exc = caught.value
    assert type(exc) is error
    assert [p.path for p in exc.problems] == paths  # type: ignore[attr-defined]
    assert "hunter2" not in str(exc)
    assert names(sv) == ["keep"]


def test_duplicate_name_is_refused(sv: Services) -> None:
    sv.connections.add("dup", "sqlite:////tmp/a.db")
    with pytest.raises(AlreadyExistsError, match="'dup' already exists"):
        sv.connections.add("dup", "sqlite:////tmp/b.db")
    with pytest.raises(AlreadyExistsError):
        sv.connections.check_new("dup", "sqlite:////tmp/b.db")
    assert sv.connections.show("dup").url == "sqlite:////tmp/a.db"


def test_update_refuses_nulls_and_bad_values_all_at_once(sv: Services) -> None:
    before = sv.connections.add("c", "sqlite:////tmp/c.db", password="$C_PW")
    with pytest.raises(ValidationError) as caught:
        sv.connections.update("c", name=None, url="oracle://h/db", password="plain-pw")
    assert sorted(p.path for p in caught.value.problems) == ["name", "password", "url"]
    assert "plain-pw" not in str(caught.value)
    with pytest.raises(ConnectionSpecError) as one:
        sv.connections.update("c", supports_deletes=None)
    assert one.value.path == "supports_deletes"
    with pytest.raises(ConnectionSpecError) as unknown:
        sv.connections.update("c", host="h")
    assert unknown.value.path == "host"
    assert sv.connections.show("c") == before


def test_remove_is_refused_while_a_module_uses_it(sv: Services) -> None:
    sv.connections.add("src", "sqlite:////tmp/s.db")
    sv.store.modules.add("m", source="src")
    with pytest.raises(InUseError, match="used by module"):
        sv.connections.remove("src")
    assert names(sv) == ["src"]


# -- the prompted password ---------------------------------------------------------------


def test_add_with_secret_keeps_the_value_in_the_secrets_file(sv: Services) -> None:
    c, stored = sv.connections.add_with_secret("pg-main", "postgresql://h/db", value="pr0mpted")
    assert c.password == "$PG_MAIN_PASSWORD"
    assert (stored.key, stored.replaced) == ("PG_MAIN_PASSWORD", False)
    assert sv.secrets.read() == {"PG_MAIN_PASSWORD": "pr0mpted"}
    assert "pr0mpted" not in repr(c) + repr(stored)
    assert sv.connections.missing_secret(c) is None


def test_add_with_secret_puts_the_secrets_file_back_when_the_store_refuses(
    sv: Services, tmp_path: Path
) -> None:
    sv.secrets.set("ERP_PASSWORD", "old-value")
    with closing(sqlite3.connect(tmp_path / "state.db")) as db:
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON connection "
            "BEGIN SELECT RAISE(ABORT, 'refused by test'); END;"
        )
        db.commit()
    # the store reads the refused INSERT as a lost race for the name
    with pytest.raises(AlreadyExistsError):
        sv.connections.add_with_secret("erp", "postgresql://h/db", value="new-value")
    assert sv.secrets.read() == {"ERP_PASSWORD": "old-value"}
    assert names(sv) == []


def test_add_with_secret_checks_before_writing_the_secret(sv: Services) -> None:
    with pytest.raises(ConnectionSpecError):
        sv.connections.add_with_secret("erp", "postgresql://", value="pw")
    with pytest.raises(ConnectionSpecError, match="not both") as both:
        sv.connections.check_new("erp", "postgresql://h/db", password="$A", prompted=True)
    assert both.value.path == "password"
    assert not sv.secrets.path.exists() or sv.secrets.read() == {}


def test_missing_secret_names_the_unset_reference(sv: Services) -> None:
    c = sv.connections.add("erp", "postgresql://h/db", password="$ERP_PW")
    assert sv.connections.missing_secret(c) == "ERP_PW"
    sv.secrets.set("ERP_PW", "x")
    assert sv.connections.missing_secret(c) is None


# -- test ------------------------------------------------------------------------------------


def test_test_reports_version_or_the_reason(sv: Services, tmp_path: Path, pg_url: str) -> None:
    sv.connections.add("lite", make_sqlite(tmp_path / "s.db"))
    ok = sv.connections.test("lite")
    assert ok.ok and ok.kind == "sqlite" and ok.server_version.startswith("SQLite 3.")
    assert ok.latency_ms is not None and ok.latency_ms >= 0 and ok.error is None

    sv.connections.add("pg", pg_url)
    assert sv.connections.test("pg").kind == "postgresql"

    sv.connections.add("closed", "postgresql://127.0.0.1:1/x", user="postgres", password="$PW")
    sv.secrets.set("PW", "s3cret-value")
    failed = sv.connections.test("closed")
    assert failed == ProbeView(ok=False, error=failed.error)
    assert "refused" in (failed.error or "").lower() and "s3cret-value" not in failed.error
    with pytest.raises(TransientDatabaseError, match="connection 'closed' failed") as raised:
        sv.connections.test("closed", strict=True)
    assert raised.value.reason and "s3cret-value" not in str(raised.value)

    sv.connections.add("nosecret", pg_url, password="$NOPE_PW")
    probe = sv.connections.test("nosecret")
    assert not probe.ok and "pipekit secrets set NOPE_PW" in (probe.error or "")
    with pytest.raises(SecretError, match="connection 'nosecret' failed: secret \\$NOPE_PW"):
        sv.connections.test("nosecret", strict=True)


# -- browse ----------------------------------------------------------------------------------


def test_browse_sqlite(sv: Services, tmp_path: Path) -> None:
    sv.connections.add("lite", make_sqlite(tmp_path / "s.db"))
    assert sv.connections.schemas("lite") == ["main"]
    found = sv.connections.tables("lite")
    assert found == SchemaView(
        schema=None,
        tables=["notes", "t"],
        tables_detail=[TableView("notes", None), TableView("t", None)],
    )
    assert to_json(found)["schema"] is None
    cols = sv.connections.columns("lite", "main.t")
    assert [(c.name, c.type, c.primary_key) for c in cols] == [
        ("id", "INTEGER", True),
        ("v", "TEXT", False),
        ("updated_at", "TEXT", False),
    ]
    assert sv.connections.columns("lite", "t") == cols
    with pytest.raises(NotFoundError, match=r"table main\.tt does not exist.*did you mean 't'"):
        sv.connections.columns("lite", "main.tt")
    with pytest.raises(NotFoundError, match="no schema named 'mian'; did you mean 'main'"):
        sv.connections.tables("lite", "mian")
    with pytest.raises(ConnectionSpecError) as bad:
        sv.connections.columns("lite", "a.b.c")
    assert bad.value.path == "table"


def test_browse_duckdb_with_estimates(sv: Services, tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as db:
        db.execute("CREATE SCHEMA dw")
        db.execute("CREATE TABLE dw.facts AS SELECT range AS id FROM range(1234)")
        db.execute("CREATE VIEW dw.v AS SELECT 1 AS x")
    sv.connections.add("duck", f"duckdb:///{path}")
    assert {"dw", "main"} <= set(sv.connections.schemas("duck"))
    found = sv.connections.tables("duck", "dw")
    assert found.tables == ["facts", "v"]
    detail = {t.name: t.rows for t in found.tables_detail}
    assert detail == {"facts": 1234, "v": None}


def test_browse_postgresql_with_estimates(sv: Services, pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS shop")
        conn.execute("DROP TABLE IF EXISTS shop.items, shop.fresh")
        conn.execute("CREATE TABLE shop.items (id int PRIMARY KEY, name text)")
        conn.execute("INSERT INTO shop.items SELECT g, 'x' FROM generate_series(1, 500) g")
        conn.execute("ANALYZE shop.items")
        conn.execute("CREATE TABLE shop.fresh (id int)")  # never analysed: no estimate
    sv.connections.add("pg", pg_url)
    assert "shop" in sv.connections.schemas("pg")
    assert not any(s.startswith("pg_") for s in sv.connections.schemas("pg"))
    found = sv.connections.tables("pg", "shop")
    assert found.schema == "shop" and found.tables == ["fresh", "items"]
    assert {t.name: t.rows for t in found.tables_detail} == {"fresh": None, "items": 500}
    cols = sv.connections.columns("pg", "shop.items")
    assert [(c.name, c.type, c.nullable, c.primary_key) for c in cols] == [
        ("id", "integer", False, True),
        ("name", "text", True, False),
    ]
    with pytest.raises(NotFoundError, match="no schema named 'shp'; did you mean 'shop'"):
        sv.connections.columns("pg", "shp.items")


def test_browse_mariadb_with_estimates(sv: Services, mysql_url: str) -> None:
    database = mysql_url.rsplit("/", 1)[1]
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", database=database)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE orders (id int PRIMARY KEY, amount int) ENGINE=Aria")
            cur.executemany("INSERT INTO orders VALUES (%s, %s)", [(i, i) for i in range(42)])
        conn.commit()
    finally:
        conn.close()
    sv.connections.add("maria", mysql_url)
    assert database in sv.connections.schemas("maria")
    found = sv.connections.tables("maria")
    assert found.tables == ["orders"]
    assert found.tables_detail == [TableView("orders", 42)]
    assert [c.name for c in sv.connections.columns("maria", f"{database}.orders")] == [
        "id",
        "amount",
    ]


def test_browse_a_database_that_is_not_there(sv: Services) -> None:
    sv.connections.add("closed", "postgresql://127.0.0.1:1/x", user="postgres")
    with pytest.raises(DatabaseError, match="refused"):
        sv.connections.schemas("closed")


# -- propose ---------------------------------------------------------------------------------


def test_propose_and_the_module_file_apply_takes(sv: Services, tmp_path: Path) -> None:
    from pipekit.engine.manifest import apply_manifest

    sv.connections.add("src", make_sqlite(tmp_path / "s.db"))
    sv.connections.add("dst", f"duckdb:///{tmp_path / 'd.duckdb'}?create=true")
    p = sv.connections.propose("src", "main.t", dest="dst", dest_table="stage.t", name="t_sync")
    assert (p.name, p.source, p.dest, p.source_table) == ("t_sync", "src", "dst", "main.t")
    assert (
        p.source_query == 'SELECT "id" AS id, "v" AS v, "updated_at" AS updated_at FROM "main"."t"'
    )
    assert (p.merge_strategy, p.merge_key, p.watermark_column) == ("upsert", "id", None)
    assert p.dest_ddl is not None and p.dest_ddl.startswith('CREATE TABLE "stage"."t"')
    assert [c.dest for c in p.columns] == ["id", "v", "updated_at"]

    text = sv.connections.proposal_yaml(p)
    assert "connections:" not in text  # the connections are referred to by name only
    path = tmp_path / "t_sync.yaml"
    path.write_text(text)
    report = apply_manifest(sv.store, path)
    assert report.changed
    m = sv.store.modules.get("t_sync")
    assert (m.dest_table, m.source_query, m.merge_strategy, m.merge_key) == (
        "stage.t",
        p.source_query,
        "upsert",
        "id",
    )
    assert not apply_manifest(sv.store, path).changed  # the file is what the store holds


def test_propose_defaults_and_refusals(sv: Services, tmp_path: Path) -> None:
    sv.connections.add("src", make_sqlite(tmp_path / "s.db"))
    p = sv.connections.propose("src", "notes")
    assert (p.name, p.dest, p.dest_table, p.dest_ddl) == ("notes", None, "sync.notes", None)
    assert (p.merge_strategy, p.merge_key) == ("full", None)
    with pytest.raises(ModuleSpecError) as no_dest:
        sv.connections.proposal_yaml(p)
    assert no_dest.value.path == "dest"
    with pytest.raises(NotFoundError) as unknown_dest:
        sv.connections.propose("src", "t", dest="dts")
    assert unknown_dest.value.path == "dest"
    with pytest.raises(ModuleSpecError) as digits:
        sv.connections.propose("src", "t", name="123")
    assert digits.value.path == "name"
    with pytest.raises(NotFoundError, match="table nope does not exist"):
        sv.connections.propose("src", "nope")


def test_drivers_lists_every_kind(sv: Services) -> None:
    native = {d.kind: d for d in sv.connections.drivers() if d.origin == "native"}
    assert set(native) == {"postgresql", "mysql", "sqlite", "duckdb", "jdbc", "mssql"}
    assert native["sqlite"].available and native["sqlite"].packages == []
    assert "pg" in native["postgresql"].schemes
    profiles = {d.name: d for d in sv.connections.drivers() if d.origin == "jdbc"}
    # the jars scripts/test.sh installs from Debian's packages, and Java, are found
    for name in ("postgresql", "derby", "hsqldb", "as400", "jtds"):
        assert profiles[name].available, profiles[name].problems


# -- system: init, doctor, secrets ------------------------------------------------------------


def test_init_then_doctor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPEKIT_SECRETS", raising=False)
    config = tmp_path / "home" / "pipekit.yaml"
    first = system.init(config)
    assert first.config_written and first.applied and first.schema_version
    again = system.init(config)
    assert not again.config_written and again.applied == []
    assert again.schema_version == first.schema_version

    report = system.doctor(config)
    assert report.ok and report.problems == 0
    assert report.checks[0].status == "ok" and report.checks[0].message.startswith("config: ")
    assert any(c.message.startswith("state database: ") for c in report.checks)


def test_doctor_reports_each_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPEKIT_SECRETS", raising=False)
    config = tmp_path / "pipekit.yaml"
    config.write_text("database: state.db\n")
    before = system.doctor(config)
    assert not before.ok and any("pipekit init" in c.message for c in before.checks)
    system.init(config)
    with Services.open(parse_config({"database": str(tmp_path / "state.db")}, config)) as sv:
        sv.connections.add("erp", "postgresql://127.0.0.1:1/x", password="$ERP_PW")
    report = system.doctor(config, connect=True)
    bad = [c.message for c in report.checks if c.status == "bad"]
    assert report.problems == len(bad) == 2
    assert "pipekit secrets set ERP_PW" in bad[0]
    assert bad[1].startswith("connect erp: ")


def test_secrets_never_return_values(tmp_path: Path) -> None:
    from pipekit.secrets import SecretsFile

    sf = SecretsFile(tmp_path / "secrets.env")
    assert system.set_secret(sf, "ERP_PW", "v1").replaced is False
    assert system.set_secret(sf, "ERP_PW", "v2").replaced is True
    listed = system.list_secrets(sf)
    assert listed.keys == ["ERP_PW"] and listed.problem is None
    assert "v2" not in repr(listed)
    with pytest.raises(SecretError) as bad:
        system.set_secret(sf, "not a name", "x")
    assert bad.value.path == "key"
    system.remove_secret(sf, "ERP_PW")
    with pytest.raises(NotFoundError, match="secret ERP_PW is not set"):
        system.remove_secret(sf, "ERP_PW")
