"""Column types shared by the schema and the migrations.

Timestamp convention: every timestamp in the state store is a UTC instant.
Python code always sees timezone-aware ``datetime`` objects in UTC. PostgreSQL
stores them as ``timestamptz``; SQLite (which has no date type) stores them as
ISO-8601 text in UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``, which sorts in time
order, so indexes on timestamps work on both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    Naive datetimes are refused on the way in: guessing their zone is how audit
    trails end up an hour off.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the state store; use an aware UTC datetime")
        aware = value.astimezone(UTC)
        # SQLite's DateTime ignores tzinfo; dropping it keeps the stored text uniform.
        return aware.replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value  # DateTime's result processor gives a datetime
        if stored.tzinfo is None:
            return stored.replace(tzinfo=UTC)
        return stored.astimezone(UTC)
