"""The durable run queue: runs accepted by a server, waiting for a worker (``run_queue``).

``enqueue_module`` records the run ``queued`` and takes its module's lock (with no
expiry: the queue holds it) in one transaction, so a second run of the module is
refused at once, as before; ``enqueue_group`` records a group run ``queued``. Any
server sharing the store ``claim``s the oldest entry (FIFO by id) when it has a
free worker: on PostgreSQL with ``SELECT … FOR UPDATE SKIP LOCKED``, so two servers
never claim the same entry and neither waits for the other; on SQLite the claim is
one ``BEGIN IMMEDIATE`` transaction (one writer at a time). The claim deletes the
entry, marks the run ``running`` and gives the lock a lease, all at once, so each
queued run is started exactly once, even across restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sqlalchemy import func, select

from pipekit.store import schema
from pipekit.store.runs import Lease
from pipekit.store.types import utcnow

if TYPE_CHECKING:
    from pipekit.store.store import Store

_q, _r, _g, _mod = schema.run_queue, schema.run_log, schema.group_run, schema.module


@dataclass(frozen=True)
class Claimed:
    """A queued run (or group run) this process now carries out."""

    kind: Literal["module", "group"]
    id: int  # run id (module) or group run id (group)
    name: str
    triggered_by: str
    dry_run: bool
    full_refresh: bool


class QueueRepo:
    """Accepted runs waiting for a worker, claimed in order by any server."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def enqueue_module(
        self,
        module: str,
        *,
        triggered_by: str,
        dry_run: bool = False,
        full_refresh: bool = False,
    ) -> int:
        """Record a run of `module` ``queued``, holding its lock; returns the run id.

        ``ModuleBusyError`` (nothing written) when another run holds the lock."""
        with self._store.transaction() as tx:
            run_id = tx.runs.begin(
                module,
                triggered_by=triggered_by,
                pid=None,
                host=None,
                queued=True,
                dry_run=dry_run,
                full_refresh=full_refresh,
            )
            with tx.write() as conn:
                conn.execute(_q.insert().values(run_id=run_id, queued_at=utcnow()))
        return run_id

    def enqueue_group(self, group: str, *, triggered_by: str, dry_run: bool = False) -> int:
        """Record a run of group `group` ``queued``; returns the group run id."""
        with self._store.transaction() as tx:
            group_run_id = tx.runs.start_group(
                group, triggered_by=triggered_by, queued=True, dry_run=dry_run
            )
            with tx.write() as conn:
                conn.execute(_q.insert().values(group_run_id=group_run_id, queued_at=utcnow()))
        return group_run_id

    def claim(self, lease: Lease) -> Claimed | None:
        """Take the oldest queued entry for `lease.owner`: the run becomes ``running``
        and its lock gets `lease`. None when the queue is empty."""
        with self._store.write() as conn:
            row = conn.execute(
                select(_q).order_by(_q.c.id).limit(1).with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            conn.execute(_q.delete().where(_q.c.id == row.id))
            if row.run_id is not None:
                run = conn.execute(select(_r).where(_r.c.id == row.run_id)).one()
                conn.execute(_r.update().where(_r.c.id == run.id).values(status="running"))
                conn.execute(
                    _mod.update()
                    .where(_mod.c.locked_by_run_id == run.id)
                    .values(lease_owner=lease.owner, lease_expires_at=lease.expires_at)
                )
                return Claimed(
                    "module",
                    run.id,
                    run.module_name,
                    run.triggered_by or "api",
                    bool(run.dry_run),
                    bool(run.full_refresh),
                )
            group = conn.execute(select(_g).where(_g.c.id == row.group_run_id)).one()
            conn.execute(_g.update().where(_g.c.id == group.id).values(status="running"))
            return Claimed(
                "group",
                group.id,
                group.group_name,
                group.triggered_by or "api",
                bool(group.dry_run),
                False,
            )

    def cancel_run(self, run_id: int, why: str) -> bool:
        """End a queued run ``cancelled`` and free its lock; False if it is not queued."""
        with self._store.write() as conn:
            if conn.execute(_q.delete().where(_q.c.run_id == run_id)).rowcount != 1:
                return False
            conn.execute(
                _r.update()
                .where(_r.c.id == run_id)
                .values(status="cancelled", error="cancelled", finished_at=utcnow(),
                        live_log=func.coalesce(_r.c.live_log, "") + f"cancelled: {why}\n")
            )  # fmt: skip
            conn.execute(
                _mod.update()
                .where(_mod.c.locked_by_run_id == run_id)
                .values(running=False, locked_by_run_id=None, locked_pid=None,
                        locked_host=None, locked_at=None, lease_owner=None,
                        lease_expires_at=None)
            )  # fmt: skip
            return True

    def cancel_group(self, group_run_id: int, why: str) -> bool:
        """End a queued group run ``cancelled``; False if it is not queued."""
        with self._store.write() as conn:
            res = conn.execute(_q.delete().where(_q.c.group_run_id == group_run_id))
            if res.rowcount != 1:
                return False
            conn.execute(
                _g.update()
                .where(_g.c.id == group_run_id)
                .values(status="cancelled", error=f"cancelled: {why}", finished_at=utcnow())
            )
            return True

    def count(self) -> int:
        """Entries waiting for a worker, on every server sharing the store."""
        with self._store.read() as conn:
            return int(conn.execute(select(func.count()).select_from(_q)).scalar_one())

    def queued_run_ids(self) -> list[int]:
        """Module runs waiting, in the order they will be claimed."""
        with self._store.read() as conn:
            rows = conn.execute(
                select(_q.c.run_id).where(_q.c.run_id.is_not(None)).order_by(_q.c.id)
            ).scalars()
            return [int(r) for r in rows]
