"""Migrations: create, re-run, refuse what this code cannot use, roll back failures."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import Connection, UniqueConstraint, inspect, text

from pipekit.errors import SchemaVersionError
from pipekit.store import LATEST_VERSION, Migration, Store, utcnow
from pipekit.store import schema as current
from pipekit.store.migrations import MIGRATIONS, apply, version_table


def snapshot(store: Store) -> dict[str, Any]:
    """Everything about the schema a migration could change, plus the version rows."""
    with store.engine.connect() as conn:
        insp = inspect(conn)
        tables = {}
        for name in sorted(insp.get_table_names()):
            tables[name] = {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(name)
                ],
                "pk": insp.get_pk_constraint(name)["constrained_columns"],
                "fks": sorted(
                    (tuple(f["constrained_columns"]), f["referred_table"])
                    for f in insp.get_foreign_keys(name)
                ),
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]))
                    for i in insp.get_indexes(name)
                    if not i.get("duplicates_constraint")  # PostgreSQL lists UNIQUEs too
                ),
                "uniques": sorted(
                    tuple(u["column_names"]) for u in insp.get_unique_constraints(name)
                ),
            }
        versions = conn.execute(text("SELECT version, name FROM schema_version")).all()
    return {"tables": tables, "versions": sorted(versions)}


def test_migrations_are_numbered_from_one() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST_VERSION + 1))
    assert Store.latest_version == LATEST_VERSION


def test_init_creates_every_table(empty_store: Store) -> None:
    assert empty_store.schema_version() is None
    applied = empty_store.init()
    assert [m.version for m in applied] == [m.version for m in MIGRATIONS]
    assert empty_store.schema_version() == LATEST_VERSION
    assert empty_store.check() == LATEST_VERSION
    tables = set(snapshot(empty_store)["tables"])
    assert tables == set(current.metadata.tables)


def test_init_twice_changes_nothing(store: Store) -> None:
    before = snapshot(store)
    assert store.init() == []
    assert snapshot(store) == before
    assert before["versions"] == [(m.version, m.name) for m in MIGRATIONS]


def test_migrated_schema_matches_current_metadata(store: Store) -> None:
    """schema.py and the migrations must describe the same database."""
    got = snapshot(store)["tables"]
    for table in current.metadata.sorted_tables:
        have = got[table.name]
        # Names, not order: a migration appends a new setting's column at the end of the
        # table, while schema.py lists the settings in their display order.
        assert sorted(c[0] for c in have["columns"]) == sorted(c.name for c in table.columns), (
            table.name
        )
        assert {c[0]: c[2] for c in have["columns"]} == {
            c.name: c.nullable for c in table.columns
        }, table.name
        want_fks = sorted(
            (tuple(e.parent.name for e in fk.elements), fk.referred_table.name)
            for fk in table.foreign_key_constraints
        )
        assert have["fks"] == want_fks, table.name
        want_ix = sorted((i.name, tuple(c.name for c in i.columns)) for i in table.indexes)
        assert have["indexes"] == want_ix, table.name
        want_uq = sorted(
            tuple(c.name for c in u.columns)
            for u in table.constraints
            if isinstance(u, UniqueConstraint)
        )
        assert have["uniques"] == want_uq, table.name


def test_newer_database_is_refused(store: Store) -> None:
    newer = LATEST_VERSION + 1
    with store.write() as conn:
        conn.execute(version_table.insert().values(version=newer, name="x", applied_at=utcnow()))
    again = Store(store.target)  # a fresh process would see the same
    expected = (
        f"is at schema version {newer}, this Pipekit knows up to {LATEST_VERSION}; upgrade Pipekit"
    )
    with again, pytest.raises(SchemaVersionError, match=expected):
        again.connections.list()
    with again, pytest.raises(SchemaVersionError, match="upgrade Pipekit"):
        again.init()
    assert again.schema_version() == newer  # refused, not changed


def test_uninitialised_store_says_run_init(empty_store: Store) -> None:
    with pytest.raises(SchemaVersionError, match="not initialised; run `pipekit init`"):
        empty_store.connections.list()
    with pytest.raises(SchemaVersionError, match="run `pipekit init`"):
        empty_store.settings.get("x")
    if empty_store.target.path is not None:
        assert not empty_store.target.path.exists()  # looking does not create the file


def test_failed_migration_leaves_nothing_behind(empty_store: Store) -> None:
    """DDL runs inside the migration's transaction on both backends."""

    def broken(conn: Connection) -> None:
        conn.execute(text("CREATE TABLE half_done (x INTEGER)"))
        raise RuntimeError("boom")

    if empty_store.target.path is not None:
        empty_store.target.path.parent.mkdir(parents=True)
    with pytest.raises(RuntimeError), empty_store._connection(write=True) as conn, conn.begin():
        apply(conn, Migration(1, "broken", broken))
    with empty_store.engine.connect() as conn:
        assert inspect(conn).get_table_names() == []
    assert empty_store.schema_version() is None


def test_concurrent_inits_apply_each_migration_once(empty_store: Store) -> None:
    target = empty_store.target
    errors: list[BaseException] = []
    applied: list[int] = []

    def run() -> None:
        try:
            with Store(target) as s:
                applied.extend(m.version for m in s.init())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(applied) == [m.version for m in MIGRATIONS]
    assert empty_store.schema_version() == LATEST_VERSION


def test_migration_3_drops_columns_json_and_keeps_the_modules(empty_store: Store) -> None:
    """A database at version 2, with a connection and a module, upgraded by init()."""
    now = utcnow()
    if empty_store.target.path is not None:  # SQLite: init() would make the folder
        empty_store.target.path.parent.mkdir(parents=True, exist_ok=True)
    with empty_store.engine.begin() as conn:
        for migration in MIGRATIONS[:2]:
            apply(conn, migration)
        conn.execute(
            text(
                "INSERT INTO connection (name, url, supports_deletes, created_at, updated_at) "
                "VALUES ('c', 'sqlite:///x.db', TRUE, :now, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO module (name, dest_table, merge_strategy, watermark_op, key_sync, "
                "audit_columns, columns_json, enabled, running, created_at, updated_at) VALUES "
                "('m', 's.t', 'full', '>', FALSE, FALSE, '[1]', TRUE, FALSE, :now, :now)"
            ),
            {"now": now},
        )
    assert [m.version for m in empty_store.init()] == [m.version for m in MIGRATIONS[2:]]
    with empty_store.engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("module")}
    assert "columns_json" not in columns
    module = empty_store.modules.get("m")
    assert (module.name, module.dest_table, module.merge_strategy) == ("m", "s.t", "full")


def test_durable_queue_migration_keeps_runs_and_allows_queued(empty_store: Store) -> None:
    """A database just before the durable-queue migration, with a group run and its
    member run, upgraded: both rows are kept (the member still points at its group run,
    although SQLite rebuilt both tables) and ``queued`` is now an accepted status."""
    from pipekit.store.migrations import m0008_durable_queue as durable

    before = next(i for i, m in enumerate(MIGRATIONS) if m.name == "durable_queue")
    now = utcnow()
    if empty_store.target.path is not None:
        empty_store.target.path.parent.mkdir(parents=True, exist_ok=True)
    with empty_store.engine.begin() as conn:
        for migration in MIGRATIONS[:before]:
            apply(conn, migration)
        conn.execute(
            text(
                "INSERT INTO group_run (group_name, started_at, status) "
                "VALUES ('g', :now, 'success')"
            ),
            {"now": now},
        )
        gid = conn.execute(text("SELECT max(id) FROM group_run")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO run_log (module_name, group_run_id, started_at, status) "
                "VALUES ('m', :g, :now, 'success')"
            ),
            {"g": gid, "now": now},
        )
    assert empty_store.init()[0].name == "durable_queue"
    runs = empty_store.runs.list(group_run_id=gid)
    assert [(r.module_name, r.status) for r in runs] == [("m", "success")]
    with empty_store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO run_log (module_name, started_at, status) VALUES ('m', :now, 'queued')"
            ),
            {"now": now},
        )
        conn.execute(text("UPDATE group_run SET status = 'queued' WHERE id = :g"), {"g": gid})
    assert empty_store.runs.get_group(gid).status == "queued"
    assert durable.STATUSES[0] == "queued"


def test_migration_4_adds_run_committed_unknown_for_earlier_runs(empty_store: Store) -> None:
    """A run recorded at version 3 reads back with ``committed`` None (not known)."""
    if empty_store.target.path is not None:
        empty_store.target.path.parent.mkdir(parents=True, exist_ok=True)
    with empty_store.engine.begin() as conn:
        for migration in MIGRATIONS[:3]:
            apply(conn, migration)
        conn.execute(
            text(
                "INSERT INTO run_log (module_name, started_at, status, cancel_requested) "
                "VALUES ('m', :now, 'error', FALSE)"
            ),
            {"now": utcnow()},
        )
    assert [m.version for m in empty_store.init()] == [m.version for m in MIGRATIONS[3:]]
    (run,) = empty_store.runs.list()
    assert run.status == "error" and run.committed is None


def test_connector_sources_migration_keeps_connections(empty_store: Store) -> None:
    """Upgraded from the version before it: connections get no options, modules no
    source_table, and both can be set afterwards."""
    index = next(i for i, m in enumerate(MIGRATIONS) if m.name == "connector_sources")
    if empty_store.target.path is not None:
        empty_store.target.path.parent.mkdir(parents=True, exist_ok=True)
    with empty_store.engine.begin() as conn:
        for migration in MIGRATIONS[:index]:
            apply(conn, migration)
        conn.execute(
            text(
                "INSERT INTO connection (name, url, supports_deletes, created_at, updated_at) "
                "VALUES ('c', 'sqlite:///x.db', TRUE, :now, :now)"
            ),
            {"now": utcnow()},
        )
    assert [m.name for m in empty_store.init()][:1] == ["connector_sources"]
    assert empty_store.connections.get("c").options == {}
    api = empty_store.connections.add(
        "api", "rest+https://example.com", options={"tables": {"t": {"path": "/t"}}}
    )
    assert api.options == {"tables": {"t": {"path": "/t"}}}
    module = empty_store.modules.add("m", source="api", dest="c", source_table="t")
    assert (module.source_table, module.source_query) == ("t", None)
