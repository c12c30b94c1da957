"""Modules, their watermarks/hooks/checks and module_history, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools

import pytest

from pipekit.errors import NotFoundError
from pipekit.store import UNSET, AlreadyExistsError, InUseError, Store
from pipekit.store.modules import Module, ModuleSpecError


@pytest.fixture
def conns(store: Store) -> Store:
    store.connections.add("erp", "postgresql://db1/erp")
    store.connections.add("dw", "postgresql://db2/dw")
    return store


def test_crud_resolves_connection_names(conns: Store) -> None:
    store = conns
    m = store.modules.add(
        "orders",
        source="erp",
        dest="dw",
        dest_table="sync.orders",
        source_query="SELECT 1 AS a",
        merge_strategy="incremental",
        merge_key="a",
        watermark_op=">=",
        lookback="2 days",
        full_refresh_cron="0 3 * * 0",
    )
    assert isinstance(m, Module)
    assert (m.source, m.dest, m.merge_strategy, m.watermark_op) == (
        "erp",
        "dw",
        "incremental",
        ">=",
    )
    assert m.source_connection_id == store.connections.get("erp").id
    assert (m.enabled, m.key_sync, m.running) == (True, False, False)
    assert store.modules.get("orders") == m == store.modules.get_by_id(m.id)
    store.modules.add("customers", source="erp", dest="dw", enabled=False)
    assert [x.name for x in store.modules.list()] == ["customers", "orders"]
    assert [x.name for x in store.modules.list(enabled=True)] == ["orders"]
    assert [x.name for x in store.modules.list(enabled=False)] == ["customers"]

    changed = store.modules.update("orders", dest="erp", lookback=None, merge_key=UNSET)
    assert (changed.dest, changed.lookback, changed.merge_key) == ("erp", None, "a")
    renamed = store.modules.update("orders", new_name="orders2")
    assert renamed.name == "orders2" and renamed.id == m.id
    assert store.modules.set_enabled("orders2", False).enabled is False
    store.modules.remove("orders2")
    assert [x.name for x in store.modules.list()] == ["customers"]


def test_validation_errors(conns: Store) -> None:
    store = conns
    with pytest.raises(ModuleSpecError, match="invalid module name 'bad name'"):
        store.modules.add("bad name")
    with pytest.raises(ModuleSpecError, match="merge_strategy 'merge' is not one of full, incr"):
        store.modules.add("m", merge_strategy="merge")
    with pytest.raises(ModuleSpecError, match="watermark_op '=' is not one of '>', '>='"):
        store.modules.add("m", watermark_op="=")
    with pytest.raises(ModuleSpecError, match="full_refresh_cron 'weekly': 1 field given"):
        store.modules.add("m", full_refresh_cron="weekly")
    with pytest.raises(NotFoundError, match=r"source connection 'nope' does not exist \(known: dw"):
        store.modules.add("m", source="nope", dest="dw")
    with pytest.raises(NotFoundError, match="destination connection 'gone' does not exist"):
        store.modules.add("m", source="erp", dest="gone")
    with pytest.raises(TypeError, match="unknown module field"):
        store.modules.add("m", colour="red")
    assert store.modules.list() == []
    assert store.modules.exists("m") is False
    store.modules.add("m", source="erp")
    assert store.modules.exists("m") is True and store.modules.exists("M") is False
    with pytest.raises(AlreadyExistsError, match="a module named 'm' already exists"):
        store.modules.add("m")
    store.modules.add("n")
    with pytest.raises(AlreadyExistsError, match="'n' already exists"):
        store.modules.update("m", new_name="n")
    with pytest.raises(ModuleSpecError, match="merge_strategy"):
        store.modules.update("m", merge_strategy="nope")
    with pytest.raises(NotFoundError, match=r"no module named 'x' \(known: m, n\)"):
        store.modules.get("x")
    with pytest.raises(NotFoundError, match="source connection 'zz'"):
        store.modules.update("m", source="zz")
    with pytest.raises(InUseError, match="is used by module"):
        store.connections.remove("erp")


def test_history_records_every_change(conns: Store) -> None:
    store = conns
    store.modules.add("orders", source="erp", merge_key="id", changed_by="alice")
    store.modules.update("orders", merge_key="id", changed_by="bob")  # no change: nothing
    store.modules.update("orders", merge_key="k", source="dw", dest="erp", changed_by="bob")
    store.watermarks.add("orders", "since", connection="dw", resolver_sql="SELECT 1")
    store.watermarks.update("orders", "since", default_value="1970-01-01")
    store.watermarks.set_last_value("orders", "since", "2024-01-01")  # run state: not recorded
    hook = store.hooks.add("orders", "ANALYZE t", run_on="always")
    store.hooks.update(hook.id, sql="VACUUM t")
    store.checks.add("orders", "no_nulls", sql="SELECT 1 WHERE false")
    store.checks.remove("orders", "no_nulls")
    store.hooks.remove(hook.id)
    store.watermarks.remove("orders", "since")

    history = store.modules.history("orders")
    diffs = [h.diff for h in history]
    assert diffs[-1]["name"] == [None, "orders"]
    assert diffs[-1]["source"] == [None, "erp"] and "dest" not in diffs[-1]
    assert history[-1].changed_by == "alice"
    assert diffs[-2] == {"merge_key": ["id", "k"], "source": ["erp", "dw"], "dest": [None, "erp"]}
    assert history[-2].changed_by == "bob"
    wm = {"connection": "dw", "resolver_sql": "SELECT 1", "default_value": None}
    assert diffs[-3] == {"watermarks.since": [None, wm]}
    assert diffs[-4] == {"watermarks.since": [wm, {**wm, "default_value": "1970-01-01"}]}
    assert diffs[-5] == {"hooks": [[], [{"run_order": 0, "sql": "ANALYZE t", "run_on": "always"}]]}
    assert diffs[-6]["hooks"][1] == [{"run_order": 0, "sql": "VACUUM t", "run_on": "always"}]
    assert diffs[-7] == {"checks.no_nulls": [None, {"sql": "SELECT 1 WHERE false", "run_order": 0}]}
    assert diffs[-8] == {"checks.no_nulls": [{"sql": "SELECT 1 WHERE false", "run_order": 0}, None]}
    assert diffs[-9] == {"hooks": [[{"run_order": 0, "sql": "VACUUM t", "run_on": "always"}], []]}
    assert list(diffs[0]) == ["watermarks.since"] and diffs[0]["watermarks.since"][1] is None
    assert len(history) == 10
    assert all(a.changed_at >= b.changed_at for a, b in itertools.pairwise(history))


def test_children_crud_and_validation(conns: Store) -> None:
    store = conns
    store.modules.add("orders")
    w = store.watermarks.add("orders", "since", connection="dw", default_value="0")
    assert (w.module, w.name, w.connection, w.last_value) == ("orders", "since", "dw", None)
    store.watermarks.set_last_value("orders", "since", "42")
    assert store.watermarks.get("orders", "since").last_value == "42"
    assert store.watermarks.update("orders", "since", new_name="upto").name == "upto"
    with pytest.raises(NotFoundError, match="watermark connection 'nope' does not exist"):
        store.watermarks.add("orders", "x", connection="nope")
    with pytest.raises(ModuleSpecError, match="invalid watermark name '1x'"):
        store.watermarks.add("orders", "1x")
    with pytest.raises(AlreadyExistsError, match="already has a watermark 'upto'"):
        store.watermarks.add("orders", "upto")
    with pytest.raises(NotFoundError, match=r"has no watermark named 'nope' \(known: upto\)"):
        store.watermarks.remove("orders", "nope")
    with pytest.raises(NotFoundError, match="no module named 'zz'"):
        store.watermarks.list("zz")

    h1 = store.hooks.add("orders", "ANALYZE a")
    h2 = store.hooks.add("orders", "ANALYZE b", run_on="failure")
    assert [(h.run_order, h.sql, h.run_on) for h in store.hooks.list("orders")] == [
        (0, "ANALYZE a", "success"),
        (1, "ANALYZE b", "failure"),
    ]
    store.hooks.update(h1.id, run_order=5)
    assert [h.id for h in store.hooks.list("orders")] == [h2.id, h1.id]
    with pytest.raises(ModuleSpecError, match="hook run_on 'never' is not one of success"):
        store.hooks.add("orders", "x", run_on="never")
    with pytest.raises(ModuleSpecError, match="hook SQL is empty"):
        store.hooks.add("orders", "  ")
    with pytest.raises(NotFoundError, match="no hook with id 999"):
        store.hooks.remove(999)

    store.checks.add("orders", "a", sql="SELECT 1")
    store.checks.add("orders", "b", sql="SELECT 2")
    assert [(c.name, c.run_order) for c in store.checks.list("orders")] == [("a", 0), ("b", 1)]
    with pytest.raises(ModuleSpecError, match="a check needs its SQL"):
        store.checks.add("orders", "c")
    store.modules.remove("orders")  # children go with it
    store.modules.add("orders")
    assert store.checks.list("orders") == [] and store.hooks.list("orders") == []


def test_replace_all_is_idempotent(conns: Store) -> None:
    store = conns
    store.modules.add("orders")
    wms = [{"name": "since", "connection": "dw", "resolver_sql": "SELECT max(x) FROM t"}]
    hooks = [{"sql": "ANALYZE t"}, {"sql": "NOTIFY x", "run_on": "failure"}]
    checks = [{"name": "no_nulls", "sql": "SELECT 1"}, {"name": "fresh", "sql": "SELECT 2"}]
    assert store.watermarks.replace_all("orders", wms) is True
    assert store.hooks.replace_all("orders", hooks) is True
    assert store.checks.replace_all("orders", checks) is True
    store.watermarks.set_last_value("orders", "since", "7")
    count = len(store.modules.history("orders"))

    assert store.watermarks.replace_all("orders", wms) is False
    assert store.hooks.replace_all("orders", hooks) is False
    assert store.checks.replace_all("orders", checks) is False
    assert len(store.modules.history("orders")) == count
    assert store.watermarks.get("orders", "since").last_value == "7"  # run state kept

    assert store.checks.replace_all("orders", [{"name": "fresh", "sql": "SELECT 3"}]) is True
    assert store.modules.history("orders")[0].diff == {
        "checks.fresh": [{"sql": "SELECT 2", "run_order": 1}, {"sql": "SELECT 3", "run_order": 0}],
        "checks.no_nulls": [{"sql": "SELECT 1", "run_order": 0}, None],
    }
    assert store.watermarks.replace_all("orders", []) is True
    assert store.watermarks.list("orders") == []
    with pytest.raises(ModuleSpecError, match="check 'a' is listed twice"):
        store.checks.replace_all("orders", [{"name": "a", "sql": "x"}, {"name": "a", "sql": "y"}])
    with pytest.raises(ModuleSpecError, match="a hook needs its SQL"):
        store.hooks.replace_all("orders", [{"run_on": "success"}])


def test_empty_connection_names_mean_none(conns: Store) -> None:
    m = conns.modules.add("m", source="", dest="dw", dest_table="")
    assert (m.source, m.dest, m.dest_table) == (None, "dw", None)
