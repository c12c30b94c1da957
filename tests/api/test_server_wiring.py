"""The server's scheduler hands due schedules to the run pool as `schedule:{id}` runs."""

from __future__ import annotations

import time
from types import SimpleNamespace

from pipekit.server.serve import build


def test_scheduler_fire_submits_the_group_to_the_pool(tmp_path) -> None:
    config = tmp_path / "pipekit.yaml"
    config.write_text("database: state.db\n")
    from pipekit.config import load_config
    from pipekit.store import Store

    with Store.open(load_config(config)) as store:
        store.init()
        store.groups.add("empty")
    app = build(config, grace_s=1)
    pool, scheduler, store = app.state.pool, app.state.scheduler, app.state.store
    try:
        scheduler.fire(SimpleNamespace(id=7, group="empty"), None)
        deadline = time.monotonic() + 30
        while True:
            runs = store.runs.list_group("empty")
            if runs and runs[0].status not in ("queued", "running"):
                break
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert runs[0].triggered_by == "schedule:7"
    finally:
        pool.shutdown(1)
        store.close()
