"""Issue 17 in the engine: the merge's own error survives a dead connection, schema
changes are logged only once they happened, and every connection a run opens is held
to the file policy."""

from __future__ import annotations

from pathlib import Path

from pipekit.engine.run import Engine
from pipekit.files import FilePolicy
from pipekit.store import Store
from tests.helpers import Setup, ok

KILL = "SELECT 1 AS x FROM (SELECT pg_terminate_backend(pg_backend_pid()) AS t) s WHERE NOT s.t"


def test_when_the_merge_connection_dies_the_run_keeps_the_merge_error(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    # incremental into a table keyed on the merge key: a failed merge is followed by the
    # duplicate-key check, which used to replace the merge's error with its own
    s = Setup(run_store, run_urls, "postgresql")
    ok(s.run())
    run_store.checks.add("m", "kill", sql=KILL)
    failed = s.run()
    assert failed.status == "error"
    assert "terminating connection" in (failed.error or ""), failed.error
    assert "duplicate" not in (failed.error or "")
    assert s.dest_rows() == s.source_rows()  # nothing changed


def test_a_rolled_back_schema_change_is_neither_logged_nor_recorded(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    s = Setup(run_store, run_urls, "postgresql")
    run_store.checks.add("m", "never", sql="SELECT 1 AS always_fails")
    failed = s.run()
    assert failed.status == "error" and failed.schema_changes is None
    assert "created table" not in (failed.live_log or "")
    run_store.checks.remove("m", "never")
    done = ok(s.run())
    assert "created table" in (done.schema_changes or "")
    assert "created table" in (done.live_log or "")


def test_a_run_opens_no_connection_outside_the_policy(
    run_store: Store, run_urls: dict[str, str], tmp_path: Path
) -> None:
    s = Setup(run_store, run_urls, "duckdb")
    (tmp_path / "data").mkdir()
    engine = Engine(run_store, files=FilePolicy.make([tmp_path / "data"], []))
    failed = engine.run_module("m")
    assert failed.status == "error"
    assert "outside the folders" in (failed.error or ""), failed.error
    assert not Path(s.dest_url.split("///", 1)[1].split("?")[0]).exists()


def test_without_a_policy_a_run_still_never_opens_the_state_database(
    run_store: Store, run_urls: dict[str, str], tmp_path: Path
) -> None:
    Setup(run_store, run_urls, "duckdb")
    run_store.connections.add("state", f"sqlite:///{tmp_path / 'state.db'}")
    run_store.modules.add(
        "hashes",
        source="state",
        dest="dw",
        dest_table="hashes",
        source_query="SELECT name, password_hash FROM users",
        merge_strategy="full",
    )
    failed = Engine(run_store).run_module("hashes")
    assert failed.status == "error"
    assert "keeps to itself" in (failed.error or ""), failed.error
