"""`pipekit connector list|discover|test|new|extract`: through the connectors service,
with --json, one `error:` line and exit 1 for what is refused or failed."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.connectors.sources import status_server
from tests.helpers import Invoke, assert_clean_failure

SECRET_CONNECTOR = """
import os

import pyarrow as pa
from pipekit.connectors import Cap, TableInfo

SCHEMA = pa.schema([("who", pa.string()), ("city", pa.string())])


class Conn:
    capabilities = Cap.DISCOVER | Cap.READ

    def __init__(self, config):
        self.city = config["city"]
        self.token = os.environ["ACME_TOKEN"]

    def discover(self):
        if self.city == "atlantis":
            raise RuntimeError(f"token {self.token} does not know {self.city}")
        return [TableInfo("people", SCHEMA, Cap.READ)]

    def read(self, table, options):
        if self.city == "nowhere":
            raise RuntimeError(f"token {self.token} refused")
        yield pa.RecordBatch.from_pylist([{"who": "ann", "city": self.city}], SCHEMA)
"""


@pytest.fixture
def acme(home: Path) -> str:
    """A connector in connectors_dir that needs a setting and an env var."""
    folder = home / "connectors" / "acme"
    folder.mkdir(parents=True)
    (folder / "connector.py").write_text(SECRET_CONNECTOR)
    manifest = {
        "name": "acme",
        "version": "2.0.0",
        "description": "People by city",
        "entrypoint": "acme.connector.Conn",
        "capabilities": ["discover", "read"],
        "auth": {"type": "token", "env_vars": [{"name": "ACME_TOKEN", "required": True}]},
        "config": {"city": {"type": "string", "required": True}},
    }
    (folder / "connector.yaml").write_text(yaml.safe_dump(manifest))
    return "acme"


def test_list_shows_builtin_and_folder_connectors_and_broken_ones(
    cli: Invoke, home: Path, acme: str
) -> None:
    broken = home / "connectors" / "broken"
    broken.mkdir()
    (broken / "connector.yaml").write_text("name: broken\nversion: '1'\n")
    result = cli("connector", "list", "--json")
    assert result.exit_code == 0, result.output
    views = {v["name"]: v for v in json.loads(result.output)}
    assert views["sample"]["capabilities"] == ["discover", "read"]
    assert views["sample"]["source"] == "builtin" and views["sample"]["valid"] is True
    assert views["acme"]["version"] == "2.0.0" and views["acme"]["source"] == "folder"
    assert views["broken"]["valid"] is False
    assert any(
        p.startswith("version: '1' is not a semantic version") for p in views["broken"]["problems"]
    )
    text = cli("connector", "list").output
    assert "sample" in text and "invalid: " in text


def test_discover_shows_tables_and_columns(cli: Invoke, home: Path) -> None:
    result = cli("connector", "discover", "sample", "--json")
    assert result.exit_code == 0, result.output
    tables = {t["name"]: t for t in json.loads(result.output)}
    assert tables["orders"]["incremental_key"] == "id"
    assert tables["orders"]["columns"][0] == {"name": "id", "type": "int64", "nullable": False}
    text = cli("connector", "discover", "sample").output
    assert "orders [read]; key id; incremental by id" in text
    assert "created_at: timestamp[us, tz=UTC] not null" in text


def test_settings_and_env_vars_are_checked_and_secrets_file_counts(
    cli: Invoke, home: Path, acme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_TOKEN", "")  # unset for the connector; restored afterwards
    assert_clean_failure(cli("connector", "discover", "acme"), "config.city: is required")
    assert_clean_failure(
        cli("connector", "discover", "acme", "--set", "city=Brno"),
        "environment variable ACME_TOKEN is not set",
        "pipekit secrets set ACME_TOKEN",
    )
    assert cli("secrets", "set", "ACME_TOKEN", "tok-123456").exit_code == 0
    result = cli("connector", "discover", "acme", "--set", "city=Brno", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["name"] == "people"
    # the connector quotes its token in an error: the value is masked in the output
    out = home / "out"
    result = cli("connector", "extract", "acme", "-o", str(out), "--set", "city=nowhere")
    assert_clean_failure(result, "1 problem(s): people: token *** refused")
    assert "tok-123456" not in result.output
    result = cli("connector", "discover", "acme", "--set", "city=atlantis")
    assert_clean_failure(result, "discover() failed: RuntimeError: token *** does not know")
    assert "tok-123456" not in result.output


def test_extract_then_incremental_then_errors(cli: Invoke, home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli("connector", "extract", "sample", "--out", str(out), "--set", "rows=500")
    assert result.exit_code == 0, result.output
    assert "orders: 500 rows" in result.output and "customers: 100 rows" in result.output
    result = cli(
        "connector", "extract", "sample", "-o", str(out), "-s", "rows=800", "-t", "orders", "--json"
    )
    assert result.exit_code == 0, result.output
    view = json.loads(result.output)
    assert view["rows"] == {"orders": 301}  # id 500 again (key: >=), then 501..800
    assert view["database"] == str(out / "extract.duckdb") and view["errors"] == []
    con = duckdb.connect(view["database"], read_only=True)
    assert con.execute("SELECT count(*), max(id) FROM orders").fetchone() == (800, 800)
    con.close()

    before = sorted(p.name for p in out.rglob("*"))
    assert_clean_failure(
        cli("connector", "extract", "sample", "-o", str(out), "-s", "rows=many"),
        "config.rows: must be of type integer, got str 'many'",
    )
    assert_clean_failure(
        cli("connector", "extract", "sample", "-o", str(out), "-t", "order"),
        "did you mean 'orders'?",
    )
    assert_clean_failure(
        cli("connector", "extract", "sampel", "-o", str(out)), "no connector named 'sampel'"
    )
    assert_clean_failure(
        cli("connector", "extract", "sample", "-o", str(out), "--batch-size", "0"),
        "batch size must be at least 1",
    )
    assert sorted(p.name for p in out.rglob("*")) == before  # nothing changed


def test_new_then_test_passes_and_a_broken_connector_fails(cli: Invoke, home: Path) -> None:
    result = cli("connector", "new", "shop", "--caps", "discover,read,stream")
    assert result.exit_code == 0, result.output
    assert f"in {home / 'connectors' / 'shop'}" in result.output
    result = cli("connector", "test", "shop", "--json")
    assert result.exit_code == 0, result.output
    checks = {c["name"]: c["outcome"] for c in json.loads(result.output)["checks"]}
    assert checks == {
        "health": "skipped",  # the scaffold's manifest has no health_check
        "capabilities": "passed",
        "discover": "passed",
        "read": "passed",
        "incremental": "passed",
        "extract": "passed",
        "stream": "passed",
        "remote": "skipped",
    }
    # another one, broken before its first import: read() ignores incremental_value
    assert cli("connector", "new", "shop_bad").exit_code == 0
    code = home / "connectors" / "shop_bad" / "connector.py"
    code.write_text(code.read_text().replace("after = int(options.incremental_value)", "after = 0"))
    result = cli("connector", "test", "shop_bad")
    line = assert_clean_failure(
        result, "connector shop_bad failed the contract checks: incremental"
    )
    assert "✗ incremental failed" in result.output and line

    assert_clean_failure(cli("connector", "new", "shop"), "already exists")
    assert_clean_failure(cli("connector", "new", "sample"), "a connector named 'sample' already")
    assert_clean_failure(cli("connector", "new", "other", "--caps", "read,fly"), "'fly'")
    assert not (home / "connectors" / "other").exists()


def test_connectors_dir_comes_from_the_config(cli: Invoke, home: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "my-connectors"
    result = cli("connector", "new", "radar", "--dir", str(elsewhere), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["found"] is False  # not where the config looks
    assert_clean_failure(cli("connector", "test", "radar"), "no connector named 'radar'")
    config = home / "pipekit.yaml"
    text = config.read_text()
    assert "connectors_dir: connectors\n" in text  # `pipekit init` wrote the default
    config.write_text(
        text.replace("connectors_dir: connectors\n", f"connectors_dir: {elsewhere}\n")
    )
    views = {v["name"]: v for v in json.loads(cli("connector", "list", "--json").output)}
    assert views["radar"]["location"] == str(elsewhere / "radar" / "connector.yaml")
    assert cli("connector", "test", "radar").exit_code == 0


def test_test_runs_the_manifests_health_check(
    cli: Invoke, home: Path, acme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest_path = home / "connectors" / "acme" / "connector.yaml"
    manifest = yaml.safe_load(manifest_path.read_text())
    manifest["config"]["url"] = {"type": "string", "required": True}
    manifest["health_check"] = {
        "endpoint": "${url}/v2/storage",
        "headers": {"X-Token": "${ACME_TOKEN}"},
        "timeout_seconds": 5,
    }
    manifest_path.write_text(yaml.safe_dump(manifest))
    with status_server("tok-good-1") as url:
        monkeypatch.setenv("ACME_TOKEN", "tok-good-1")
        result = cli("connector", "test", "acme", "-s", "city=Brno", "-s", f"url={url}")
        assert result.exit_code == 0, result.output
        assert f"✓ health passed: GET {url}/v2/storage answered 200" in result.output
        monkeypatch.setenv("ACME_TOKEN", "tok-bad-2")
        result = cli("connector", "test", "acme", "-s", "city=Brno", "-s", f"url={url}", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["checks"][0] == {
        "name": "health",
        "outcome": "failed",
        "detail": f"GET {url}/v2/storage answered 401, expected 200",
    }
    assert "tok-bad-2" not in result.output
