"""How a run behaves around the data (DESIGN 6.1): the module lock and its recovery,
refusals that change nothing, checks inside the merge transaction, hooks after it,
and the live log seen from another process's view of the state store."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from typing import Any

import pytest

from pipekit.engine.run import Engine, RunEvent, run_group
from pipekit.errors import ModuleBusyError
from pipekit.store import Store
from tests.helpers import Setup, ok, open_db, table_rows

# -- the module lock -----------------------------------------------------------------


def test_second_run_while_locked_is_refused_and_not_recorded(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    s = Setup(run_store, run_urls)
    holder = run_store.runs.begin(
        "m", triggered_by="test", pid=os.getpid(), host=socket.gethostname()
    )
    with pytest.raises(ModuleBusyError) as refused:
        s.run()
    assert refused.value.run_id == holder
    assert f"run {holder}" in str(refused.value)
    assert "already running" in str(refused.value)
    assert [r.id for r in run_store.runs.list(module="m")] == [holder]
    assert run_store.runs.lock_holder("m").run_id == holder  # type: ignore[union-attr]
    assert not s.dest_exists()

    # a lock held on another host counts as alive: refused too, never stolen
    run_store.runs.finish(holder, "success")
    run_store.runs.unlock("m", holder)
    other = run_store.runs.begin("m", triggered_by="test", pid=1, host="elsewhere.example")
    with pytest.raises(ModuleBusyError) as refused:
        s.run()
    assert refused.value.run_id == other

    run_store.runs.finish(other, "success")
    run_store.runs.unlock("m", other)
    run = ok(s.run())
    assert run_store.runs.lock_holder("m") is None
    assert s.dest_rows() == s.source_rows()
    assert [r.id for r in run_store.runs.list(module="m")] == [run.id, other, holder]


def test_lock_of_a_dead_process_is_recovered(run_store: Store, run_urls: dict[str, str]) -> None:
    s = Setup(run_store, run_urls)
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = run_store.runs.begin("m", triggered_by="test", pid=gone.pid, host=socket.gethostname())
    run = ok(s.run())
    old = run_store.runs.get(stale)
    assert (old.status, old.error) == ("error", "interrupted")
    assert old.finished_at is not None
    assert run.id != stale
    assert run_store.runs.lock_holder("m") is None
    assert s.dest_rows() == s.source_rows()


def test_a_lock_held_by_an_unreaped_dead_process_counts_as_free() -> None:
    """A killed worker whose parent died is re-parented to an init that may reap
    late: until then it is a zombie, which answers kill(pid, 0) but runs nothing."""
    from pipekit.engine.run import pid_alive

    here = socket.gethostname()
    zombie = subprocess.Popen(["true"])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # exited, not yet waited for
            with open(f"/proc/{zombie.pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            time.sleep(0.01)
        else:
            pytest.fail("the child did not exit")
        assert pid_alive(zombie.pid, here) is False
    finally:
        zombie.wait()
    live = subprocess.Popen(["sleep", "30"])
    try:
        assert pid_alive(live.pid, here) is True
        assert pid_alive(live.pid, "another-host") is True  # cannot tell: assume alive
    finally:
        live.kill()
        live.wait()
    assert pid_alive(live.pid, here) is False


def test_a_started_run_is_carried_out_by_another_process(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    """start_module answers with the run id at once; a worker process adopts the run."""
    s = Setup(run_store, run_urls)
    engine = Engine(run_store)
    run_id = engine.start_module("m", triggered_by="api")
    assert run_store.runs.lock_holder("m").run_id == run_id
    with pytest.raises(ModuleBusyError) as refused:
        engine.start_module("m")
    assert refused.value.run_id == run_id
    code = (
        "import sys; from pipekit.engine.run import Engine; from pipekit.store import Store\n"
        "store = Store.open(sys.argv[1])\n"
        "run = Engine(store).run_module('m', run_id=int(sys.argv[2]))\n"
        "print(run.pid, run.status)"
    )
    child = subprocess.run(
        [sys.executable, "-c", code, str(run_store.display()), str(run_id)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    pid, status = child.stdout.split()
    assert status == "success" and int(pid) != os.getpid()
    run = run_store.runs.get(run_id)
    assert (run.status, run.pid, run.triggered_by) == ("success", int(pid), "api")
    assert run_store.runs.lock_holder("m") is None
    assert s.dest_rows() == s.source_rows()


def test_group_member_that_is_running_is_refused_and_the_group_goes_on(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    s = Setup(run_store, run_urls, "sqlite")
    run_store.modules.add(
        "m2",
        source="src",
        dest="dw",
        dest_table=f"{s.dest}_2",
        source_query=f"SELECT id, v FROM {s.src}",
        merge_strategy="full",
    )
    run_store.groups.add("g", members=["m", "m2"])
    holder = run_store.runs.begin(
        "m", triggered_by="test", pid=os.getpid(), host=socket.gethostname()
    )
    result = run_group(Engine(run_store), "g")
    assert [r.module_name for r in result.runs] == ["m2"]
    assert result.runs[0].status == "success"
    assert len(result.refused) == 1 and result.refused[0].startswith("m: ")
    assert f"run {holder}" in result.refused[0]
    assert result.group_run.status == "error"
    assert "already running" in (result.group_run.error or "")
    assert run_store.runs.lock_holder("m").run_id == holder  # type: ignore[union-attr]
    assert not s.dest_exists()


# -- refusals that change nothing ----------------------------------------------------


@pytest.mark.parametrize("dest_kind", ["postgresql", "mysql"])
def test_duplicate_merge_keys_fail_before_the_destination_changes(
    run_store: Store, run_urls: dict[str, str], dest_kind: str
) -> None:
    s = Setup(
        run_store,
        run_urls,
        dest_kind,
        query="SELECT id, v, n FROM {src} UNION ALL SELECT id, 'again', n FROM {src} WHERE n > 60",
        merge_strategy="upsert",
    )
    ok(s.run())  # n > 60 matches nothing yet
    before = s.dest_rows()
    s.sql("UPDATE {t} SET n = 99, v = 'changed' WHERE id IN (2, 4)")
    run = s.run()
    assert run.status == "error"
    assert "the source returned the merge key (id) more than once" in (run.error or "")
    assert "(2) x2" in (run.error or "") and "(4) x2" in (run.error or "")
    assert "nothing was changed" in (run.error or "")
    assert s.dest_rows() == before
    assert run_store.runs.lock_holder("m") is None


@pytest.mark.parametrize("dest_kind", ["postgresql", "mysql", "sqlite", "duckdb"])
def test_duplicate_keys_in_an_incremental_are_refused_by_the_key_and_worded(
    run_store: Store, run_urls: dict[str, str], dest_kind: str
) -> None:
    """Into a table keyed on the merge key, the staged rows are not grouped first: the
    primary key refuses the second row, the merge rolls back, and the error still
    names the keys that came twice."""
    s = Setup(
        run_store,
        run_urls,
        dest_kind,
        query="SELECT id, v, n FROM {src} UNION ALL SELECT id, 'again', n FROM {src} WHERE n > 60",
        watermark_column="n",
    )
    ok(s.run())  # n > 60 matches nothing yet
    before = s.dest_rows()
    s.sql("UPDATE {t} SET n = 99, v = 'changed' WHERE id IN (2, 4)")
    run = s.run()
    assert run.status == "error"
    assert "the source returned the merge key (id) more than once" in (run.error or "")
    assert "(2) x2" in (run.error or "") and "(4) x2" in (run.error or "")
    assert s.dest_rows() == before
    assert run_store.runs.lock_holder("m") is None


def test_upsert_into_a_table_without_primary_key_is_refused(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    """ON CONFLICT needs the key (DuckDB's MERGE INTO does not: see
    test_run_merge_paths)."""
    s = Setup(run_store, run_urls, "postgresql", merge_strategy="upsert")
    s.dest_sql("CREATE SCHEMA IF NOT EXISTS sync")
    s.dest_sql("CREATE TABLE {d} (id int, v varchar, n int)")
    s.dest_sql("INSERT INTO {d} VALUES (1, 'kept', 0)")
    run = s.run()
    assert run.status == "error"
    assert "upsert into sync." in (run.error or "")
    assert "needs its primary key to be the merge key (id)" in (run.error or "")
    assert "primary key is (none)" in (run.error or "")
    assert s.dest_rows() == [(1, "kept", 0)]


def test_incremental_without_merge_key_is_refused(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    s = Setup(run_store, run_urls, "sqlite", merge_key=None)
    run = s.run()
    assert run.status == "error"
    assert "merge_strategy incremental needs a merge_key" in (run.error or "")
    assert not s.dest_exists()


# -- checks --------------------------------------------------------------------------


@pytest.mark.parametrize("dest_kind", ["postgresql", "mysql", "sqlite"])
def test_checks_run_inside_the_merge(
    run_store: Store, run_urls: dict[str, str], dest_kind: str
) -> None:
    s = Setup(run_store, run_urls, dest_kind, merge_strategy="upsert")
    with open_db(s.dest_url) as d:
        table, n = d.table_sql(s.dest), d.quote("n")
    run_store.checks.add(
        "m", "no_negative_n", sql=f"SELECT id, {n} FROM {table} WHERE {n} < 0 -- must be empty"
    )
    first = ok(s.run())
    assert "check no_negative_n passed" in (first.live_log or "")
    assert "-- check no_negative_n" in (first.check_sql or "")
    before = s.dest_rows()

    s.sql("UPDATE {t} SET n = -1 - id, v = 'bad' WHERE id IN (2, 3)")
    s.sql("INSERT INTO {t} VALUES (6, 'new', -7)")
    s.sql("DELETE FROM {t} WHERE id = 5")
    s.store.modules.update("m", key_sync=True)
    run = s.run()
    assert run.status == "error"
    assert "check 'no_negative_n' failed" in (run.error or "")
    for offending in ("(2, -3)", "(3, -4)", "(6, -7)"):
        assert offending in (run.error or "")
    assert "the merge was rolled back" in (run.error or "")
    assert s.dest_rows() == before  # the replace, the insert and key_sync all undone

    s.sql("UPDATE {t} SET n = 1 WHERE n < 0")
    ok(s.run())
    assert s.dest_rows() == s.source_rows()


def test_failing_check_on_a_first_run_leaves_no_table(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    s = Setup(run_store, run_urls, "duckdb", audit_columns=True)
    run_store.checks.add("m", "never", sql="SELECT 1 AS always_fails")
    run = s.run()
    assert run.status == "error"
    assert "check 'never' failed" in (run.error or "")
    assert not s.dest_exists()  # DuckDB rolls the CREATE TABLE back with the rest


# -- hooks -----------------------------------------------------------------------------


@pytest.mark.parametrize("dest_kind", ["postgresql", "sqlite"])
def test_hooks_after_commit_in_order_and_a_failing_one(
    run_store: Store, run_urls: dict[str, str], dest_kind: str
) -> None:
    s = Setup(run_store, run_urls, dest_kind)
    hooklog = f"hooklog_{uuid.uuid4().hex[:6]}"
    s.dest_sql(f"CREATE TABLE {hooklog} (pos int, what varchar(40), seen int)")
    with open_db(s.dest_url) as d:
        count = f"(SELECT COUNT(*) FROM {d.table_sql(s.dest)})"
    hooks = [
        ("success", f"INSERT INTO {hooklog} VALUES (1, 'first', {count})"),
        ("success", f"INSERT INTO {hooklog} VALUES (2, 'second', {count})"),
        ("failure", f"INSERT INTO {hooklog} VALUES (3, 'only on failure', 0)"),
        ("always", f"INSERT INTO {hooklog} VALUES (4, 'always', 0)"),
    ]
    for run_on, sql in hooks:
        run_store.hooks.add("m", sql, run_on=run_on)

    first = ok(s.run())
    log = first.live_log or ""
    assert log.index("committed into ") < log.index("hook 1 (success) ok") < log.index("hook 2")
    assert "-- hook 1 (success): ok" in (first.hook_sql or "")
    assert "only on failure" not in (first.hook_sql or "")

    def logged() -> list[tuple[Any, ...]]:
        return table_rows(s.dest_url, hooklog, ["pos", "what", "seen"])

    assert logged() == [(1, "first", 5), (2, "second", 5), (4, "always", 0)]

    # hook 2 now fails: the data stays committed, failure and always hooks still run
    s.dest_sql(f"DELETE FROM {hooklog}")
    broken = run_store.hooks.list("m")[1]
    run_store.hooks.update(broken.id, sql="INSERT INTO no_such_table VALUES (1)")
    run_store.hooks.add("m", f"INSERT INTO {hooklog} VALUES (5, 'late success', 0)")
    s.sql("INSERT INTO {t} VALUES (6, 'v6', 60)")
    run = s.run()
    assert run.status == "error"
    assert (run.error or "").startswith("hook 2 (success) failed")
    assert "the merged data stays committed" in (run.error or "")
    assert s.dest_rows() == s.source_rows()
    assert logged() == [(1, "first", 6), (3, "only on failure", 0), (4, "always", 0)]
    hook_sql = run.hook_sql or ""
    assert "-- hook 2 (success): FAILED\nINSERT INTO no_such_table" in hook_sql
    assert "-- hook 3 (failure): ok" in hook_sql
    assert "late success" not in hook_sql  # success hooks after a failure do not run


def test_failed_run_runs_failure_and_always_hooks_only(
    run_store: Store, run_urls: dict[str, str]
) -> None:
    s = Setup(run_store, run_urls, "sqlite", query="SELECT id, v, n FROM missing_table")
    hooklog = "hooklog"
    s.dest_sql(f"CREATE TABLE {hooklog} (what varchar(20))")
    for run_on in ("success", "failure", "always"):
        run_store.hooks.add("m", f"INSERT INTO {hooklog} VALUES ('{run_on}')", run_on=run_on)
    run = s.run()
    assert run.status == "error"
    assert "missing_table" in (run.error or "")
    assert table_rows(s.dest_url, hooklog, ["what"]) == [("always",), ("failure",)]


# -- the live log ---------------------------------------------------------------------


def test_live_log_is_readable_from_another_store_during_the_run(
    run_store: Store, run_urls: dict[str, str], tmp_path: Any
) -> None:
    s = Setup(run_store, run_urls, "sqlite", rows=20)
    seen: list[tuple[str, str, str]] = []
    other = Store.open(tmp_path / "state.db")  # what `pipekit runs show --follow` opens

    def on_event(event: RunEvent) -> None:
        if event.message and event.phase in ("staging", "merge", "commit"):
            run = other.runs.get(event.run_id)
            seen.append((event.phase, run.status, run.live_log or ""))

    try:
        run = Engine(run_store).run_module("m", on_event=on_event)
    finally:
        other.close()
    ok(run)
    assert seen, "no progress event during the run"
    for _phase, status, live in seen:
        assert status == "running"
        assert f"run {run.id} of module m started" in live
    staging = [live for phase, _, live in seen if phase == "staging"]
    assert any("staged 20 rows" in live for live in staging)
    assert "merging into" in seen[-1][2]
    assert "finished: success" in (run.live_log or "")
    assert s.dest_rows() == s.source_rows()


@pytest.mark.parametrize("dest_kind", ["postgresql", "mysql", "sqlite", "duckdb"])
def test_a_hook_of_several_statements_runs_them_in_order(
    run_store: Store, run_urls: dict[str, str], dest_kind: str
) -> None:
    s = Setup(run_store, run_urls, dest_kind)
    hooklog = f"hooklog_{uuid.uuid4().hex[:6]}"
    s.dest_sql(f"CREATE TABLE {hooklog} (pos int, what varchar(40))")
    script = (
        f"-- refresh the summary; then note it\n"
        f"DELETE FROM {hooklog};\n"
        f"INSERT INTO {hooklog} VALUES (1, 'semi;colon');  -- a ';' in a string stays\n"
        f"INSERT INTO {hooklog} VALUES (2, 'second');\n"
    )
    run_store.hooks.add("m", script)
    run = ok(s.run())
    assert "-- hook 1 (success): ok" in (run.hook_sql or "")
    assert table_rows(s.dest_url, hooklog, ["pos", "what"]) == [(1, "semi;colon"), (2, "second")]

    # the second statement fails: the hook fails there, the third never runs
    run_store.hooks.update(
        run_store.hooks.list("m")[0].id,
        sql=f"DELETE FROM {hooklog}; INSERT INTO no_such_table VALUES (1); "
        f"INSERT INTO {hooklog} VALUES (3, 'never')",
    )
    failed = s.run()
    assert failed.status == "error" and (failed.error or "").startswith("hook 1 (success) failed")
    assert (3, "never") not in table_rows(s.dest_url, hooklog, ["pos", "what"])


@pytest.mark.parametrize("dest_kind", ["postgresql", "mysql", "duckdb"])
def test_schema_changes_are_recorded_only_when_they_happened(
    run_store: Store, run_urls: dict[str, str], dest_kind: str
) -> None:
    s = Setup(run_store, run_urls, dest_kind)
    dry = s.run(dry_run=True)
    assert dry.status == "dry_run" and dry.schema_changes is None
    assert not s.dest_exists()

    run_store.checks.add("m", "never", sql="SELECT 1 AS always_fails")
    failed = s.run()
    assert failed.status == "error"
    if dest_kind == "mysql":  # MariaDB commits CREATE TABLE at once: it did happen
        assert s.dest_exists() and "created table" in (failed.schema_changes or "")
    else:
        assert not s.dest_exists() and failed.schema_changes is None

    run_store.checks.remove("m", "never")
    done = ok(s.run())
    if dest_kind != "mysql":
        assert "created table" in (done.schema_changes or "")


@pytest.mark.parametrize("dest_kind", ["postgresql", "sqlite"])
def test_upsert_into_a_destination_that_cannot_delete_only_inserts_new_keys(
    run_store: Store, run_urls: dict[str, str], dest_kind: str
) -> None:
    s = Setup(run_store, run_urls, dest_kind, merge_strategy="upsert")
    ok(s.run())  # the first load creates the table with the merge key as primary key
    run_store.connections.update("dw", supports_deletes=False)
    s.sql("UPDATE {t} SET v = 'changed' WHERE id = 1")
    s.sql("INSERT INTO {t} VALUES (6, 'v6', 60)")
    run = ok(s.run())
    assert run.merge_strategy == "insert-only"  # what the run did, as recorded
    assert "upsert falls back to inserting new keys" in (run.live_log or "")
    assert "UPDATE" not in (run.merge_sql or "").upper().replace("UPDATED", "")
    rows = dict((r[0], r[1]) for r in s.dest_rows())
    assert rows[1] == "v1"  # not updated: insert-only
    assert rows[6] == "v6"  # the new key landed


@pytest.mark.parametrize("dest_kind", ["postgresql", "duckdb"])
def test_a_wrong_watermark_column_fails_the_first_run_too(
    run_store: Store, run_urls: dict[str, str], dest_kind: str
) -> None:
    # SELECT * hides the columns from the static check; the run sees the real ones
    s = Setup(run_store, run_urls, dest_kind, query="SELECT * FROM {src}")
    run_store.modules.update("m", watermark_column="updated")
    run = s.run()
    assert run.status == "error"
    assert "watermark_column 'updated' is not among the source query's columns" in (run.error or "")
    assert "(id, v, n)" in (run.error or "")
    assert not s.dest_exists()  # refused before anything was created
    dry = s.run(dry_run=True)
    assert dry.status == "error" and "watermark_column 'updated'" in (dry.error or "")
