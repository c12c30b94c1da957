"""The web console's run-log queries on SQLite and PostgreSQL: keyset pages, each
module's latest run and last success, totals per UTC day."""

from __future__ import annotations

import datetime as dt

from pipekit.store import Store
from pipekit.store import schema as s
from pipekit.store.run_queries import RunQueries

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)


def _run(
    store: Store,
    module: str,
    status: str,
    start: dt.datetime,
    secs: float = 0,
    rows: int | None = None,
    group_run_id: int | None = None,
) -> int:
    run_id = store.runs.start(module, triggered_by="t", pid=1, host="h", group_run_id=group_run_id)
    if status != "running":
        store.runs.finish(run_id, status, row_count=rows)
    with store.write() as conn:
        conn.execute(
            s.run_log.update()
            .where(s.run_log.c.id == run_id)
            .values(
                started_at=start,
                finished_at=None if status == "running" else start + dt.timedelta(seconds=secs),
            )
        )
    return run_id


def test_keyset_pages_follow_each_other_without_gaps(store: Store) -> None:
    store.modules.add("a")
    store.modules.add("b")
    ids = [
        _run(store, "a" if i % 2 else "b", "success", T0 + dt.timedelta(minutes=i // 2))
        for i in range(9)
    ]
    q = RunQueries(store)
    newest_first = [r.id for r in store.runs.list(limit=100)]
    seen, before = [], None
    while True:
        page = q.page(limit=4, before=before)
        if not page:
            break
        seen += [r.id for r in page]
        before = page[-1].id
    assert seen == newest_first and sorted(seen) == sorted(ids)
    assert [r.module_name for r in q.page(module="a")] == ["a"] * 4
    assert q.page(status="error") == []
    assert q.page(before=10**9)[0].id == newest_first[0]  # an unknown cursor: first page
    since = [r.id for r in q.page(since=T0 + dt.timedelta(minutes=3))]
    assert since == newest_first[:3]


def test_page_by_group(store: Store) -> None:
    store.modules.add("a")
    store.groups.add("g", members=["a"])
    gid = store.runs.start_group("g", triggered_by="t")
    in_group = _run(store, "a", "success", T0, group_run_id=gid)
    _run(store, "a", "success", T0)
    assert [r.id for r in RunQueries(store).page(group="g")] == [in_group]


def test_latest_run_and_last_success_per_module(store: Store) -> None:
    for name in ("a", "b", "c"):
        store.modules.add(name)
    _run(store, "a", "success", T0)
    last_a = _run(store, "a", "error", T0 + dt.timedelta(hours=1))
    only_b = _run(store, "b", "running", T0)
    q = RunQueries(store)
    latest = q.latest_by_module()
    ids = {m.name: m.id for m in store.modules.list()}
    assert latest[ids["a"]].run_id == last_a and latest[ids["a"]].status == "error"
    assert latest[ids["b"]].run_id == only_b
    assert ids["c"] not in latest
    success = q.last_success()
    assert success[ids["a"]] == T0
    assert success[ids["b"]] is None and success[ids["c"]] is None


def test_daily_totals(store: Store) -> None:
    store.modules.add("a")
    _run(store, "a", "success", T0, secs=30, rows=100)
    _run(store, "a", "error", T0 + dt.timedelta(hours=2), secs=10)
    _run(store, "a", "success", T0 + dt.timedelta(days=1), secs=5, rows=7)
    _run(store, "a", "success", T0 - dt.timedelta(days=3), secs=5, rows=1000)  # before `since`
    days = RunQueries(store).daily_totals(T0 - dt.timedelta(hours=1))
    assert [(d.day, d.runs, d.failed, d.rows) for d in days] == [
        ("2026-03-01", 2, 1, 100),
        ("2026-03-02", 1, 0, 7),
    ]
    assert abs(days[0].seconds - 40) < 0.01 and abs(days[1].seconds - 5) < 0.01
