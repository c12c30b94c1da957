"""``store.transaction()``: repository calls in one block commit or roll back together,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from pipekit.errors import AlreadyExistsError, NotFoundError
from pipekit.store import Store


def _names(store: Store) -> list[str]:
    return [c.name for c in store.connections.list()]


def test_a_failed_block_changes_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.connections.add("a", "sqlite:////tmp/a.db")
        tx.modules.add("m", source="a", dest="a", dest_table="t", source_query="SELECT 1")
        tx.watermarks.add("m", "since", connection="a", resolver_sql="SELECT 1")
        assert _names(tx) == ["a"]  # the block sees its own writes
        raise RuntimeError("fail after three writes")
    assert _names(store) == []
    assert store.modules.list() == []


def test_a_block_that_ends_commits_every_write(store: Store) -> None:
    with store.transaction() as tx:
        tx.connections.add("a", "sqlite:////tmp/a.db")
        tx.modules.add("m", source="a", dest="a", dest_table="t", source_query="SELECT 1")
    assert _names(store) == ["a"]
    assert [m.name for m in store.modules.list()] == ["m"]
    assert len(store.modules.history("m")) == 1


def test_a_refused_write_inside_can_be_caught_and_the_rest_kept(store: Store) -> None:
    """Each write is a savepoint: a refused one (caught) does not spoil the transaction,
    which PostgreSQL would otherwise abort."""
    with store.transaction() as tx:
        tx.connections.add("a", "sqlite:////tmp/a.db")
        with pytest.raises(AlreadyExistsError):
            tx.connections.add("a", "sqlite:////tmp/other.db")
        with pytest.raises(NotFoundError):
            tx.modules.add("m", source="missing")
        tx.connections.add("b", "sqlite:////tmp/b.db")
    assert _names(store) == ["a", "b"]


def test_nested_blocks_join_the_outer_one(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as outer:
        outer.connections.add("a", "sqlite:////tmp/a.db")
        with store.transaction() as inner:
            assert inner.in_transaction
            inner.connections.add("b", "sqlite:////tmp/b.db")
        raise RuntimeError("the outer block fails after the inner one ended")
    assert _names(store) == []
    assert not store.in_transaction


def test_another_thread_does_not_join_the_block(store: Store) -> None:
    """The unit of work belongs to its thread: a request served by another thread
    neither sees its uncommitted writes nor is rolled back with it."""
    seen: list[list[str]] = []
    with store.transaction() as tx:
        tx.connections.add("a", "sqlite:////tmp/a.db")
        reader = threading.Thread(target=lambda: seen.append(_names(store)))
        reader.start()
        reader.join(30)
    assert seen == [[]]
    assert _names(store) == ["a"]
