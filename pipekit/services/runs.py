"""Runs: start a module or group run, cancel one, list and show runs and group runs,
read and follow a run's live log.

Where a run goes depends on the face:

- the server has a run pool (``sv.pool``): ``start`` / ``start_group`` open the run,
  take the module's lock and answer its id at once; a child process carries it out;
- the CLI has none: ``run`` / ``run_group`` carry the run out in this process,
  through the engine, with a cancel ``Event`` (Ctrl-C) and an ``on_event`` callback
  (the progress bar), and answer the finished run.

``follow`` yields a run's live log line by line as it grows and, once the run has
ended, the finished run; ``LogFollower`` is the same, a step at a time, for callers
that wait their own way (the API's Server-Sent Events wait with asyncio).

This module is on the path of `pipekit run`, whose start-up is benchmarked: it
imports neither the engine nor pydantic; the engine is imported only to run.
"""

from __future__ import annotations

import builtins
import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pipekit.errors import InvalidError, NotFoundError, NotRunningError, UnavailableError
from pipekit.services.lookup import as_id, find, not_found
from pipekit.status import ACTIVE, RUN_STATUSES

if TYPE_CHECKING:
    import threading

    from pipekit.engine.run import RunEvent
    from pipekit.services import Services

#: how often ``follow`` looks at the run log (seconds)
FOLLOW_POLL_S = 0.3
#: the most member runs a group run's detail lists
GROUP_MEMBERS_MAX = 1000

MODULE_FIX = "see `pipekit modules list`"
GROUP_FIX = "see `pipekit groups list`"
NO_POOL = (
    "this server runs no run pool, so it cannot start runs; run `pipekit serve` "
    "(or run in this process: `pipekit run MODULE`)"
)


# -- views ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RunView:
    """One run of the run log, without its live log."""

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
    cancel_requested: bool
    pid: int | None
    host: str | None
    #: the merge committed, so the destination changed — also on an ``error`` run whose
    #: hook failed after the commit (None: recorded before Pipekit kept this)
    committed: bool | None
    #: the counters' words and meanings: pipekit.run_counters
    rows_replaced: int | None
    rows_cleared: int | None


@dataclass(frozen=True)
class RunDetailView(RunView):
    """One run with its whole live log."""

    live_log: str | None


@dataclass(frozen=True)
class GroupRunView:
    id: int
    group_id: int | None
    group_name: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    triggered_by: str | None
    error: str | None


@dataclass(frozen=True)
class GroupRunDetailView(GroupRunView):
    """A group run with its member runs, in run order."""

    runs: list[RunView]


@dataclass(frozen=True)
class LiveView:
    """The live log after character `after`: poll again from `offset`."""

    run_id: int
    text: str
    offset: int
    status: str
    finished: bool


@dataclass(frozen=True)
class CancelView:
    run_id: int
    cancel_requested: bool


@dataclass(frozen=True)
class RunStartedView:
    run_id: int


@dataclass(frozen=True)
class GroupRunStartedView:
    group_run_id: int


@dataclass(frozen=True)
class GroupRunOutcome:
    """A group run carried out in this process: the finished group run with its runs,
    and the members that could not start (already running), as messages."""

    group_run: GroupRunDetailView
    refused: list[str]


def _view(cls: type[Any], row: Any, **extra: Any) -> Any:
    names = [f.name for f in dataclasses.fields(cls) if f.name not in extra]
    return cls(**{n: getattr(row, n) for n in names}, **extra)


def run_view(run: Any) -> RunView:
    """A run-log row (``pipekit.store.runs.Run``) as a ``RunView``."""
    return _view(RunView, run)  # type: ignore[no-any-return]


def group_run_view(group_run: Any) -> GroupRunView:
    return _view(GroupRunView, group_run)  # type: ignore[no-any-return]


def preload_engine() -> None:
    """Import the engine now: `pipekit run` does so before its start-up ends, so the
    start-up's frozen heap (``pipekit.cli._startup``) covers the engine's modules too."""
    import pipekit.engine.run  # noqa: F401


# -- checking what the faces pass ------------------------------------------------------


def check_status(status: str | None) -> str | None:
    """`status` if it is a run status; InvalidError (path ``status``) naming them all."""
    if status is None or status in RUN_STATUSES:
        return status
    raise InvalidError(
        f"'{status}' is not a run status; use one of {', '.join(RUN_STATUSES)}", path="status"
    )


def parse_since(since: datetime | str | None) -> datetime | None:
    """`since` as an aware datetime (naive means UTC); InvalidError (path ``since``)."""
    if since is None or isinstance(since, datetime):
        value = since
    else:
        try:
            value = datetime.fromisoformat(since.strip())
        except ValueError:
            raise InvalidError(
                f"'{since}' is not a date and time; use ISO 8601, e.g. 2026-01-31 or "
                "2026-01-31T08:00:00Z",
                path="since",
            ) from None
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _check_page(limit: int, offset: int) -> None:
    if limit < 1:
        raise InvalidError(f"limit {limit} is too small; ask for 1 or more", path="limit")
    if offset < 0:
        raise InvalidError(f"offset {offset} is negative; start at 0", path="offset")


# -- the service ---------------------------------------------------------------------


@dataclass(frozen=True)
class PruneView:
    """What `runs prune` deleted (or, in a dry run, would delete)."""

    before: datetime
    runs: int
    group_runs: int
    dry_run: bool


_AGE_UNITS = {"d": 86400, "h": 3600, "w": 7 * 86400}


def parse_age(text: str, *, path: str = "older_than") -> float:
    """``"90d"``, ``"12h"``, ``"2w"`` in seconds; InvalidError saying the form otherwise."""
    value = text.strip().lower()
    number, unit = value[:-1], value[-1:]
    if unit not in _AGE_UNITS or not number.isdecimal() or not number.isascii() or int(number) < 1:
        raise InvalidError(
            f"{text!r} is not an age; write a whole number of days, hours or weeks, "
            "e.g. 90d, 12h or 2w",
            path=path,
        )
    return int(number) * _AGE_UNITS[unit]


class RunService:
    """Module runs and group runs, for every face."""

    def __init__(self, sv: Services) -> None:
        self._sv = sv
        self._repo = sv.store.runs

    # -- lookups --------------------------------------------------------------------

    def resolve_module(self, key: str | int) -> str:
        """The name of the module `key` (an id or a name) stands for; NotFoundError with
        "did you mean" otherwise."""
        modules = self._sv.store.modules
        number = as_id(key)
        try:
            return (
                modules.get_by_id(number).name if number is not None else modules.get(str(key)).name
            )
        except NotFoundError:
            raise self._missing_module(key) from None

    def _missing_module(self, key: str | int) -> NotFoundError:
        known = [m.name for m in self._sv.store.modules.list()]
        return not_found("module", key, known, MODULE_FIX)

    def resolve_group(self, key: str | int) -> str:
        """The name of the group `key` (an id or a name) stands for; NotFoundError with
        "did you mean" otherwise."""
        groups = self._sv.store.groups
        if as_id(key) is not None:
            return find(groups.list(), key, "group", GROUP_FIX).name
        try:
            return groups.get(str(key)).name
        except NotFoundError:
            known = [g.name for g in groups.list()]
            raise not_found("group", key, known, GROUP_FIX) from None

    # -- starting runs --------------------------------------------------------------

    def _pool(self) -> Any:
        if self._sv.pool is None:
            raise UnavailableError(NO_POOL)
        return self._sv.pool

    def start(
        self, key: str | int, *, dry_run: bool = False, full_refresh: bool = False
    ) -> RunStartedView:
        """Start a run of module `key` in the server's run pool and answer its id at once.

        NotFoundError, ModuleBusyError (with the running run's id) while the module
        runs, UnavailableError when there is no run pool (the CLI: use ``run``).
        """
        pool = self._pool()
        name = self.resolve_module(key)
        run_id = pool.submit_module(
            name, triggered_by=self._sv.actor, dry_run=dry_run, full_refresh=full_refresh
        )
        return RunStartedView(run_id=run_id)

    def start_group(
        self, key: str | int, *, dry_run: bool = False, full_refresh: bool = False
    ) -> GroupRunStartedView:
        """Start a run of group `key` in the server's run pool; answers its id at once."""
        pool = self._pool()
        name = self.resolve_group(key)
        if full_refresh:
            raise InvalidError(
                "the server runs groups without --full-refresh; run the group with "
                "`pipekit run-group GROUP --full-refresh`, or refresh its modules one by one",
                path="full_refresh",
            )
        gid = pool.submit_group(name, triggered_by=self._sv.actor, dry_run=dry_run)
        return GroupRunStartedView(group_run_id=gid)

    def run(
        self,
        key: str | int,
        *,
        dry_run: bool = False,
        full_refresh: bool = False,
        cancel: threading.Event | None = None,
        on_event: Callable[[RunEvent], None] | None = None,
    ) -> RunView:
        """Run module `key` in this process until it ends; answers the finished run.

        Setting `cancel` stops it (it ends ``cancelled``, the destination as it was);
        `on_event` gets every live-log line and the row count. ModuleBusyError while
        another run holds the module; any other failure is in the answered run.
        """
        # A name goes straight to the engine (one lookup fewer on the path of
        # `pipekit run`); the engine refuses an unknown name before anything starts.
        name = str(key) if as_id(key) is None else self.resolve_module(key)
        try:
            finished = self._sv.engine.run_module(
                name,
                dry_run=dry_run,
                full_refresh=full_refresh,
                triggered_by=self._sv.actor,
                cancel=cancel,
                on_event=on_event,
            )
        except NotFoundError:
            if name in {m.name for m in self._sv.store.modules.list()}:
                raise
            raise self._missing_module(key) from None
        if self._sv.notifications.for_cli:
            self._sv.notifications.run_ended(run_id=finished.id)
        return run_view(finished)

    def run_group(
        self,
        key: str | int,
        *,
        dry_run: bool = False,
        full_refresh: bool = False,
        cancel: threading.Event | None = None,
        on_event: Callable[[RunEvent], None] | None = None,
    ) -> GroupRunOutcome:
        """Run group `key`'s enabled modules in order, in this process; failures do not
        stop the rest, a cancel does. Answers the finished group run with its runs."""
        from pipekit.engine.run import run_group

        name = self.resolve_group(key)
        result = run_group(
            self._sv.engine,
            name,
            dry_run=dry_run,
            full_refresh=full_refresh,
            triggered_by=self._sv.actor,
            cancel=cancel,
            on_event=on_event,
        )
        if self._sv.notifications.for_cli:
            self._sv.notifications.run_ended(group_run_id=result.group_run.id)
        detail = _view(
            GroupRunDetailView, result.group_run, runs=[run_view(r) for r in result.runs]
        )
        return GroupRunOutcome(group_run=detail, refused=list(result.refused))

    # -- stopping a run -------------------------------------------------------------

    def prune(
        self, older_than: str, *, dry_run: bool = False, now: datetime | None = None
    ) -> PruneView:
        """Delete the run log's runs and group runs that ended and started more than
        `older_than` (``90d``, ``12h``, ``2w``) ago; runs still going stay."""
        from datetime import timedelta

        before = (now or datetime.now(UTC)) - timedelta(seconds=parse_age(older_than))
        runs, groups = self._sv.store.runs.prune(before, dry_run=dry_run)
        return PruneView(before=before, runs=runs, group_runs=groups, dry_run=dry_run)

    def cancel(self, run_id: int) -> CancelView:
        """Ask run `run_id` (in any process) to stop; it rolls back and ends ``cancelled``.

        NotFoundError for no such run, NotRunningError when it is not running.
        """
        run = self._repo.get(run_id)
        if run.status in ACTIVE:
            pool = self._sv.pool
            # The pool also ends a run still queued in it; elsewhere the flag does it.
            if pool.cancel(run_id) if pool is not None else self._cancel_here(run_id):
                return CancelView(run_id=run_id, cancel_requested=True)
            run = self._repo.get(run_id)  # it ended meanwhile
        raise NotRunningError(
            f"run {run_id} is not running (it is {run.status}); nothing to cancel"
        )

    # -- the run log ----------------------------------------------------------------

    def list(
        self,
        module: str | None = None,
        group: str | None = None,
        status: str | None = None,
        since: datetime | str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[RunView]:
        """Runs newest first. `module` and `group` are names (runs of removed ones too);
        `since`: started at or after (ISO 8601 text or a datetime; naive means UTC)."""
        status = check_status(status)
        when = parse_since(since)
        _check_page(limit, offset)
        rows = self._repo.list(
            module=module, status=status, limit=limit, offset=offset, group=group, since=when
        )
        return [run_view(r) for r in rows]

    def page(
        self,
        module: str | None = None,
        group: str | None = None,
        status: str | None = None,
        since: datetime | str | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> builtins.list[RunView]:
        """``list``, a page at a time by keyset: `before` is the last run id of the
        previous page (None: the first page). Same order and filters as ``list``, and
        page 1,000 costs what page 1 does."""
        from pipekit.store.run_queries import RunQueries

        status = check_status(status)
        when = parse_since(since)
        _check_page(limit, 0)
        rows = RunQueries(self._sv.store).page(
            module=module, group=group, status=status, since=when, before=before, limit=limit
        )
        return [run_view(r) for r in rows]

    def after(
        self, run_id: int, *, also: Sequence[int] = (), limit: int = 200
    ) -> builtins.list[RunView]:
        """Runs whose id is above `run_id`, by id (at most `limit`), then the runs `also`
        names (ones a follower saw running, to look at again): for readers that follow
        the run log with a cursor, such as the Dagster sensor. Ids of no run are left out."""
        from pipekit.store.run_queries import RunQueries

        if run_id < 0:
            raise InvalidError(f"run id {run_id} is negative; start at 0", path="after")
        _check_page(limit, 0)
        rows = RunQueries(self._sv.store).after(run_id, also=also, limit=limit)
        return [run_view(r) for r in rows]

    def show(self, run_id: int) -> RunDetailView:
        """One run with its SQL, counts, error and whole live log; NotFoundError."""
        return _view(RunDetailView, self._repo.get(run_id))  # type: ignore[no-any-return]

    def live(self, run_id: int, after: int = 0) -> LiveView:
        """The live log after character `after`; poll again with the returned offset."""
        if after < 0:
            raise InvalidError(f"after {after} is negative; start at 0", path="after")
        run = self._repo.get(run_id)
        log = run.live_log or ""
        return LiveView(
            run_id=run_id,
            text=log[after:],
            offset=max(len(log), after),
            status=run.status,
            finished=run.status not in ACTIVE,
        )

    def _cancel_here(self, run_id: int) -> bool:
        """Without a run pool (the CLI): a queued run leaves the queue, a running one
        gets the cancel flag its process polls."""
        store = self._sv.store
        return store.queue.cancel_run(run_id, "cancelled before it started") or (
            self._repo.request_cancel(run_id)
        )

    def follower(self, run_id: int) -> LogFollower:
        """A ``LogFollower`` of run `run_id` (NotFoundError now if there is no such run)."""
        self._repo.get(run_id)
        return LogFollower(self, run_id)

    def follow(
        self,
        run_id: int,
        *,
        poll_s: float = FOLLOW_POLL_S,
        sleep: Callable[[float], object] = time.sleep,
    ) -> Iterator[str | RunView]:
        """Run `run_id`'s live log, line by line as it grows, then the finished run (a
        ``RunView``, last). A finished run gives its whole log and itself at once.
        NotFoundError is raised here, before the first line."""
        return _follow(self.follower(run_id), poll_s, sleep)

    # -- group runs -----------------------------------------------------------------

    def list_group_runs(
        self, group: str | None = None, limit: int = 50, offset: int = 0
    ) -> builtins.list[GroupRunView]:
        """Group runs newest first; `group` is a name (runs of removed groups too)."""
        _check_page(limit, offset)
        return [group_run_view(g) for g in self._repo.list_group(group, limit=limit, offset=offset)]

    def show_group_run(self, group_run_id: int) -> GroupRunDetailView:
        """A group run with its member runs in run order; NotFoundError."""
        gr = self._repo.get_group(group_run_id)
        members = self._repo.list(group_run_id=group_run_id, limit=GROUP_MEMBERS_MAX)
        return _view(  # type: ignore[no-any-return]
            GroupRunDetailView, gr, runs=[run_view(r) for r in reversed(members)]
        )


class LogFollower:
    """Reads one run's live log a step at a time.

    Each ``step()`` answers the whole lines written since the last step and, once the
    run has ended, the finished run (then the last partial line, if any, too).
    """

    def __init__(self, runs: RunService, run_id: int) -> None:
        self._repo = runs._repo
        self.run_id = run_id
        self._offset = 0
        self._pending = ""

    def step(self) -> tuple[Sequence[str], RunView | None]:
        run = self._repo.get(self.run_id)
        log = run.live_log or ""
        self._pending += log[self._offset :]
        self._offset = len(log)
        *lines, self._pending = self._pending.split("\n")
        if run.status in ACTIVE:
            return lines, None
        if self._pending:
            lines.append(self._pending)
            self._pending = ""
        return lines, run_view(run)


def _follow(
    follower: LogFollower, poll_s: float, sleep: Callable[[float], object]
) -> Iterator[str | RunView]:
    while True:
        lines, finished = follower.step()
        yield from lines
        if finished is not None:
            yield finished
            return
        sleep(poll_s)
