"""Connection and settings repositories, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from pipekit.errors import ConnectionSpecError, NotFoundError, SecretError
from pipekit.store import AlreadyExistsError, Connection, InUseError, Store, utcnow
from pipekit.store import schema as s


def test_add_get_list_update_remove(store: Store) -> None:
    erp = store.connections.add("erp", "postgresql://db1:5432/erp", user="etl", password="$ERP_PW")
    assert isinstance(erp, Connection)
    assert (erp.name, erp.url, erp.user, erp.password) == (
        "erp",
        "postgresql://db1:5432/erp",
        "etl",
        "$ERP_PW",
    )
    assert erp.supports_deletes is True
    store.connections.add("files", "sqlite:///data.db", supports_deletes=False)
    assert store.connections.get("erp") == erp
    assert [c.name for c in store.connections.list()] == ["erp", "files"]
    assert store.connections.get("files").supports_deletes is False
    assert store.connections.get("files").password is None

    changed = store.connections.update("erp", user="loader", password="${OTHER}")
    assert (changed.user, changed.password, changed.url) == ("loader", "${OTHER}", erp.url)
    assert changed.updated_at >= erp.updated_at
    assert changed.created_at == erp.created_at
    renamed = store.connections.update("erp", new_name="erp2", password=None)
    assert renamed.name == "erp2" and renamed.password is None

    store.connections.remove("erp2")
    assert [c.name for c in store.connections.list()] == ["files"]
    assert store.connections.get_by_id(store.connections.get("files").id).name == "files"


def test_duplicate_name_is_refused_and_changes_nothing(store: Store) -> None:
    first = store.connections.add("erp", "postgresql://db1/erp")
    with pytest.raises(AlreadyExistsError, match="a connection named 'erp' already exists"):
        store.connections.add("erp", "postgresql://db2/other")
    assert store.connections.list() == [first]
    store.connections.add("b", "postgresql://db2/b")
    with pytest.raises(AlreadyExistsError, match="'erp' already exists"):
        store.connections.update("b", new_name="erp")


def test_unknown_name(store: Store) -> None:
    with pytest.raises(NotFoundError, match=r"no connection named 'nope' \(none are defined yet"):
        store.connections.get("nope")
    store.connections.add("erp", "postgresql://db1/erp")
    with pytest.raises(NotFoundError, match=r"known: erp"):
        store.connections.remove("nope")
    with pytest.raises(NotFoundError):
        store.connections.update("nope", user="x")


def test_literal_password_is_refused_without_echo(store: Store) -> None:
    with pytest.raises(SecretError) as info:
        store.connections.add("erp", "postgresql://db1/erp", password="hunter2")
    assert "hunter2" not in str(info.value)
    assert "$ERP_PW" in str(info.value)
    assert store.connections.list() == []


@pytest.mark.parametrize("name", ["", "has space", "-lead", "a/b", "x" * 101])
def test_bad_names_are_refused(store: Store, name: str) -> None:
    with pytest.raises(ConnectionSpecError, match="invalid connection name"):
        store.connections.add(name, "postgresql://db1/erp")


def test_connection_in_use_cannot_be_removed(store: Store) -> None:
    src = store.connections.add("src", "postgresql://db1/erp")
    now = utcnow()
    with store.write() as conn:
        conn.execute(
            s.module.insert().values(
                name="orders", source_connection_id=src.id, created_at=now, updated_at=now
            )
        )
    with pytest.raises(InUseError, match=r"used by module\(s\) orders"):
        store.connections.remove("src")
    assert store.connections.get("src") == src


def test_settings(store: Store) -> None:
    assert store.settings.get("smtp_host") is None
    assert store.settings.get("smtp_host", "d") == "d"
    store.settings.set("smtp_host", "mail1")
    store.settings.set("smtp_host", "mail2")
    store.settings.set("paused", None)
    assert store.settings.get("smtp_host") == "mail2"
    assert store.settings.all() == {"paused": None, "smtp_host": "mail2"}
    assert store.settings.delete("paused") is True
    assert store.settings.delete("paused") is False


def test_timestamps_are_aware_utc_and_naive_is_refused(store: Store) -> None:
    from datetime import datetime, timedelta, timezone

    c = store.connections.add("a", "sqlite:///x.db")
    assert c.created_at.tzinfo is not None and c.created_at.utcoffset() == timedelta(0)
    assert abs(utcnow() - c.created_at) < timedelta(minutes=1)
    # An aware time in another zone is stored as the same instant.
    paris = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    with store.write() as conn:
        gid = conn.execute(s.grp.insert().values(name="g")).inserted_primary_key[0]
        conn.execute(s.schedule.insert().values(group_id=gid, cron_expr="x", created_at=paris))
        back = conn.execute(s.schedule.select()).one().created_at
    assert back == paris and back.utcoffset() == timedelta(0) and back.hour == 11
    with pytest.raises(Exception, match="naive datetime"), store.write() as conn:
        conn.execute(
            s.settings.insert().values(key="k", value="v", updated_at=datetime(2026, 1, 1))
        )
