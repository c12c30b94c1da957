"""`pipekit connections ...`: add/list/show/test/rm, and bad input that changes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipekit.store import Store
from tests.helpers import Invoke, assert_clean_failure, tsv


def state(home: Path) -> tuple[list[tuple[str, str, str | None]], str | None]:
    """What a failed command must not change: the connections and the secrets file."""
    with Store.open(home / "pipekit.db") as store:
        conns = [(c.name, c.url, c.password) for c in store.connections.list()]
    secrets = home / "secrets.env"
    return conns, secrets.read_text() if secrets.exists() else None


def test_add_list_show_rm(cli: Invoke, home: Path) -> None:
    added = cli(
        "connections", "add", "erp", "postgresql://db1:5432/erp", "--user", "etl",
        "--password", "$ERP_PW",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "added postgresql connection 'erp'" in added.output
    assert "$ERP_PW is not set yet" in added.output  # a warning, not a failure
    assert cli("connections", "add", "files", "sqlite:///data.db", "--no-deletes").exit_code == 0

    listed = cli("connections", "list")
    assert listed.exit_code == 0, listed.output
    header, *lines = tsv(listed.output)
    assert header == ["name", "kind", "url", "user", "password", "deletes"]
    rows = {line[0]: line for line in lines}
    assert rows["erp"] == [
        "erp",
        "postgresql",
        "postgresql://db1:5432/erp",
        "etl",
        "$ERP_PW",
        "yes",
    ]
    assert rows["files"][1] == "sqlite" and rows["files"][-1] == "no"

    shown = cli("connections", "show", "erp")
    assert shown.exit_code == 0
    assert "password:         $ERP_PW" in shown.output
    assert "supports deletes: yes" in shown.output

    removed = cli("connections", "rm", "erp")
    assert removed.exit_code == 0
    assert "`pipekit secrets rm ERP_PW`" in removed.output
    assert [c[0] for c in state(home)[0]] == ["files"]
    assert_clean_failure(cli("connections", "show", "erp"), "no connection named 'erp'")
    assert_clean_failure(cli("connections", "rm", "erp"), "no connection named 'erp'")


def test_password_prompt_stores_a_secret_and_the_reference(cli: Invoke, home: Path) -> None:
    result = cli(
        "connections", "add", "pg-main", "postgresql://h/db", "--password-prompt",
        input="pr0mpted\npr0mpted\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "pr0mpted" not in result.output
    assert "PG_MAIN_PASSWORD=pr0mpted" in (home / "secrets.env").read_text()
    assert state(home)[0] == [("pg-main", "postgresql://h/db", "$PG_MAIN_PASSWORD")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "postgresql:/nohost"], "malformed connection URL"),
        (["x", "postgresql://"], "no host"),
        (["x", "oracle://h/db"], "no driver handles URLs starting 'oracle://'"),
        (["x", "postgresql://h/db", "--password", "hunter2"], "--password-prompt"),
        (["x", "postgresql://u:hunter2@h/db"], "must not contain a password"),
        (["dup", "postgresql://h/other"], "a connection named 'dup' already exists"),
        (["bad name", "postgresql://h/db"], "invalid connection name"),
        (["x", "postgresql://h/db", "--password", "$A", "--password-prompt"], "not both"),
    ],
)
def test_bad_input_writes_nothing(cli: Invoke, home: Path, args: list[str], message: str) -> None:
    assert cli("connections", "add", "dup", "postgresql://h/db").exit_code == 0
    before = state(home)
    line = assert_clean_failure(cli("connections", "add", *args, input="p\np\n"), message)
    assert "hunter2" not in line
    assert state(home) == before


def test_duplicate_with_prompt_asks_nothing_and_writes_nothing(cli: Invoke, home: Path) -> None:
    assert cli("connections", "add", "dup", "postgresql://h/db").exit_code == 0
    before = state(home)
    result = cli("connections", "add", "dup", "postgresql://h/db", "--password-prompt")
    assert_clean_failure(result, "already exists")
    assert "Password for" not in result.output
    assert state(home) == before


def test_missing_secret_at_test(cli: Invoke, home: Path) -> None:
    cli("connections", "add", "pg", "postgresql://127.0.0.1:5432/test", "--password", "$NOPE_PW")
    assert_clean_failure(
        cli("connections", "test", "pg"), "secret $NOPE_PW is not set", "pipekit secrets set"
    )


def test_against_real_postgresql(cli: Invoke, home: Path, pg_url: str) -> None:
    url = pg_url.replace("postgres@", "")  # the user goes in --user
    cli("secrets", "set", "PG_PW", "unused-with-trust-auth")
    added = cli("connections", "add", "pg", url, "--user", "postgres", "--password", "$PG_PW")
    assert added.exit_code == 0, added.output
    result = cli("connections", "test", "pg")
    assert result.exit_code == 0, result.output
    assert re.search(r"✓ pg: postgresql \d+\.\d+.* \(\d+ ms\)", result.output), result.output
    assert "unused-with-trust-auth" not in result.output


def test_failing_connections_exit_1_with_the_reason(cli: Invoke, home: Path) -> None:
    cli("connections", "add", "closed", "postgresql://127.0.0.1:1/test", "--user", "postgres")
    line = assert_clean_failure(cli("connections", "test", "closed"), "connection 'closed' failed")
    assert "refused" in line.lower()

    cli("connections", "add", "nodb", "postgresql://127.0.0.1:5432/pk_no_such_db", "-u", "postgres")
    assert_clean_failure(
        cli("connections", "test", "nodb"), 'database "pk_no_such_db" does not exist'
    )
    assert_clean_failure(cli("connections", "test", "ghost"), "no connection named 'ghost'")


def test_list_when_empty(cli: Invoke, home: Path) -> None:
    result = cli("connections", "list")
    assert result.exit_code == 0
    assert "no connections yet" in result.output


@pytest.mark.parametrize(
    ("name", "secret"),
    [("erp", "ERP_PASSWORD"), ("pg-main.eu", "PG_MAIN_EU_PASSWORD"), ("1st", "C1ST_PASSWORD")],
)
def test_password_secret_name(name: str, secret: str) -> None:
    from pipekit.engine.connections import password_secret_name

    assert password_secret_name(name) == secret


def test_edit_changes_only_what_is_given(cli: Invoke, home: Path) -> None:
    cli("connections", "add", "erp", "postgresql://db1:5432/erp", "--password", "$ERP_PW")
    result = cli("connections", "edit", "erp", "--name", "erp2", "--no-deletes", "-u", "etl")
    assert result.exit_code == 0, result.output
    assert "updated connection 'erp2' (name, user, supports_deletes)" in result.output
    assert state(home)[0] == [("erp2", "postgresql://db1:5432/erp", "$ERP_PW")]
    line = assert_clean_failure(
        cli("connections", "edit", "erp2", "--password", "hunter2"), "secret reference"
    )
    assert "hunter2" not in line
    assert_clean_failure(cli("connections", "edit", "erp", "-u", "x"), "did you mean 'erp2'")


def test_browse_and_propose(cli: Invoke, home: Path, tmp_path: Path) -> None:
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(tmp_path / "src.db")) as db:
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)")
        db.commit()
    cli("connections", "add", "src", f"sqlite:///{tmp_path / 'src.db'}")
    cli("connections", "add", "dst", f"duckdb:///{tmp_path / 'dst.duckdb'}?create=true")
    assert cli("browse", "src").output.split() == ["main"]
    tables = cli("browse", "src", "main")
    assert tables.exit_code == 0 and tsv(tables.output)[1] == ["orders", "-"], tables.output
    columns = cli("browse", "src", "main.orders")
    assert ["id", "INTEGER", "yes", "PK"] in tsv(columns.output), columns.output
    assert_clean_failure(cli("browse", "src", "mian"), "no schema named 'mian'")

    module_file = tmp_path / "orders.yaml"
    drafted = cli("propose", "src", "orders", "--dest", "dst", "--yaml", str(module_file))
    assert drafted.exit_code == 0, drafted.output
    assert "strategy:    upsert" in drafted.output and 'CREATE TABLE "sync"."orders"' in (
        drafted.output
    )
    assert f"`pipekit apply {module_file}`" in drafted.output
    applied = cli("apply", str(module_file))
    assert applied.exit_code == 0, applied.output
    shown = cli("modules", "show", "orders")
    assert shown.exit_code == 0 and "sync.orders" in shown.output
    assert_clean_failure(
        cli("propose", "src", "orders", "--yaml", str(tmp_path / "x.yaml")), "--dest"
    )
