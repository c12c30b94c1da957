"""JDBC through the real `pipekit` command: browse and propose a Derby (DB2 family)
source, apply the proposed YAML unchanged and run it into PostgreSQL; register a
driver jar, test a connection that cannot reach its host, remove the driver.

Each command is its own process with its own JVM: the Derby database is served
by the network server (``derby`` fixture), as embedded Derby allows one JVM only."""

from __future__ import annotations

import json
from pathlib import Path

from pipekit.drivers import connect
from tests.helpers import DerbyServer, Server, free_port, table_rows, unique_name

JT400 = "/usr/share/java/jt400.jar"


def _home(tmp_path: Path) -> Server:
    home = tmp_path / "home"
    home.mkdir()
    (home / "pipekit.yaml").write_text("database: state.db\njdbc:\n  max_heap: 128m\n")
    srv = Server(home, 0)
    assert srv.cli("init").returncode == 0
    return srv


def test_browse_propose_apply_and_run_a_derby_source(
    derby: DerbyServer, pg_url: str, tmp_path: Path
) -> None:
    url = derby.url(unique_name("erp"), create=True)
    with connect(url, user="app") as d:
        d.create_schema("LGDAT")
        d.execute(
            'CREATE TABLE LGDAT.QCRH ("DCORD#" CHAR(10) NOT NULL PRIMARY KEY, '
            "DCAMT DECIMAL(15,5), DCUPDTS TIMESTAMP)"
        )
        d.execute(
            "INSERT INTO LGDAT.QCRH VALUES ('A1', 1.5, TIMESTAMP('2024-01-01 10:00:00')), "
            "('B22', 22.00001, TIMESTAMP('2024-01-02 10:00:00.000001'))"
        )
    srv = _home(tmp_path)
    r = srv.cli("connections", "add", "erp", url, "--user", "app")
    assert r.returncode == 0, r.stderr
    r = srv.cli("connections", "add", "dw", pg_url, "--user", "postgres")
    assert r.returncode == 0, r.stderr

    r = srv.cli("browse", "erp", "--json")
    assert r.returncode == 0, r.stderr
    assert "LGDAT" in json.loads(r.stdout)
    r = srv.cli("browse", "erp", "LGDAT", "--json")
    assert json.loads(r.stdout)["tables"] == ["QCRH"]
    r = srv.cli("browse", "erp", "LGDAT.QCRH", "--json")
    columns = json.loads(r.stdout)
    assert [(c["name"], c["type"], c["primary_key"]) for c in columns] == [
        ("DCORD#", "CHAR(10)", True),
        ("DCAMT", "DECIMAL(15,5)", False),
        ("DCUPDTS", "TIMESTAMP", False),
    ]

    module_file = tmp_path / "qcrh.yaml"
    r = srv.cli(
        "propose", "erp", "LGDAT.QCRH", "--dest", "dw", "--name", "qcrh", "--yaml", str(module_file)
    )
    assert r.returncode == 0, r.stderr
    text = module_file.read_text()
    assert 'RTRIM(\\"DCORD#\\")' in text or 'RTRIM("DCORD#")' in text
    assert "merge_strategy: incremental" in text and "watermark_column: dcupdts" in text

    assert srv.cli("apply", str(module_file)).returncode == 0
    r = srv.cli("run", "qcrh")
    assert r.returncode == 0, r.stdout + r.stderr
    assert table_rows(pg_url, "sync.qcrh", ["dcord", "dcamt"]) == [
        ("A1", __import__("decimal").Decimal("1.5")),
        ("B22", __import__("decimal").Decimal("22.00001")),
    ]


def test_register_a_driver_and_fail_on_an_unreachable_host_in_one_line(tmp_path: Path) -> None:
    srv = _home(tmp_path)
    (srv.home / "secrets.env").write_text("IBMI_PW=not-the-real-one\n")
    r = srv.cli(
        "drivers", "add", "db2i", "--jar", JT400,
        "--class", "com.ibm.as400.access.AS400JDBCDriver", "--url-template", "jdbc:as400://{host}",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (srv.home / "drivers" / "db2i" / "jt400.jar").is_file()

    listed = json.loads(srv.cli("drivers", "list", "--json").stdout)
    mine = next(d for d in listed if d["name"] == "db2i")
    assert (mine["origin"], mine["available"], mine["schemes"]) == (
        "registered",
        True,
        ["jdbc:as400"],
    )
    assert any(d["name"] == "derby" and d["origin"] == "jdbc" for d in listed)

    port = free_port()
    r = srv.cli(
        "connections", "add", "ibmi", f"jdbc:as400://127.0.0.1:{port}",
        "--user", "QUSER", "--password", "$IBMI_PW",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = srv.cli("connections", "test", "ibmi")
    assert r.returncode != 0
    lines = (r.stdout + r.stderr).strip().splitlines()
    error = [line for line in lines if "Connection refused" in line]
    assert error and "not-the-real-one" not in r.stdout + r.stderr
    assert "at com.ibm" not in r.stdout + r.stderr  # no Java stack trace on the screen

    r = srv.cli("drivers", "rm", "db2i")
    assert r.returncode != 0 and "used by connection(s) ibmi" in r.stderr
    assert srv.cli("connections", "rm", "ibmi").returncode == 0
    assert srv.cli("drivers", "rm", "db2i").returncode == 0
    assert not (srv.home / "drivers" / "db2i").exists()


def test_bad_driver_registrations_name_every_problem(tmp_path: Path) -> None:
    srv = _home(tmp_path)
    r = srv.cli(
        "drivers", "add", "x", "--jar", str(tmp_path / "nope.jar"), "--jar", JT400,
        "--class", "not a class", "--url-template", "as400://h",
    )  # fmt: skip
    assert r.returncode != 0
    assert "jars.0" in r.stderr and "does not exist" in r.stderr
    assert "class_name" in r.stderr and "url_template" in r.stderr
    r = srv.cli("drivers", "add", "y", "--jar", JT400, "--class", "com.ibm.Nope")
    assert r.returncode != 0 and "class com.ibm.Nope is not in" in r.stderr
    assert not (srv.home / "drivers").exists() or not any((srv.home / "drivers").iterdir())
