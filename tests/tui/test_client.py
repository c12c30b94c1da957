"""The typed API client against a real `pipekit serve`: typed results, the live-log
stream, and every error answer turned back into the class the server raised."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pipekit.client import LogLine, PipekitClient, RunEnded
from pipekit.errors import (
    AlreadyExistsError,
    AuthenticationError,
    InvalidError,
    ModuleBusyError,
    NotFoundError,
    NotRunningError,
    UnreachableError,
    ValidationError,
)
from tests.helpers import (
    PASSWORD,
    USER,
    Server,
    add_module,
    fast_query,
    free_port,
    slow_query,
    unique_name,
    wait_done,
)


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[PipekitClient]:
    with PipekitClient(server.url, USER, PASSWORD) as c:
        yield c


def test_typed_results_and_the_stream(client: PipekitClient, api: httpx.Client, pg_url) -> None:
    name = add_module(api, pg_url, fast_query(7))
    m = client.module(name)
    assert (m.name, m.merge_strategy, m.enabled, m.running) == (name, "full", True, False)
    assert client.latest_runs()[name] is None
    assert [c.dest for c in client.mapping(name).columns] == ["id", "v"]
    run_id = client.start_run(name)
    events = list(client.stream_run(run_id))
    assert all(isinstance(e, LogLine) for e in events[:-1]) and len(events) > 2
    end = events[-1]
    assert isinstance(end, RunEnded) and end.run.status == "success" and end.run.rows_read == 7
    assert end.run.seconds is not None and end.run.seconds >= 0
    last = client.latest_runs()[name]
    assert last is not None and (last.id, last.status, last.row_count) == (run_id, "success", 7)
    assert [r.id for r in client.runs(module=name)] == [run_id]
    assert client.run(run_id).source_query == fast_query(7)


def test_errors_come_back_as_the_servers_classes(
    client: PipekitClient, api: httpx.Client, pg_url
) -> None:
    name = add_module(api, pg_url, fast_query(3))
    with pytest.raises(NotFoundError, match="no module named 'nope_"):
        client.module("nope_" + name)
    with pytest.raises(ValidationError) as refused:
        client.update_module(name, merge_strategy="sideways")
    assert [p.path for p in refused.value.problems] == ["merge_strategy"]
    assert "sideways" in str(refused.value)
    with pytest.raises(AlreadyExistsError) as taken:
        client.add_module(name, source_query="SELECT 1 AS a")
    assert taken.value.path == "name"
    # FastAPI's own checks (a wrong type) are refusals too, with the field's path
    with pytest.raises(InvalidError) as wrong_type:
        client.update_module(name, enabled="maybe")
    assert wrong_type.value.path == "enabled"
    assert client.module(name).merge_strategy == "full"  # nothing changed


def test_busy_and_not_running(client: PipekitClient, api: httpx.Client, pg_url) -> None:
    name = add_module(api, pg_url, slow_query(100, 0.05))
    run_id = client.start_run(name)
    with pytest.raises(ModuleBusyError) as busy:
        client.start_run(name)
    assert busy.value.run_id == run_id
    assert client.cancel_run(run_id).cancel_requested
    assert wait_done(api, run_id)["status"] == "cancelled"
    with pytest.raises(NotRunningError):
        client.cancel_run(run_id)


def test_wrong_password_and_no_server(own_server: Server) -> None:
    server = own_server
    with (
        PipekitClient(server.url, USER, "wrong") as bad,
        pytest.raises(AuthenticationError, match="set-password"),
    ):
        bad.modules()
    url = f"http://127.0.0.1:{free_port()}"
    with PipekitClient(url, USER, PASSWORD) as gone, pytest.raises(UnreachableError) as exc:
        gone.modules()
    assert url in str(exc.value) and "pipekit serve" in str(exc.value)


def test_a_connector_module_carries_its_source_table_and_audit_names(
    client: PipekitClient, api: httpx.Client, tmp_path
) -> None:
    tag = unique_name("c")
    options = {"tables": {"orders": {"path": "/orders", "records": "data"}}}
    r = api.post(
        "/api/connections",
        json={"name": f"{tag}-api", "url": "rest+https://api.example.com/v1", "options": options},
    )
    assert r.status_code == 201, r.text
    wh = f"sqlite:///{tmp_path / 'wh.db'}"
    assert api.post("/api/connections", json={"name": f"{tag}-wh", "url": wh}).status_code == 201
    body = {
        "name": f"{tag}_orders",
        "source": f"{tag}-api",
        "dest": f"{tag}-wh",
        "dest_table": "orders",
        "source_table": "orders",
        "audit_columns": True,
        "audit_loaded_at_column": "loaded_at",
        "audit_source_column": "record_source",
    }
    r = api.post("/api/modules", json=body)
    assert r.status_code == 201, r.text
    m = client.module(f"{tag}_orders")
    assert (m.source_table, m.source_query) == ("orders", None)
    assert (m.audit_loaded_at_column, m.audit_run_id_column, m.audit_source_column) == (
        "loaded_at",
        None,
        "record_source",
    )
