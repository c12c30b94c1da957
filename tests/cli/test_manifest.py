"""`pipekit apply FILE` and `pipekit export [FILE]` against an isolated Pipekit folder."""

from __future__ import annotations

from pathlib import Path

from pipekit.engine.manifest import export_manifest
from pipekit.store import Store
from tests.helpers import Invoke, assert_clean_failure, error_lines

DEPLOY = """\
connections:
  erp: {url: "postgresql://127.0.0.1:5432/erp", user: etl, password: "$ERP_PW"}
  dw: {url: "duckdb:///warehouse.duckdb"}
modules:
  orders:
    source: erp
    dest: dw
    dest_table: sync.orders
    source_query: |
      SELECT "DCORD#" AS dcord, dcodat AS dcodat
      FROM lgdat.qcrh
    merge_strategy: incremental
    merge_key: dcord
    hooks:
      - {sql: "ANALYZE sync.orders", run_on: success}
groups:
  nightly: [orders]
schedules:
  - {group: nightly, cron: "0 2 * * *"}
"""


def exported(home: Path) -> str:
    with Store.open(home / "pipekit.db") as store:
        return export_manifest(store)


def write(folder: Path, text: str, name: str = "deploy.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_apply_then_apply_again(cli: Invoke, home: Path, tmp_path: Path) -> None:
    path = write(tmp_path, DEPLOY)
    first = cli("apply", str(path))
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [
        "+ created connection dw",
        "+ created connection erp",
        "+ created module orders",
        "+ created group nightly",
        "+ created schedule nightly '0 2 * * *'",
        f"✓ applied {path}: 5 created, 0 updated, 0 removed, 0 unchanged",
    ]
    with Store.open(home / "pipekit.db") as store:
        # A relative file URL is taken from the YAML file's folder.
        assert store.connections.get("dw").url == f"duckdb:///{tmp_path / 'warehouse.duckdb'}"

    again = cli("apply", str(path))
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines() == [f"✓ {path} is already applied: 5 unchanged"]


def test_apply_shows_what_changed(cli: Invoke, home: Path, tmp_path: Path) -> None:
    assert cli("apply", str(write(tmp_path, DEPLOY))).exit_code == 0
    edited = DEPLOY.replace("merge_key: dcord", "merge_key: dcord\n    lookback: 2 days")
    result = cli("apply", str(write(tmp_path, edited)))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "~ updated module orders (lookback)"


def test_dry_run_changes_nothing(cli: Invoke, home: Path, tmp_path: Path) -> None:
    path = write(tmp_path, DEPLOY)
    result = cli("apply", str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "+ would create connection dw"
    assert result.stdout.splitlines()[-1] == (
        f"dry run of {path}: 5 to create, 0 to update, 0 to remove, 0 unchanged; "
        "nothing was changed"
    )
    assert exported(home) == "{}\n"


def test_every_problem_on_its_own_line_and_nothing_written(
    cli: Invoke, home: Path, tmp_path: Path
) -> None:
    bad = (
        DEPLOY.replace("merge_key: dcord", "merge_key: dcord#")
        .replace("run_on: success", "run_on: sucess")
        .replace('"0 2 * * *"', '"0 25 * * *"')
    )
    path = write(tmp_path, bad)
    result = cli("apply", str(path))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert error_lines(result.stderr) == [
        "error: modules.orders.merge_key: 'dcord#' is not a destination column of the source "
        "query; did you mean 'dcord'? (columns: dcord, dcodat)",
        "error: modules.orders.hooks[0].run_on: 'sucess' is not one of success, failure, "
        "always; did you mean 'success'?",
        "error: schedules[0].cron: '0 25 * * *': the hour field 25 is out of range 0-23",
    ]
    assert result.stderr.splitlines()[-1] == f"3 problem(s) in {path}; nothing was changed"
    assert exported(home) == "{}\n"


def test_a_literal_password_is_refused_and_never_printed(
    cli: Invoke, home: Path, tmp_path: Path
) -> None:
    path = write(tmp_path, DEPLOY.replace('"$ERP_PW"', "Tr0ub4dor&3"))
    result = cli("apply", str(path))
    assert_clean_failure(result, "connections.erp.password: must be a secret reference")
    assert "Tr0ub4dor" not in result.output
    assert exported(home) == "{}\n"


def test_a_missing_file(cli: Invoke, home: Path, tmp_path: Path) -> None:
    result = cli("apply", str(tmp_path / "nope.yaml"))
    assert_clean_failure(result, f"cannot read {tmp_path / 'nope.yaml'}: No such file or directory")


def test_export_to_stdout_and_to_a_file(cli: Invoke, home: Path, tmp_path: Path) -> None:
    assert cli("apply", str(write(tmp_path, DEPLOY))).exit_code == 0
    shown = cli("export")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == exported(home)
    assert "password: $ERP_PW" in shown.stdout

    target = tmp_path / "out" / "pipekit.yaml"
    target.parent.mkdir()
    written = cli("export", str(target))
    assert written.exit_code == 0, written.output
    assert written.stdout.splitlines() == [
        f"✓ exported to {target}; apply it with `pipekit apply {target}`"
    ]
    assert target.read_text() == shown.stdout
    assert cli("apply", str(target)).stdout.startswith(f"✓ {target} is already applied")


def test_export_into_a_missing_folder(cli: Invoke, home: Path, tmp_path: Path) -> None:
    result = cli("export", str(tmp_path / "no" / "such" / "x.yaml"))
    assert_clean_failure(result, f"cannot write {tmp_path / 'no' / 'such' / 'x.yaml'}")


def test_prune(cli: Invoke, home: Path, tmp_path: Path) -> None:
    assert cli("apply", str(write(tmp_path, DEPLOY))).exit_code == 0
    smaller = DEPLOY.split("groups:")[0]
    kept = cli("apply", str(write(tmp_path, smaller, "small.yaml")))
    assert kept.exit_code == 0 and "removed" not in kept.stdout.replace("0 removed", "")

    pruned = cli("apply", str(tmp_path / "small.yaml"), "--prune")
    assert pruned.exit_code == 0, pruned.output
    assert pruned.stdout.splitlines()[:2] == [
        "- removed schedule nightly '0 2 * * *'",
        "- removed group nightly",
    ]
    assert exported(home) == cli("export").stdout
    assert "groups:" not in exported(home) and "schedules:" not in exported(home)
