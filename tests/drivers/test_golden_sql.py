"""Golden SQL: every statement each dialect renders, compared to reviewed files.

The merge plan of every strategy, key_sync, the swap, a first load, an added
column, the staging statements and the literal forms are rendered from input
module descriptions (``golden_cases.py``) with a dialect alone, no database, and
compared with ``golden/<kind>/<case>.sql``. After an intended change, regenerate
and review the diff:

    PIPEKIT_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/drivers/test_golden_sql.py
    git diff tests/drivers/golden
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipekit.drivers import REGISTRY, dialect_for
from pipekit.drivers.dialect import Dialect
from pipekit.drivers.jdbc_dialect import PROFILES
from tests.drivers.golden_cases import cases, catalog_cases

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("PIPEKIT_UPDATE_GOLDEN") == "1"


def dialect_named(kind: str) -> Dialect:
    """A registered kind's dialect, or a JDBC profile's (``jdbc-<profile>``)."""
    if kind.startswith("jdbc-"):
        return next(p for p in PROFILES if p.profile == kind[5:])()
    return dialect_for(kind)


#: every kind, and every JDBC profile apart from the generic one (the kind "jdbc")
KINDS = [*REGISTRY, *(f"jdbc-{p.profile}" for p in PROFILES if p.profile != "generic")]
ALL = [
    (kind, name)
    for kind in KINDS
    for name in {**cases(dialect_named(kind)), **catalog_cases(dialect_named(kind))}
]


def _header(kind: str, name: str) -> str:
    return (
        f"-- golden SQL: {kind} / {name}, rendered by tests/drivers/golden_cases.py\n"
        "-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py\n"
    )


@pytest.mark.parametrize(("kind", "name"), ALL, ids=[f"{k}-{n}" for k, n in ALL])
def test_golden_sql(kind: str, name: str) -> None:
    dialect = dialect_named(kind)
    rendered = _header(kind, name) + {**cases(dialect), **catalog_cases(dialect)}[name]() + "\n"
    path = GOLDEN / kind / f"{name}.sql"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered)
    assert path.exists(), f"{path} is missing: run with PIPEKIT_UPDATE_GOLDEN=1 and review it"
    expected = path.read_text()
    assert rendered == expected, (
        f"{kind} renders {name} differently from {path}; if the change is intended, "
        "run with PIPEKIT_UPDATE_GOLDEN=1 and review `git diff tests/drivers/golden`"
    )


def test_no_golden_file_without_a_case() -> None:
    """A case renamed or removed leaves no stale file that nothing checks."""
    known = {GOLDEN / kind / f"{name}.sql" for kind, name in ALL}
    stale = sorted(str(p.relative_to(GOLDEN)) for p in GOLDEN.glob("*/*.sql") if p not in known)
    if UPDATE:
        for p in stale:
            (GOLDEN / p).unlink()
        stale = []
    assert not stale, f"golden files without a case (delete them): {stale}"
