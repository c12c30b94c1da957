"""The one cron check: every wrong field named with its allowed range."""

from __future__ import annotations

import pytest

from pipekit.cron import cron_problem


@pytest.mark.parametrize(
    "expr",
    [
        "0 2 * * *",
        "*/5 * * * *",
        "0 0 1,15 * *",
        "0 9-17 * * mon-fri",
        "0 0 * JAN-MAR 0",
        "0 0 * * 7",
    ],
)
def test_good_expressions_pass(expr: str) -> None:
    assert cron_problem(expr) is None


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("60 * * * *", "the minute field 60 is out of range 0-59"),
        ("0 24 * * *", "the hour field 24 is out of range 0-23"),
        ("0 0 0 * *", "the day-of-month field 0 is out of range 1-31"),
        ("0 0 32 * *", "the day-of-month field 32 is out of range 1-31"),
        ("0 0 * 13 *", "the month field 13 is out of range 1-12"),
        ("0 0 * * 8", "the day-of-week field 8 is out of range 0-7"),
        ("0 0 * * sat-mon", "the day-of-week field's range 'sat-mon' runs backwards"),
        ("*/0 * * * *", "the minute field's step '0' is not a whole number above 0"),
        ("0 0 * foo *", "the month field 'foo' is not a number or a name (jan…dec)"),
        ("0 0-- * * *", "the hour field '0--' is not a number, a range a-b or *"),
        ("\uff10 2 * * *", "the minute field '\uff10' is not a number"),
        ("0 0 * * * *", "6 fields given; expected five fields"),
        ("0 0 * * * * 2030", "7 fields given"),
        ("   ", "empty; expected five fields"),
    ],
)
def test_bad_expressions_name_the_field(expr: str, problem: str) -> None:
    found = cron_problem(expr)
    assert found is not None and found.startswith(problem), found


def test_the_example_is_the_callers() -> None:
    assert "e.g. '0 3 * * 0'" in (cron_problem("x", example="0 3 * * 0") or "")
