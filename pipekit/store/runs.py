"""Run log, group runs and the module lock (DESIGN 6.1, 6.5).

The lock is one atomic statement, ``UPDATE module SET running = true, ...
WHERE id = ? AND running = false``: of two concurrent runs exactly one sees a
row count of 1 (SQLite serialises writers with ``BEGIN IMMEDIATE``; PostgreSQL
re-checks the WHERE after the row lock). ``append_live`` commits each line, so
another process (``pipekit runs show --follow``, the UI) can read it while the
run goes.

The lock is a **lease**: the process carrying out the run names itself in
``lease_owner`` (host:pid:random) and keeps pushing ``lease_expires_at`` forward
(``heartbeat``). A lease that expired, or one whose process on this host is gone,
is recovered by the next run on any host (``recover_stale_locks``): the run that
held it ends ``error`` "interrupted" and is not retried. A queued run holds its
module's lock with no expiry (``lease_expires_at`` NULL) until a worker claims it
(``store.queue``), so a restart never takes a queued run's lock away.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection as SAConnection
from sqlalchemy import Row, func, select

from pipekit.errors import ModuleBusyError, NotFoundError
from pipekit.redact import redact
from pipekit.status import ACTIVE
from pipekit.store import schema
from pipekit.store.modules import require_module
from pipekit.store.repo import inserted_id
from pipekit.store.types import utcnow

if TYPE_CHECKING:
    from pipekit.store.store import Store

_r, _g, _mod, _grp = schema.run_log, schema.group_run, schema.module, schema.grp

FINISH_FIELDS = (
    "finished_at",
    "merge_strategy",
    "rows_read",
    "rows_inserted",
    "rows_deleted",
    "row_count",
    "error",
    "source_query",
    "merge_sql",
    "hook_sql",
    "check_sql",
    "watermarks_json",
    "schema_changes",
    "committed",
    "rows_replaced",
    "rows_cleared",
)
INTERRUPTED = "interrupted"
#: the counters a run knows once its merge committed
COMMIT_COUNTERS = ("rows_inserted", "rows_replaced", "rows_deleted", "rows_cleared", "row_count")


@dataclass(frozen=True)
class Run:
    """One row of ``run_log``."""

    id: int
    module_id: int | None
    module_name: str
    group_run_id: int | None
    triggered_by: str | None
    started_at: datetime
    finished_at: datetime | None
    status: str
    merge_strategy: str | None
    rows_read: int | None
    rows_inserted: int | None
    rows_deleted: int | None
    row_count: int | None
    error: str | None
    source_query: str | None
    merge_sql: str | None
    hook_sql: str | None
    check_sql: str | None
    watermarks_json: str | None
    schema_changes: str | None
    live_log: str | None
    cancel_requested: bool
    pid: int | None
    host: str | None
    #: the merge committed: the destination changed (None: recorded before this was kept)
    committed: bool | None
    #: see pipekit.run_counters (None: recorded before migration 5, or not known)
    rows_replaced: int | None
    rows_cleared: int | None
    dry_run: bool = False
    full_refresh: bool = False
    sessions_json: str | None = None

    @classmethod
    def from_row(cls, row: Row[Any]) -> Run:
        m = dict(row._mapping)
        for key in ("cancel_requested", "dry_run", "full_refresh"):
            m[key] = bool(m[key])
        if m["committed"] is not None:
            m["committed"] = bool(m["committed"])
        return cls(**{f.name: m[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class GroupRun:
    id: int
    group_id: int | None
    group_name: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    triggered_by: str | None
    error: str | None
    dry_run: bool = False

    @classmethod
    def from_row(cls, row: Row[Any]) -> GroupRun:
        m = dict(row._mapping)
        m["dry_run"] = bool(m["dry_run"])
        return cls(**{f.name: m[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class LockHolder:
    module: str
    run_id: int | None
    pid: int | None
    host: str | None
    locked_at: datetime | None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    #: the run's database sessions (``run_log.sessions_json``) when the lock was recovered
    sessions_json: str | None = None


@dataclass(frozen=True)
class Lease:
    """Who takes a module's lock: the process (``owner`` = host:pid:random) and until
    when it holds it without a heartbeat (None: a queued run, no expiry)."""

    owner: str | None
    expires_at: datetime | None

    @classmethod
    def for_(cls, owner: str, now: datetime, seconds: float) -> Lease:
        return cls(owner, now + timedelta(seconds=seconds))


_QUEUED_LEASE = Lease(None, None)


def _status(status: str) -> str:
    if status not in schema.RUN_STATUSES:
        raise ValueError(f"run status {status!r} is not one of {', '.join(schema.RUN_STATUSES)}")
    return status


class RunRepo:
    """Module runs, group runs and module locks."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # -- module runs -------------------------------------------------------

    def start(
        self,
        module: str,
        *,
        group_run_id: int | None = None,
        triggered_by: str,
        pid: int | None,
        host: str | None,
        merge_strategy: str | None = None,
    ) -> int:
        """Open a run of `module` with status ``running``; returns its id."""
        with self._store.write() as conn:
            mid = require_module(conn, module).id
            return _insert_run(conn, mid, module, group_run_id, triggered_by, pid, host,
                               merge_strategy)  # fmt: skip

    def begin(
        self,
        module: str,
        *,
        group_run_id: int | None = None,
        triggered_by: str,
        pid: int | None,
        host: str | None,
        merge_strategy: str | None = None,
        lease: Lease | None = None,
        queued: bool = False,
        dry_run: bool = False,
        full_refresh: bool = False,
    ) -> int:
        """Open a run of `module` and take its lock (a `lease`), in one transaction.

        If another run holds the lock nothing is written and ``ModuleBusyError``
        names that run, so a refused second run leaves no trace in the run log.
        A `queued` run is recorded ``queued`` and holds the lock with no expiry.
        """
        with self._store.write() as conn:
            mod = require_module(conn, module)
            run_id = _insert_run(
                conn, mod.id, module, group_run_id, triggered_by, pid, host, merge_strategy,
                status="queued" if queued else "running", dry_run=dry_run,
                full_refresh=full_refresh,
            )  # fmt: skip
            if queued:
                lease = _QUEUED_LEASE
            if not _lock(conn, mod.id, run_id, pid, host, lease):
                holder = conn.execute(select(_mod).where(_mod.c.id == mod.id)).one()
                where = f"pid {holder.locked_pid} on {holder.locked_host}"
                raise ModuleBusyError(
                    f"module '{module}' is already running (run {holder.locked_by_run_id}, "
                    f"{where}); wait for it to finish or stop it with "
                    f"`pipekit runs cancel {holder.locked_by_run_id}`",
                    run_id=holder.locked_by_run_id,
                )
            return run_id

    def adopt(self, run_id: int, pid: int, host: str, lease: Lease | None = None) -> None:
        """The process carrying out a run started elsewhere takes it over: the run and
        the lock it holds name this process (and its `lease`), so liveness checks look
        at the right pid and its heartbeats renew the lease."""
        with self._store.write() as conn:
            res = conn.execute(
                _r.update()
                .where(_r.c.id == run_id, _r.c.status == "running")
                .values(pid=pid, host=host)
            )
            if res.rowcount == 0:
                raise NotFoundError(f"no running run with id {run_id}")
            values: dict[str, Any] = {"locked_pid": pid, "locked_host": host}
            if lease is not None:
                values.update(lease_owner=lease.owner, lease_expires_at=lease.expires_at)
            conn.execute(_mod.update().where(_mod.c.locked_by_run_id == run_id).values(**values))

    def heartbeat(self, run_id: int, lease: Lease) -> bool:
        """Renew the lease `run_id` holds as `lease.owner` until `lease.expires_at`;
        False when it holds none any more (recovered elsewhere, or freed by hand)."""
        with self._store.write() as conn:
            res = conn.execute(
                _mod.update()
                .where(_mod.c.locked_by_run_id == run_id, _mod.c.lease_owner == lease.owner)
                .values(lease_expires_at=lease.expires_at)
            )
            return res.rowcount == 1

    def set_sessions(self, run_id: int, sessions_json: str) -> None:
        """Record the run's database sessions, to end them if its process is killed."""
        with self._store.write() as conn:
            conn.execute(_r.update().where(_r.c.id == run_id).values(sessions_json=sessions_json))

    def set_progress(self, run_id: int, **values: Any) -> None:
        """Update counters of a running run (rows_read so far, the strategy in use; at
        its commit, ``committed`` and the merge's counters, so a run killed later, in
        its hooks, still says its data landed)."""
        allowed = {"rows_read", "merge_strategy", "source_query", "committed", *COMMIT_COUNTERS}
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise TypeError(f"unknown progress field(s): {', '.join(unknown)}")
        values = _masked(values)
        with self._store.write() as conn:
            conn.execute(_r.update().where(_r.c.id == run_id).values(**values))

    def cancel_requested(self, run_id: int) -> bool:
        with self._store.read() as conn:
            value = conn.execute(select(_r.c.cancel_requested).where(_r.c.id == run_id)).scalar()
        return bool(value)

    def append_live(self, run_id: int, text: str) -> None:
        """Append a line to the run's live log, committed at once."""
        line = redact(text if text.endswith("\n") else text + "\n")
        with self._store.write() as conn:
            res = conn.execute(
                _r.update()
                .where(_r.c.id == run_id)
                .values(live_log=func.coalesce(_r.c.live_log, "") + line)
            )
            if res.rowcount == 0:
                raise NotFoundError(f"no run with id {run_id}")

    def finish(self, run_id: int, status: str, **values: Any) -> Run:
        """Close a run: `status` plus any of ``FINISH_FIELDS`` (finished_at defaults to now).

        A run already ended elsewhere (unlocked by hand, its lease recovered: ``error``
        "interrupted") keeps that ending — its status, error and finish time — since
        its process, when it stops, mostly sees a symptom (its sessions were ended);
        what the process knew (counters, SQL, ``committed``) is still recorded."""
        unknown = sorted(set(values) - set(FINISH_FIELDS))
        if unknown:
            raise TypeError(f"unknown run field(s): {', '.join(unknown)}")
        status = _status(status)
        values.setdefault("finished_at", utcnow())
        values = _masked(values)
        with self._store.write() as conn:
            current = conn.execute(select(_r.c.status).where(_r.c.id == run_id)).first()
            if current is None:
                raise NotFoundError(f"no run with id {run_id}")
            if current.status in ACTIVE:
                values["status"] = status
            else:
                values = {k: v for k, v in values.items() if k not in ("error", "finished_at")}
            if values:
                conn.execute(_r.update().where(_r.c.id == run_id).values(**values))
            return Run.from_row(conn.execute(select(_r).where(_r.c.id == run_id)).one())

    def request_cancel(self, run_id: int) -> bool:
        """Ask a running run (in any process) to stop; False if it is not running."""
        with self._store.write() as conn:
            res = conn.execute(
                _r.update()
                .where(_r.c.id == run_id, _r.c.status == "running")
                .values(cancel_requested=True)
            )
            return res.rowcount == 1

    def get(self, run_id: int) -> Run:
        with self._store.read() as conn:
            row = conn.execute(select(_r).where(_r.c.id == run_id)).first()
        if row is None:
            raise NotFoundError(f"no run with id {run_id}; see `pipekit runs list`")
        return Run.from_row(row)

    def list(
        self,
        module: str | None = None,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
        *,
        group_run_id: int | None = None,
        group: str | None = None,
        since: datetime | None = None,
    ) -> list[Run]:
        """Runs newest first, optionally only: of one module and of one group (by name,
        kept after removal), with one status, of one group run, started at or after
        `since` (an aware datetime; a naive one is taken as UTC)."""
        query = select(_r).order_by(_r.c.started_at.desc(), _r.c.id.desc())
        if module is not None:
            query = query.where(_r.c.module_name == module)
        if status is not None:
            query = query.where(_r.c.status == _status(status))
        if group_run_id is not None:
            query = query.where(_r.c.group_run_id == group_run_id)
        if group is not None:
            of_group = select(_g.c.id).where(_g.c.group_name == group)
            query = query.where(_r.c.group_run_id.in_(of_group))
        if since is not None:
            if since.tzinfo is None:
                since = since.replace(tzinfo=UTC)
            query = query.where(_r.c.started_at >= since.astimezone(UTC))
        with self._store.read() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).all()
        return [Run.from_row(r) for r in rows]

    def prune(self, before: datetime, *, dry_run: bool = False) -> tuple[int, int]:
        """Delete the runs that ended and started before `before` (aware), with their
        live logs, and the group runs that then have no run left and started before it;
        runs still going are kept. Returns (runs, group runs) deleted (or that would be,
        with `dry_run`), in one transaction."""
        before = before.astimezone(UTC)
        old_runs = (_r.c.started_at < before) & _r.c.status.not_in(ACTIVE)
        with self._store.write() as conn:
            runs = conn.execute(select(func.count()).select_from(_r).where(old_runs)).scalar_one()
            if not dry_run:
                conn.execute(_r.delete().where(old_runs))
            with_runs = select(_r.c.group_run_id).where(_r.c.group_run_id.is_not(None))
            if dry_run:  # the runs that would stay still point at their group runs
                with_runs = with_runs.where(~old_runs)
            old_groups = (
                (_g.c.started_at < before) & _g.c.status.not_in(ACTIVE) & _g.c.id.not_in(with_runs)
            )
            groups = conn.execute(
                select(func.count()).select_from(_g).where(old_groups)
            ).scalar_one()
            if not dry_run:
                conn.execute(_g.delete().where(old_groups))
        return int(runs), int(groups)

    # -- group runs --------------------------------------------------------

    def start_group(
        self, group: str, *, triggered_by: str, queued: bool = False, dry_run: bool = False
    ) -> int:
        from pipekit.store.groups import require_group

        with self._store.write() as conn:
            gid = require_group(conn, group).id
            res = conn.execute(
                _g.insert().values(
                    group_id=gid,
                    group_name=group,
                    started_at=utcnow(),
                    status="queued" if queued else "running",
                    triggered_by=triggered_by,
                    dry_run=dry_run,
                )
            )
            return inserted_id(res)

    def finish_group(self, group_run_id: int, status: str, *, error: str | None = None) -> GroupRun:
        with self._store.write() as conn:
            res = conn.execute(
                _g.update()
                .where(_g.c.id == group_run_id)
                .values(status=_status(status), error=_masked_text(error), finished_at=utcnow())
            )
            if res.rowcount == 0:
                raise NotFoundError(f"no group run with id {group_run_id}")
            return GroupRun.from_row(conn.execute(select(_g).where(_g.c.id == group_run_id)).one())

    def get_group(self, group_run_id: int) -> GroupRun:
        with self._store.read() as conn:
            row = conn.execute(select(_g).where(_g.c.id == group_run_id)).first()
        if row is None:
            raise NotFoundError(f"no group run with id {group_run_id}")
        return GroupRun.from_row(row)

    def list_group(
        self, group: str | None = None, limit: int = 50, offset: int = 0
    ) -> builtins.list[GroupRun]:
        query = select(_g).order_by(_g.c.started_at.desc(), _g.c.id.desc())
        if group is not None:
            query = query.where(_g.c.group_name == group)
        with self._store.read() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).all()
        return [GroupRun.from_row(r) for r in rows]

    # -- module lock -------------------------------------------------------

    def try_lock(
        self,
        module: str,
        run_id: int,
        pid: int | None,
        host: str | None,
        lease: Lease | None = None,
    ) -> bool:
        """Take `module`'s lock for `run_id`; False if another run holds it."""
        with self._store.write() as conn:
            return _lock(conn, require_module(conn, module).id, run_id, pid, host, lease)

    def unlock(self, module: str, run_id: int) -> bool:
        """Release the lock if `run_id` holds it; False otherwise (nothing changes)."""
        with self._store.write() as conn:
            mid = require_module(conn, module).id
            res = conn.execute(
                _mod.update()
                .where(_mod.c.id == mid, _mod.c.running == True)  # noqa: E712
                .where(_mod.c.locked_by_run_id == run_id)
                .values(**_UNLOCKED)
            )
            return res.rowcount == 1

    def lock_holder(self, module: str) -> LockHolder | None:
        """Who holds `module`'s lock, or None when it is free."""
        with self._store.read() as conn:
            row = require_module(conn, module)
        if not row.running:
            return None
        return _holder(row)

    def recover_stale_locks(
        self,
        is_alive: Callable[[int | None, str | None], bool],
        now: datetime | None = None,
    ) -> builtins.list[LockHolder]:
        """Free stale locks; their runs become ``error`` "interrupted" (never retried).

        A lock is stale when its lease expired before `now`, or when `is_alive(pid,
        host)` says its process is gone (a lock on another host should count as alive
        unless the caller knows better: its lease tells). A lock held by a queued run
        is never stale. Returns the locks freed, with the sessions of their runs.
        """
        now = now or utcnow()
        queued_runs = select(_r.c.id).where(_r.c.status == "queued")
        with self._store.read() as conn:
            held = conn.execute(
                select(_mod, _r.c.sessions_json)
                .outerjoin(_r, _r.c.id == _mod.c.locked_by_run_id)
                .where(_mod.c.running == True)  # noqa: E712
                .where(
                    _mod.c.locked_by_run_id.is_(None) | _mod.c.locked_by_run_id.not_in(queued_runs)
                )
            ).all()
        freed: list[LockHolder] = []
        for row in held:
            expired = row.lease_expires_at is not None and _aware(row.lease_expires_at) < now
            if not expired and is_alive(row.locked_pid, row.locked_host):
                continue
            with self._store.write() as conn:
                res = conn.execute(
                    _mod.update()
                    .where(_mod.c.id == row.id, _mod.c.running == True)  # noqa: E712
                    .where(_mod.c.locked_by_run_id == row.locked_by_run_id)
                    .values(**_UNLOCKED)
                )
                if res.rowcount != 1:
                    continue  # released or re-taken meanwhile
                if row.locked_by_run_id is not None:
                    conn.execute(
                        _r.update()
                        .where(_r.c.id == row.locked_by_run_id, _r.c.status == "running")
                        .values(status="error", error=INTERRUPTED, finished_at=utcnow())
                    )
            freed.append(_holder(row, row.sessions_json))
        return freed

    def force_unlock(self, module: str, *, by: str) -> LockHolder | None:
        """Free `module`'s lock whoever holds it (``pipekit modules unlock``); None when
        it is not locked. A queued run holding it ends ``cancelled`` (it leaves the
        queue); a running one is asked to stop and ends ``error`` "interrupted: …",
        so the process still carrying it out (if any) finds its lease gone."""
        from pipekit.store.queue import _q

        with self._store.write() as conn:
            row = conn.execute(
                select(_mod, _r.c.sessions_json, _r.c.status.label("run_status"))
                .outerjoin(_r, _r.c.id == _mod.c.locked_by_run_id)
                .where(_mod.c.id == require_module(conn, module).id)
            ).one()
            if not row.running:
                return None
            conn.execute(_mod.update().where(_mod.c.id == row.id).values(**_UNLOCKED))
            run_id = row.locked_by_run_id
            if run_id is not None and row.run_status == "queued":
                conn.execute(_q.delete().where(_q.c.run_id == run_id))
                conn.execute(
                    _r.update()
                    .where(_r.c.id == run_id)
                    .values(status="cancelled", error=f"cancelled: unlocked by {by}",
                            finished_at=utcnow())
                )  # fmt: skip
            elif run_id is not None and row.run_status == "running":
                conn.execute(
                    _r.update()
                    .where(_r.c.id == run_id)
                    .values(status="error", error=f"{INTERRUPTED}: module unlocked by {by}",
                            finished_at=utcnow(), cancel_requested=True)
                )  # fmt: skip
        return _holder(row, row.sessions_json)


def _holder(row: Row[Any], sessions_json: str | None = None) -> LockHolder:
    return LockHolder(
        row.name,
        row.locked_by_run_id,
        row.locked_pid,
        row.locked_host,
        row.locked_at,
        row.lease_owner,
        row.lease_expires_at,
        sessions_json,
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _masked_text(value: str | None) -> str | None:
    return redact(value) if value else value


def _masked(values: dict[str, Any]) -> dict[str, Any]:
    """Run fields with every secret value masked (``pipekit.redact``): a source query,
    an error or a watermark may carry one (a resolver that selected it, say)."""
    return {k: _masked_text(v) if isinstance(v, str) else v for k, v in values.items()}


def _insert_run(
    conn: SAConnection,
    module_id: int,
    module: str,
    group_run_id: int | None,
    triggered_by: str,
    pid: int | None,
    host: str | None,
    merge_strategy: str | None,
    *,
    status: str = "running",
    dry_run: bool = False,
    full_refresh: bool = False,
) -> int:
    res = conn.execute(
        _r.insert().values(
            module_id=module_id,
            module_name=module,
            group_run_id=group_run_id,
            triggered_by=triggered_by,
            started_at=utcnow(),
            status=status,
            merge_strategy=merge_strategy,
            pid=pid,
            host=host,
            dry_run=dry_run,
            full_refresh=full_refresh,
        )
    )
    return inserted_id(res)


def _lock(
    conn: SAConnection,
    module_id: int,
    run_id: int,
    pid: int | None,
    host: str | None,
    lease: Lease | None = None,
) -> bool:
    """The atomic lock statement; True if this call took the lock."""
    lease = lease or _QUEUED_LEASE
    res = conn.execute(
        _mod.update()
        .where(_mod.c.id == module_id, _mod.c.running == False)  # noqa: E712
        .values(running=True, locked_by_run_id=run_id, locked_pid=pid, locked_host=host,
                locked_at=utcnow(), lease_owner=lease.owner,
                lease_expires_at=lease.expires_at)
    )  # fmt: skip
    return res.rowcount == 1


_UNLOCKED: dict[str, Any] = {
    "running": False,
    "locked_by_run_id": None,
    "locked_pid": None,
    "locked_host": None,
    "locked_at": None,
    "lease_owner": None,
    "lease_expires_at": None,
}
