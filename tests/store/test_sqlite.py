"""SQLite specifics: WAL, foreign keys and busy timeout on every connection; targets."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from pipekit.config import parse_config
from pipekit.errors import StoreError
from pipekit.store import Store, utcnow
from pipekit.store import schema as s


@pytest.fixture
def sqlite_store(tmp_path: Path):
    with Store.open(tmp_path / "pipekit.db") as store:
        store.init()
        yield store


def test_every_connection_has_wal_foreign_keys_and_busy_timeout(sqlite_store: Store) -> None:
    conns = [sqlite_store.engine.connect() for _ in range(3)]  # distinct pool connections
    try:
        for conn in conns:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    finally:
        for conn in conns:
            conn.close()


def test_foreign_keys_are_enforced(sqlite_store: Store) -> None:
    now = utcnow()
    with pytest.raises(IntegrityError), sqlite_store.write() as conn:
        conn.execute(
            s.module.insert().values(
                name="m", dest_connection_id=999, created_at=now, updated_at=now
            )
        )


def test_cascade_deletes_children(sqlite_store: Store) -> None:
    now = utcnow()
    with sqlite_store.write() as conn:
        mid = conn.execute(
            s.module.insert().values(name="m", created_at=now, updated_at=now)
        ).inserted_primary_key[0]
        conn.execute(s.hook.insert().values(module_id=mid, sql="SELECT 1"))
        conn.execute(s.module.delete().where(s.module.c.id == mid))
        assert conn.execute(s.hook.select()).all() == []


def test_timestamps_come_back_aware_utc(sqlite_store: Store) -> None:
    c = sqlite_store.connections.add("a", "sqlite:///x.db")
    assert c.created_at.utcoffset() is not None
    assert c.created_at.utcoffset().total_seconds() == 0


def test_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert Store.open("rel.db").target.path == tmp_path / "rel.db"
    assert Store.open(f"sqlite:///{tmp_path}/u.db").target.path == tmp_path / "u.db"
    cfg = parse_config({"database": "state.db"}, tmp_path / "pipekit.yaml")
    assert Store.open(cfg).target.path == tmp_path / "state.db"
    pg = Store.open("postgresql://me:hunter2@db.example/state")
    assert pg.dialect == "postgresql"
    assert "hunter2" not in pg.display()
    assert pg.target.url.drivername == "postgresql+psycopg"
    with pytest.raises(StoreError, match="use a SQLite file path"):
        Store.open("mysql://h/db")
    with pytest.raises(StoreError, match="empty"):
        Store.open("  ")
    with pytest.raises(StoreError, match="in-memory"):
        Store.open("sqlite:///:memory:")


def test_unreachable_postgresql_is_a_clear_store_error() -> None:
    store = Store.open("postgresql://postgres@127.0.0.1:1/none")
    with store, pytest.raises(StoreError, match=r"cannot use state database postgresql://"):
        store.schema_version()
