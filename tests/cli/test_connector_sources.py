"""`pipekit connections add --options` and `pipekit modules add --source-table`: a module
fed by the fake API (served on 127.0.0.1 by the test), run from the command line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb

from tests.helpers import FakeApi, Invoke, api_record

T0 = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)


def test_cli_runs_a_module_from_a_rest_api(cli: Invoke, home: Path) -> None:
    with FakeApi([api_record(i, T0 + dt.timedelta(seconds=i)) for i in range(1, 251)]) as api:
        assert (
            cli("secrets", "set", "API_TOKEN", input=f"{api.token}\n{api.token}\n").exit_code == 0
        )
        options = home / "api.yaml"
        options.write_text(
            "tables:\n  orders:\n    path: /page\n    records: data.items\n    primary_key: id\n"
        )
        added = cli(
            "connections",
            "add",
            "api",
            f"rest+{api.base}",
            "--password",
            "$API_TOKEN",
            "--options",
            str(options),
        )
        assert added.exit_code == 0, added.output
        assert "added rest_json connection 'api'" in added.output
        dw = home / "dw.duckdb"
        assert cli("connections", "add", "dw", f"duckdb:///{dw}?create=true").exit_code == 0
        module = cli(
            "modules",
            "add",
            "orders",
            "--source",
            "api",
            "--dest",
            "dw",
            "--dest-table",
            "main.orders",
            "--source-table",
            "orders",
            "--strategy",
            "upsert",
            "--merge-key",
            "id",
        )
        assert module.exit_code == 0, module.output
        shown = cli("modules", "show", "orders", "--json")
        assert json.loads(shown.output)["source_table"] == "orders"
        run = cli("run", "orders")
        assert run.exit_code == 0, run.output
        assert str(api.token) not in run.output
    with duckdb.connect(str(dw), read_only=True) as db:
        assert db.sql("SELECT count(DISTINCT id), count(*) FROM orders").fetchone() == (250, 250)


def test_options_for_a_database_are_refused(cli: Invoke, home: Path) -> None:
    options = home / "o.yaml"
    options.write_text("tables: {}\n")
    result = cli(
        "connections", "add", "db", f"sqlite:///{home / 'x.db'}", "--options", str(options)
    )
    assert result.exit_code == 1
    assert "only connector connections" in result.output
