"""Where the state database is and how to talk to it (SQLAlchemy engines).

SQLite is the default: a file, opened with WAL journaling (readers never block
the writer), ``foreign_keys=ON`` (SQLite ignores foreign keys otherwise) and a
busy timeout on every connection. Pipekit issues ``BEGIN`` itself, because the
stdlib driver otherwise runs DDL outside any transaction, which would make a
migration half-applied on failure; writes use ``BEGIN IMMEDIATE`` so two
writers queue on the busy timeout instead of failing on a lock upgrade.

PostgreSQL (``database: postgresql://user@host/db``) runs the same schema
through psycopg 3, for several workers sharing one state.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError

from pipekit.config import Config
from pipekit.errors import StoreError

BUSY_TIMEOUT_MS = 30_000
WRITE_OPTION = "pipekit_write"  # execution option: open the transaction for writing

_PG_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


@dataclass(frozen=True)
class Target:
    """A resolved state database location."""

    url: URL
    path: Path | None  # the SQLite file; None on PostgreSQL

    @property
    def dialect(self) -> str:
        return "sqlite" if self.path is not None else "postgresql"

    def display(self) -> str:
        """Where the database is, safe to print (no password)."""
        if self.path is not None:
            return str(self.path)
        shown = self.url.set(drivername="postgresql")
        return shown.render_as_string(hide_password=True)


def resolve_target(target: Config | str | Path) -> Target:
    """Turn a config, a SQLite path or a database URL into a Target."""
    if isinstance(target, Config):
        target = target.database
    if isinstance(target, Path):
        return _sqlite(target)
    text = target.strip()
    if not text:
        raise StoreError("the state database setting 'database' is empty; give a file path")
    if "://" not in text:
        return _sqlite(Path(text))
    scheme = text.split("://", 1)[0].lower()
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise StoreError(f"state database URL is malformed: {exc}") from None
    if scheme.startswith("sqlite"):
        if not url.database or url.database == ":memory:":
            raise StoreError("the state database must be a SQLite file, not an in-memory database")
        return _sqlite(Path(url.database))
    if scheme in _PG_SCHEMES:
        return Target(url=url.set(drivername="postgresql+psycopg"), path=None)
    raise StoreError(
        f"unsupported state database {scheme}://...; use a SQLite file path "
        "(e.g. pipekit.db) or a postgresql://user@host/database URL"
    )


def _sqlite(path: Path) -> Target:
    path = path.expanduser().absolute()
    return Target(url=URL.create("sqlite+pysqlite", database=str(path)), path=path)


def make_engine(target: Target) -> Engine:
    """An engine for `target`, with the per-connection settings described above."""
    if target.path is None:
        return create_engine(target.url, pool_pre_ping=True)
    engine = create_engine(target.url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we send BEGIN ourselves (see module docstring)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        _wal(cur)
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")  # durable enough with WAL, much faster
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _wal(cur: Any) -> None:
    """Switch the file to WAL. Several processes opening a new file at once can find
    it locked: SQLite does not wait on the busy timeout for this switch, so retry
    for as long as the timeout would have waited."""
    import sqlite3
    import time

    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
