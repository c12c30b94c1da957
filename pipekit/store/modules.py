"""Modules: one source query synced into one destination table, and their history.

Every change to a module (its own fields, and its watermarks, hooks and checks,
see ``pipekit.store.module_parts``) is written to ``module_history`` in the same
transaction, as a JSON diff ``{"field": [old, new], ...}`` with who and when.
Connections appear in diffs by *name* (``source``, ``dest``). The lock fields
and ``watermark.last_value`` are run state, not configuration: they change on
every run and are not recorded (the run log keeps them).
"""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection as SAConnection
from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError

from pipekit.errors import (
    ModuleSpecError,
    NotFoundError,
)
from pipekit.module_settings import BOOLS, DEFAULTS, NAMES, ModuleIdentity, ModuleSettings
from pipekit.store import schema
from pipekit.store.repo import UNSET, AlreadyExistsError, InUseError, check_name
from pipekit.store.types import utcnow

if TYPE_CHECKING:
    from pipekit.store.store import Store

_t = schema.module
_c = schema.connection
_h = schema.module_history


@dataclass(frozen=True, kw_only=True)
class Module(ModuleSettings, ModuleIdentity):
    """One row of ``module``: its settings (declared in ``pipekit.module_settings``),
    with the connection names, plus its identity and run state."""

    source_connection_id: int | None
    dest_connection_id: int | None
    running: bool
    locked_by_run_id: int | None
    locked_pid: int | None
    locked_host: str | None
    locked_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Row[Any]) -> Module:
        m = dict(row._mapping)
        for key in (*BOOLS, "running"):
            m[key] = bool(m[key])
        return cls(**{name: m[name] for name in _field_names(cls)})


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    # dataclasses.fields() per row was a third of listing 1,000 modules
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


@dataclass(frozen=True)
class HistoryEntry:
    """One row of ``module_history``; `diff` maps field -> [old, new]."""

    id: int
    module_id: int
    changed_at: datetime
    changed_by: str | None
    diff: dict[str, list[Any]]


# Configuration fields, as given to add()/update() and named in history diffs.
CONFIG_FIELDS = ("name", *NAMES)
_BOOLS = BOOLS
_DEFAULTS: dict[str, Any] = DEFAULTS


def select_modules() -> Any:
    """``SELECT module.*, source.name AS source, dest.name AS dest``."""
    src, dst = _c.alias("src"), _c.alias("dst")
    return (
        select(_t, src.c.name.label("source"), dst.c.name.label("dest"))
        .outerjoin(src, src.c.id == _t.c.source_connection_id)
        .outerjoin(dst, dst.c.id == _t.c.dest_connection_id)
    )


def find_module(conn: SAConnection, name: str) -> Row[Any] | None:
    return conn.execute(select_modules().where(_t.c.name == name)).first()


def require_module(conn: SAConnection, name: str) -> Row[Any]:
    """The module row called `name`, or NotFoundError listing known modules."""
    row = find_module(conn, name)
    if row is None:
        known = conn.execute(select(_t.c.name).order_by(_t.c.name).limit(20)).scalars().all()
        hint = f"known: {', '.join(known)}" if known else "none are defined yet"
        raise NotFoundError(
            f"no module named '{name}' ({hint}); add one with `pipekit modules add`"
        )
    return row


def connection_id(conn: SAConnection, name: str | None, role: str) -> int | None:
    """The id of connection `name` (None stays None); NotFoundError naming it."""
    if name is None:
        return None
    cid: int | None = conn.execute(select(_c.c.id).where(_c.c.name == name)).scalar()
    if cid is None:
        known = conn.execute(select(_c.c.name).order_by(_c.c.name).limit(20)).scalars().all()
        hint = f"known: {', '.join(known)}" if known else "none are defined yet"
        raise NotFoundError(
            f"{role} connection '{name}' does not exist ({hint}); "
            "add it with `pipekit connections add`"
        )
    return cid


def record_history(
    conn: SAConnection, module_id: int, diff: dict[str, list[Any]], changed_by: str
) -> None:
    """Append one history entry (nothing when the diff is empty)."""
    if diff:
        conn.execute(
            _h.insert().values(
                module_id=module_id,
                changed_at=utcnow(),
                changed_by=changed_by,
                diff_json=json.dumps(diff, sort_keys=True, default=str),
            )
        )


def _check_fields(values: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise the given config fields (only those present)."""
    from pipekit.store.schedules import check_cron

    out = dict(values)
    if "name" in out:
        check_name("module", out["name"], ModuleSpecError)
    strategy = out.get("merge_strategy")
    if "merge_strategy" in out and strategy not in schema.MERGE_STRATEGIES:
        raise ModuleSpecError(
            f"merge_strategy {strategy!r} is not one of {', '.join(schema.MERGE_STRATEGIES)}"
        )
    op = out.get("watermark_op")
    if "watermark_op" in out and op not in schema.WATERMARK_OPS:
        raise ModuleSpecError(f"watermark_op {op!r} is not one of '>', '>='")
    if out.get("full_refresh_cron") is not None:
        check_cron(out["full_refresh_cron"], "full_refresh_cron", ModuleSpecError)
    for key in _BOOLS:
        if key in out:
            out[key] = bool(out[key])
    for key, value in out.items():
        if key not in _BOOLS and value == "":
            out[key] = None  # empty text means "not set"
    return out


def _duplicate(name: str) -> AlreadyExistsError:
    return AlreadyExistsError(
        f"a module named '{name}' already exists; pick another name, "
        f"or change it with `pipekit modules edit {name}`"
    )


class ModuleRepo:
    """CRUD for modules, by name, with every change recorded in module_history."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(
        self,
        name: str,
        *,
        source: str | None = None,
        dest: str | None = None,
        changed_by: str = "cli",
        **config: Any,
    ) -> Module:
        """Create a module; `config` takes any of ``CONFIG_FIELDS``.

        AlreadyExistsError if the name is taken, NotFoundError naming a missing
        connection, ModuleSpecError for a bad name, strategy, operator or cron.
        """
        _refuse_unknown(config)
        given = {**_DEFAULTS, **config, "name": name, "source": source, "dest": dest}
        values = _check_fields(given)
        now = utcnow()
        try:
            with self._store.write() as conn:
                if find_module(conn, name) is not None:
                    raise _duplicate(name)
                row_values = {k: v for k, v in values.items() if k not in ("source", "dest")}
                row_values["source_connection_id"] = connection_id(conn, values["source"], "source")
                row_values["dest_connection_id"] = connection_id(
                    conn, values["dest"], "destination"
                )
                conn.execute(_t.insert().values(**row_values, created_at=now, updated_at=now))
                row = require_module(conn, name)
                diff = {k: [None, v] for k, v in values.items() if v is not None}
                record_history(conn, row.id, diff, changed_by)
        except IntegrityError:
            raise _duplicate(name) from None
        return Module.from_row(row)

    def get(self, name: str) -> Module:
        """The module called `name`; NotFoundError (listing known names) if none."""
        with self._store.read() as conn:
            return Module.from_row(require_module(conn, name))

    def exists(self, name: str) -> bool:
        """Whether a module called `name` exists (one index probe)."""
        with self._store.read() as conn:
            return find_module(conn, name) is not None

    def get_by_id(self, module_id: int) -> Module:
        with self._store.read() as conn:
            row = conn.execute(select_modules().where(_t.c.id == module_id)).first()
        if row is None:
            raise NotFoundError(f"no module with id {module_id}")
        return Module.from_row(row)

    def list(self, enabled: bool | None = None) -> list[Module]:
        """All modules by name; only enabled (True) or disabled (False) ones if given."""
        query = select_modules().order_by(_t.c.name)
        if enabled is not None:
            query = query.where(_t.c.enabled == enabled)
        with self._store.read() as conn:
            return [Module.from_row(r) for r in conn.execute(query).all()]

    def update(self, name: str, *, changed_by: str = "cli", **changes: Any) -> Module:
        """Change the given fields (UNSET or omitted = unchanged; None = clear).

        ``new_name=`` renames. Records the fields that really changed; a call
        that changes nothing records nothing.
        """
        if "new_name" in changes:
            changes["name"] = changes.pop("new_name")
        _refuse_unknown(changes)
        values = _check_fields({k: v for k, v in changes.items() if v is not UNSET})
        target = values.get("name", name)
        try:
            with self._store.write() as conn:
                old = require_module(conn, name)
                diff = {k: [old._mapping[k], v] for k, v in values.items() if old._mapping[k] != v}
                if not diff:
                    return Module.from_row(old)
                if "name" in diff and find_module(conn, target) is not None:
                    raise _duplicate(target)
                row_values = {k: v for k, v in values.items() if k in diff}
                if "source" in row_values:
                    src = row_values.pop("source")
                    row_values["source_connection_id"] = connection_id(conn, src, "source")
                if "dest" in row_values:
                    dst = row_values.pop("dest")
                    row_values["dest_connection_id"] = connection_id(conn, dst, "destination")
                conn.execute(
                    _t.update().where(_t.c.id == old.id).values(**row_values, updated_at=utcnow())
                )
                record_history(conn, old.id, diff, changed_by)
                row = require_module(conn, target)
        except IntegrityError:
            raise _duplicate(target) from None
        return Module.from_row(row)

    def set_enabled(self, name: str, enabled: bool, *, changed_by: str = "cli") -> Module:
        return self.update(name, enabled=enabled, changed_by=changed_by)

    def remove(self, name: str) -> None:
        """Delete a module with its watermarks, hooks, checks, memberships and history.

        Its run log stays (with the name). InUseError while it is running.
        """
        with self._store.write() as conn:
            row = require_module(conn, name)
            if row.running:
                raise InUseError(
                    f"module '{name}' is running (run {row.locked_by_run_id}); "
                    "wait for it or cancel it first"
                )
            conn.execute(_t.delete().where(_t.c.id == row.id))

    def history(self, name: str, *, limit: int | None = None) -> builtins.list[HistoryEntry]:
        """The module's recorded changes, newest first."""
        with self._store.read() as conn:
            row = require_module(conn, name)
            query = (
                select(_h)
                .where(_h.c.module_id == row.id)
                .order_by(_h.c.changed_at.desc(), _h.c.id.desc())
                .limit(limit)
            )
            rows = conn.execute(query).all()
        return [
            HistoryEntry(
                id=r.id,
                module_id=r.module_id,
                changed_at=r.changed_at,
                changed_by=r.changed_by,
                diff=json.loads(r.diff_json),
            )
            for r in rows
        ]


def _refuse_unknown(given: dict[str, Any]) -> None:
    unknown = sorted(set(given) - set(CONFIG_FIELDS))
    if unknown:
        raise TypeError(
            f"unknown module field(s): {', '.join(unknown)}; known: {', '.join(CONFIG_FIELDS)}"
        )
