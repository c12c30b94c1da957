"""Each module setting is declared once, in pipekit/module_settings.py.

The proof: a copy of the package gets one new field in the settings table plus a
migration adding its column (the two edits docs/ARCHITECTURE.md asks for), and the
new setting then works in every face — `modules add/edit` options and --json, the
REST API's models and answers, `export`/`apply` round trip, the validator's type
check and the docs table — with no other edit.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

import pipekit
from pipekit import module_settings as settings
from pipekit.store.migrations import LATEST_VERSION
from tests.helpers import PASSWORD, USER, Server

ROOT = Path(__file__).resolve().parents[1]
DUMMY = """
    batch_note: str | None = setting(
        help="A note carried by the dummy-setting test.",
        flag="--batch-note",
        clearable=True,
    )
"""
MIGRATION = '''"""Migration {n}: the dummy setting's column (written by the test)."""

from sqlalchemy import Connection, text


def upgrade(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE module ADD COLUMN batch_note TEXT"))
'''


def test_docs_table_is_the_generated_one() -> None:
    doc = (ROOT / "docs" / "yaml.md").read_text()
    found = re.search(
        r"<!-- module-settings:start[^>]*-->\n(.*?)<!-- module-settings:end -->", doc, re.S
    )
    assert found, "docs/yaml.md lost its module-settings markers"
    assert found.group(1) == settings.markdown_table(), (
        "docs/yaml.md's settings table differs from pipekit/module_settings.py; paste "
        "`python -c 'from pipekit.module_settings import markdown_table; print(markdown_table())'`"
    )


def test_derived_sets_agree_with_the_table() -> None:
    assert settings.NAMES[:4] == ("source", "dest", "dest_table", "source_query")
    for name in settings.CLEARABLE:
        assert settings.BY_NAME[name].nullable, name  # a clearable setting may be null
        assert name not in settings.REQUIRED
    assert set(settings.NOT_NULL) == set(settings.DEFAULTS)
    flags = list(settings.FLAGS.values())
    assert len(flags) == len(set(flags)), "two settings share a CLI option"


class _CopyServer(Server):
    pythonpath: str = ""

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, "PYTHONPATH": self.pythonpath, "COLUMNS": "200"}

    def python(self, code: str) -> str:
        """What `code` prints, run by the copy's interpreter environment."""
        r = subprocess.run(
            [sys.executable, "-c", code],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()


def _json(r: Any) -> Any:
    assert r.returncode == 0, r.stderr + r.stdout
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> _CopyServer:
    """A copy of the package with the dummy setting, an initialised home and a server."""
    base = tmp_path_factory.mktemp("dummy_setting")
    pkg = base / "pkg"
    shutil.copytree(
        Path(pipekit.__file__).parent, pkg / "pipekit", ignore=shutil.ignore_patterns("__pycache__")
    )
    table = pkg / "pipekit" / "module_settings.py"
    text = table.read_text()
    anchor = "\n\n@dataclass(frozen=True, kw_only=True)\nclass ModuleIdentity"
    assert text.count(anchor) == 1
    table.write_text(text.replace(anchor, DUMMY.rstrip("\n") + anchor))  # edit 1 of 2
    n = LATEST_VERSION + 1
    migration = pkg / "pipekit" / "store" / "migrations" / f"m{n:04d}_batch_note.py"
    migration.write_text(MIGRATION.format(n=n))  # edit 2 of 2

    home = base / "home"
    home.mkdir()
    (home / "pipekit.yaml").write_text("database: state.db\n")
    srv = _CopyServer(home, 0, cwd=home)
    srv.pythonpath = str(pkg)
    where = srv.python("import pipekit; print(pipekit.__file__)")
    assert where.startswith(str(pkg)), where
    for args in (
        ("init",),
        ("connections", "add", "src", f"sqlite:///{home / 'src.db'}?create=true"),
        ("connections", "add", "dw", f"sqlite:///{home / 'dw.db'}?create=true"),
    ):
        r = srv.cli(*args)
        assert r.returncode == 0, r.stderr + r.stdout
    assert srv.cli("set-password", USER, input=f"{PASSWORD}\n").returncode == 0
    return srv


def test_the_dummy_setting_is_a_cli_option_and_in_the_json(copy: _CopyServer) -> None:
    help_text = copy.cli("modules", "add", "--help").stdout
    assert "--batch-note" in help_text and "dummy-setting test" in help_text
    assert "--batch-note" in copy.cli("modules", "edit", "--help").stdout

    base = ["--source", "src", "--dest", "dw", "--dest-table", "t", "--query", "SELECT 1 AS id"]
    added = _json(copy.cli("modules", "add", "m1", *base, "--batch-note", "hello", "--json"))
    assert added["batch_note"] == "hello"
    assert _json(copy.cli("modules", "show", "m1", "--json"))["batch_note"] == "hello"
    cleared = _json(copy.cli("modules", "edit", "m1", "--batch-note", "", "--json"))
    assert cleared["batch_note"] is None  # the table marks it clearable
    again = _json(copy.cli("modules", "edit", "m1", "--batch-note", "again", "--json"))
    assert again["batch_note"] == "again"
    history = _json(copy.cli("modules", "history", "m1", "--json"))
    assert any("batch_note" in h["diff"] for h in history)


def test_the_dummy_setting_round_trips_through_yaml(copy: _CopyServer) -> None:
    base = ["--source", "src", "--dest", "dw", "--dest-table", "t2", "--query", "SELECT 1 AS id"]
    assert copy.cli("modules", "add", "m2", *base, "--batch-note", "yaml me").returncode == 0
    exported = copy.cli("export")
    assert exported.returncode == 0, exported.stderr
    doc = yaml.safe_load(exported.stdout)
    assert doc["modules"]["m2"]["batch_note"] == "yaml me"

    doc["modules"]["m2"]["batch_note"] = "changed by apply"
    path = copy.home / "changed.yaml"
    path.write_text(yaml.safe_dump(doc))
    r = copy.cli("apply", str(path))
    assert r.returncode == 0, r.stderr + r.stdout
    assert _json(copy.cli("modules", "show", "m2", "--json"))["batch_note"] == "changed by apply"

    doc["modules"]["m2"]["batch_note"] = 5  # the validator types it from the table
    path.write_text(yaml.safe_dump(doc))
    r = copy.cli("apply", str(path))
    assert r.returncode == 1
    assert "batch_note" in r.stdout + r.stderr and "must be text" in r.stdout + r.stderr
    assert _json(copy.cli("modules", "show", "m2", "--json"))["batch_note"] == "changed by apply"


def test_the_dummy_setting_is_in_the_api(copy: _CopyServer) -> None:
    copy.start()
    try:
        with httpx.Client(base_url=copy.url, auth=(USER, PASSWORD), timeout=30) as api:
            schemas = api.get("/openapi.json").json()["components"]["schemas"]
            for model in ("ModuleIn", "ModulePatch"):
                prop = schemas[model]["properties"]["batch_note"]
                assert prop["description"] == "A note carried by the dummy-setting test."
            body = {
                "name": "m3",
                "source": "src",
                "dest": "dw",
                "dest_table": "t3",
                "source_query": "SELECT 1 AS id",
                "batch_note": "from the api",
            }
            r = api.post("/api/modules", json=body)
            assert r.status_code == 201, r.text
            assert r.json()["batch_note"] == "from the api"
            r = api.put("/api/modules/m3", json={"batch_note": None})
            assert r.status_code == 200, r.text
            assert api.get("/api/modules/m3").json()["batch_note"] is None
            r = api.put("/api/modules/m3", json={"batch_note": ["not", "text"]})
            assert r.status_code == 422
            assert api.get("/api/modules/m3").json()["batch_note"] is None
    finally:
        copy.stop()


def test_the_dummy_setting_is_in_the_docs_table(copy: _CopyServer) -> None:
    table = copy.python(
        "from pipekit.module_settings import markdown_table; print(markdown_table())"
    )
    row = next(line for line in table.splitlines() if line.startswith("| `batch_note`"))
    assert "`--batch-note`" in row and "none (clearable)" in row


def test_the_copy_does_not_leak_into_this_process() -> None:
    assert "batch_note" not in settings.BY_NAME
    assert os.path.dirname(pipekit.__file__) == str(ROOT / "pipekit")
