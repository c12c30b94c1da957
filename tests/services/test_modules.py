"""The module services on a real state database (SQLite file), a real SQLite source and
a real DuckDB destination: definitions judged with every problem's path, changes refused
only for what they add, one transaction per multi-step write, and a preview that
records nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from pipekit.config import parse_config
from pipekit.errors import (
    AlreadyExistsError,
    InUseError,
    ModuleSpecError,
    NotFoundError,
    ValidationError,
)
from pipekit.services import Services
from pipekit.services.modules import (
    HistoryView,
    ModuleView,
    PreviewView,
    SavedModuleView,
    WatermarkView,
)
from pipekit.services.views import to_json

QUERY = "SELECT id, v, updated_at FROM t"
SINCE = QUERY + " WHERE updated_at > {since}"


@pytest.fixture
def sv(tmp_path: Path) -> Iterator[Services]:
    """Services over a fresh state DB with connections src (SQLite) and dst (DuckDB)."""
    with closing(sqlite3.connect(tmp_path / "src.db")) as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, updated_at TEXT)")
        db.executemany(
            "INSERT INTO t VALUES (?, ?, ?)",
            [(1, "a", "2024-01-01"), (2, "b", "2024-02-01"), (3, "c", "2024-03-01")],
        )
        db.commit()
    config = parse_config({"database": str(tmp_path / "state.db")}, tmp_path / "pipekit.yaml")
    with Services.open(config) as services:
        services.store.init()
        services.store.connections.add("src", f"sqlite:///{tmp_path / 'src.db'}")
        services.store.connections.add("dst", f"duckdb:///{tmp_path / 'dst.duckdb'}?create=true")
        yield services


def fields(**extra: object) -> dict[str, object]:
    return {
        "source": "src",
        "dest": "dst",
        "dest_table": "main.t",
        "source_query": QUERY,
        **extra,
    }


def paths(exc: pytest.ExceptionInfo[BaseException]) -> list[str]:
    return [p.path for p in exc.value.problems]  # type: ignore[attr-defined]


# -- modules ------------------------------------------------------------------------


def test_add_show_list_by_id_or_name_with_defaults(sv: Services) -> None:
    m = sv.modules.add("orders", **fields(merge_strategy="upsert", merge_key="id"))
    assert isinstance(m, SavedModuleView) and m.warnings == []
    assert (m.merge_strategy, m.watermark_op, m.enabled, m.key_sync) == ("upsert", ">", True, False)
    shown = sv.modules.show("orders")
    assert type(shown) is ModuleView
    assert sv.modules.show(m.id) == sv.modules.show(str(m.id)) == shown
    assert to_json(shown) == {k: v for k, v in to_json(m).items() if k != "warnings"}
    off = sv.modules.add("items", **fields(enabled=False))
    assert [x.name for x in sv.modules.list()] == ["items", "orders"]
    assert sv.modules.list(enabled=False) == [sv.modules.show(off.id)]
    history = sv.modules.history("orders")
    assert len(history) == 1 and isinstance(history[0], HistoryView)
    assert history[0].changed_by == "cli" and history[0].diff["merge_key"] == [None, "id"]


def test_unknown_module_suggests_the_closest(sv: Services) -> None:
    sv.modules.add("orders", **fields())
    with pytest.raises(NotFoundError, match=r"no module named 'ordrs'; did you mean 'orders'\?"):
        sv.modules.show("ordrs")
    with pytest.raises(NotFoundError, match="no module with id 999"):
        sv.modules.show("999")


def test_add_names_every_problem_with_its_path_and_writes_nothing(sv: Services) -> None:
    with pytest.raises(ValidationError) as exc:
        sv.modules.add("1", source="src", dest="dsst", merge_strategy="sideways")
    assert paths(exc)[0] == "name" and "digits" in exc.value.problems[0].message
    assert sorted(paths(exc)[1:]) == ["dest", "dest_table", "merge_strategy", "source_query"]
    assert "did you mean 'dst'?" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        sv.modules.add("m", **fields(merge_strategy="upsert", merge_key="nope"))
    assert paths(exc) == ["merge_key"] and exc.value.path == "merge_key"
    assert sv.modules.list() == []


def test_add_refuses_a_taken_name(sv: Services) -> None:
    sv.modules.add("orders", **fields())
    with pytest.raises(AlreadyExistsError) as exc:
        sv.modules.add("orders", **fields())
    assert exc.value.path == "name"


def test_add_with_watermarks_warns_about_one_the_query_does_not_use(sv: Services) -> None:
    marks = {
        "since": {"connection": "src", "resolver_sql": "SELECT '2024-01-15'"},
        "spare": {"connection": "src", "resolver_sql": "SELECT 1"},
    }
    m = sv.modules.add("orders", watermarks=marks, **fields(source_query=SINCE))
    assert len(m.warnings) == 1 and "watermark {spare} is not used" in m.warnings[0]
    assert [w.name for w in sv.watermarks.list("orders")] == ["since", "spare"]
    assert len(sv.modules.history("orders")) == 2  # the module, then its watermarks


def test_add_is_all_or_nothing_when_the_store_refuses_a_watermark(
    sv: Services, tmp_path: Path
) -> None:
    with closing(sqlite3.connect(tmp_path / "state.db")) as db:
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON watermark "
            "BEGIN SELECT RAISE(ABORT, 'refused by test'); END;"
        )
        db.commit()
    marks = {"since": {"connection": "src", "resolver_sql": "SELECT 1"}}
    with pytest.raises(Exception, match="refused by test"):
        sv.modules.add("orders", watermarks=marks, **fields(source_query=SINCE))
    assert sv.modules.list() == []
    with closing(sqlite3.connect(tmp_path / "state.db")) as db:
        assert db.execute("SELECT count(*) FROM module_history").fetchone()[0] == 0


def test_update_is_refused_only_for_the_problems_it_adds(sv: Services) -> None:
    m = sv.modules.add("orders", **fields(merge_strategy="upsert", merge_key="id"))
    with sv.store.transaction():  # an old problem the store allows: a missing dest_table
        sv.store.modules.update("orders", dest_table=None)
    changed = sv.modules.update("orders", lookback="2", watermark_column="updated_at")
    assert (changed.lookback, changed.watermark_column) == ("2", "updated_at")
    with pytest.raises(ValidationError) as exc:
        sv.modules.update(m.id, merge_key="nope", merge_strategy=None)
    assert paths(exc) == ["merge_strategy", "merge_key"]
    with pytest.raises(ValidationError) as exc:
        sv.modules.update("orders", name="42")
    assert paths(exc) == ["name"]
    sv.modules.add("items", **fields())
    with pytest.raises(AlreadyExistsError):
        sv.modules.update("orders", name="items")
    assert sv.modules.show("orders").merge_key == "id"
    renamed = sv.modules.rename("orders", "orders_v2")
    assert renamed.name == "orders_v2" and renamed.id == m.id


def test_enable_disable_remove(sv: Services) -> None:
    m = sv.modules.add("orders", **fields())
    assert sv.modules.disable("orders").enabled is False
    assert sv.modules.enable(m.id).enabled is True
    run = sv.store.runs.begin("orders", triggered_by="test", pid=1, host="elsewhere")
    with pytest.raises(InUseError, match=f"pipekit runs cancel {run}"):
        sv.modules.remove("orders")
    sv.store.runs.finish(run, "success")
    sv.store.runs.unlock("orders", run)
    sv.modules.remove(str(m.id))
    assert sv.modules.list() == []


def test_details_gather_parts_groups_runs_and_history(sv: Services) -> None:
    sv.modules.add(
        "orders",
        watermarks={"since": {"connection": "src", "resolver_sql": "SELECT 1"}},
        **fields(source_query=SINCE, merge_strategy="upsert", merge_key="id"),
    )
    sv.hooks.add("orders", "SELECT 1")
    sv.checks.add("orders", "no_dupes", "SELECT 1 WHERE 1 = 0")
    sv.store.groups.add("nightly", members=["orders"])
    d = sv.modules.details("orders", history=True)
    assert [w.name for w in d.watermarks] == ["since"] and d.groups == ["nightly"]
    assert len(d.hooks) == 1 and d.checks[0].name == "no_dupes" and d.runs == []
    assert d.history is not None and len(d.history) == 4


# -- preview -------------------------------------------------------------------------


def test_preview_plans_without_recording_anything(sv: Services) -> None:
    sv.modules.add(
        "orders",
        watermarks={"since": {"connection": "src", "resolver_sql": "SELECT '2024-01-15'"}},
        **fields(source_query=SINCE, merge_strategy="upsert", merge_key="id"),
    )
    sv.checks.add("orders", "no_dupes", "SELECT id FROM t GROUP BY id HAVING count(*) > 1")
    p = sv.modules.preview("orders")
    assert isinstance(p, PreviewView) and p.error is None and p.status == "dry_run"
    assert "'2024-01-15'" in (p.source_query or "") and p.merge_strategy == "upsert"
    assert p.merge_sql and "-- check no_dupes" in (p.check_sql or "")
    assert p.watermarks["named"]["since"] == {"value": "2024-01-15", "from": "resolver"}
    assert sv.store.runs.list(module="orders") == []
    m = sv.store.modules.get("orders")
    assert not m.running and m.locked_by_run_id is None
    assert sv.store.watermarks.get("orders", "since").last_value is None


def test_preview_of_a_running_module_takes_no_lock(sv: Services) -> None:
    sv.modules.add("orders", **fields(merge_strategy="upsert", merge_key="id"))
    run = sv.store.runs.begin("orders", triggered_by="test", pid=1, host="elsewhere")
    p = sv.modules.preview("orders")
    assert p.error is None and p.merge_sql
    assert sv.store.modules.get("orders").locked_by_run_id == run


def test_preview_says_why_a_plan_cannot_be_made(sv: Services) -> None:
    sv.store.modules.add("broken", source="src", dest="dst", dest_table="t")
    p = sv.modules.preview("broken")
    assert p.status == "error" and "is incomplete" in (p.error or "")
    assert p.merge_sql is None and sv.store.runs.list(module="broken") == []


# -- watermarks, hooks, checks ---------------------------------------------------------


def test_watermark_in_use_cannot_be_removed_or_renamed(sv: Services) -> None:
    sv.modules.add(
        "orders",
        watermarks={"since": {"connection": "src", "resolver_sql": "SELECT 1"}},
        **fields(source_query=SINCE, merge_strategy="upsert", merge_key="id"),
    )
    for attempt in (
        lambda: sv.watermarks.remove("orders", "since"),
        lambda: sv.watermarks.update("orders", "since", name="until"),
    ):
        with pytest.raises(ValidationError) as exc:
            attempt()
        assert paths(exc) == ["watermarks.since"] and exc.value.path == "watermarks.since"
        assert "take {since} out of the query first" in exc.value.problems[0].message
    assert [w.name for w in sv.watermarks.list("orders")] == ["since"]
    sv.modules.update("orders", source_query=QUERY)
    sv.watermarks.remove("orders", "since")
    assert sv.watermarks.list("orders") == []


def test_watermark_add_update_show(sv: Services) -> None:
    m = sv.modules.add("orders", **fields())
    w = sv.watermarks.add(m.id, "since", connection="src", resolver_sql="SELECT 1")
    assert "not used by the source query yet" in w.warnings[0]
    assert sv.watermarks.show("orders", "since") == WatermarkView(
        w.id, "orders", "since", "src", "SELECT 1", None, None
    )
    changed = sv.watermarks.update("orders", "since", default_value="0", name="from_ts")
    assert (changed.name, changed.default_value, changed.warnings[0][:20]) == (
        "from_ts", "0", "watermark {from_ts} ",
    )  # fmt: skip
    with pytest.raises(ModuleSpecError) as bad:
        sv.watermarks.add("orders", "1st", connection="src", resolver_sql="SELECT 1")
    assert bad.value.path == "name"
    with pytest.raises(AlreadyExistsError):
        sv.watermarks.add("orders", "from_ts", connection="src", resolver_sql="SELECT 1")
    with pytest.raises(ValidationError) as exc:
        sv.watermarks.add("orders", "w", connection="srcc", resolver_sql="SELECT 1")
    assert paths(exc) == ["watermarks.w.connection"]
    assert "did you mean 'src'?" in exc.value.problems[0].message
    with pytest.raises(NotFoundError, match="did you mean 'from_ts'"):
        sv.watermarks.show("orders", "from_t")


def test_hooks_by_id_in_order(sv: Services) -> None:
    sv.modules.add("orders", **fields())
    a = sv.hooks.add("orders", "SELECT 1")
    b = sv.hooks.add("orders", "SELECT 2", run_on="always", position=1)
    assert [h.id for h in sv.hooks.list("orders")] == [b.id, a.id]
    moved = sv.hooks.update(b.id, position=2, run_on="failure")
    assert moved.run_on == "failure"
    assert [h.id for h in sv.hooks.list("orders")] == [a.id, b.id]
    with pytest.raises(ModuleSpecError) as exc:
        sv.hooks.add("orders", "SELECT 3", run_on="sucess")
    assert exc.value.path == "run_on" and "did you mean 'success'?" in str(exc.value)
    with pytest.raises(ModuleSpecError) as exc:
        sv.hooks.add("orders", "SELECT 3", position=4)
    assert exc.value.path == "position" and "use 1 to 3" in str(exc.value)
    with pytest.raises(ModuleSpecError) as exc:
        sv.hooks.add("orders", "  ")
    assert exc.value.path == "sql"
    assert sv.hooks.remove(a.id).sql == "SELECT 1"
    with pytest.raises(NotFoundError, match=f"no hook with id {a.id}"):
        sv.hooks.show(a.id)
    assert len(sv.hooks.list("orders")) == 1


def test_checks_unique_names(sv: Services) -> None:
    sv.modules.add("orders", **fields())
    c = sv.checks.add("orders", "no_dupes", "SELECT 1 WHERE 1 = 0")
    sv.checks.add("orders", "other", "SELECT 2 WHERE 1 = 0")
    with pytest.raises(AlreadyExistsError) as exc:
        sv.checks.add("orders", "no_dupes", "SELECT 1")
    assert exc.value.path == "name"
    with pytest.raises(AlreadyExistsError):
        sv.checks.update("orders", "no_dupes", name="other")
    for bad in ({"name": None}, {"sql": None}, {"name": "bad-name"}):
        with pytest.raises(ModuleSpecError) as spec:
            sv.checks.update("orders", "no_dupes", **bad)
        assert spec.value.path == next(iter(bad))
    renamed = sv.checks.update("orders", "no_dupes", name="no_dupes2", sql="SELECT 3 WHERE 1 = 0")
    assert (renamed.id, renamed.name, renamed.sql) == (c.id, "no_dupes2", "SELECT 3 WHERE 1 = 0")
    sv.checks.remove("orders", "no_dupes2")
    assert [x.name for x in sv.checks.list("orders")] == ["other"]
