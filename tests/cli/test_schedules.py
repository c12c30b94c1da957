"""`pipekit schedules ...`: cron checked before saving, next fire times, enable/disable."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipekit.runtime.scheduler import local_zone, next_occurrence
from pipekit.store import Store
from tests.helpers import Invoke, assert_clean_failure, tsv


def open_store(home: Path) -> Store:
    return Store.open(home / "pipekit.db")


def snapshot(home: Path) -> Any:
    with open_store(home) as store:
        return [(s.id, s.group, s.cron_expr, s.enabled) for s in store.schedules.list()]


@pytest.fixture
def groups(home: Path) -> Path:
    with open_store(home) as store:
        store.groups.add("nightly")
        store.groups.add("hourly")
    return home


def local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def next_fires(cron_expr: str, count: int = 1, after: datetime | None = None) -> list[datetime]:
    """The scheduler's next `count` slots after `after` (default now), as the CLI shows them."""
    out, moment = [], after or datetime.now(UTC)
    for _ in range(count):
        moment = next_occurrence(cron_expr, moment, local_zone())
        out.append(moment)
    return out


def test_next_fires_are_local_cron_times() -> None:
    start = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    fires = next_fires("0 2 * * *", 3, after=start)
    assert all(f.tzinfo is not None for f in fires)
    assert [f.astimezone().hour for f in fires] == [2, 2, 2]
    assert [f.astimezone().minute for f in fires] == [0, 0, 0]
    assert fires[0] > start and fires[1] > fires[0]


def test_add_list_show_edit_enable_disable_rm(cli: Invoke, groups: Path) -> None:
    added = cli("schedules", "add", "nightly", "0 2 * * *")
    assert added.exit_code == 0, added.output
    with open_store(groups) as store:
        sid = store.schedules.list()[0].id
    expected_next = local(next_fires("0 2 * * *")[0])
    assert f"✓ added schedule {sid}: group 'nightly' at '0 2 * * *' (next {expected_next})" in (
        added.output
    )
    off = cli("schedules", "add", "hourly", " 15 * * * * ", "--disabled")
    assert off.exit_code == 0, off.output
    assert "(disabled)" in off.output and "pipekit schedules enable" in off.output
    with open_store(groups) as store:
        off_id = next(s.id for s in store.schedules.list() if s.group == "hourly")
        assert store.schedules.get(off_id).cron_expr == "15 * * * *"  # stripped
        fired = datetime(2026, 1, 5, 2, 0, 3, tzinfo=UTC)
        store.schedules.mark_fired(sid, fired)

    listed = cli("schedules", "list")
    assert listed.exit_code == 0, listed.output
    rows = ["\t".join(cells) for cells in tsv(listed.output)]
    nightly = next(r for r in rows if "nightly" in r)
    hourly = next(r for r in rows if "hourly" in r)
    assert expected_next in nightly and "yes" in nightly
    assert fired.astimezone().strftime("%Y-%m-%d %H:%M:%S") in nightly
    assert "- (disabled)" in hourly and "no" in hourly
    only = cli("schedules", "list", "--group", "hourly")
    assert "nightly" not in only.output and "15 * * * *" in only.output

    shown = cli("schedules", "show", str(sid))
    assert shown.exit_code == 0, shown.output
    assert "group:              nightly" in shown.output
    assert "cron:               0 2 * * *" in shown.output
    upcoming = ", ".join(local(t) for t in next_fires("0 2 * * *", 3))
    assert f"next (local):       {upcoming}" in shown.output

    edited = cli("schedules", "edit", str(sid), "--cron", "30 3 * * 1-5", "--group", "hourly")
    assert edited.exit_code == 0, edited.output
    assert f"updated schedule {sid}: group 'hourly' at '30 3 * * 1-5'" in edited.output

    enabled = cli("schedules", "enable", str(off_id))
    assert f"✓ enabled schedule {off_id}" in enabled.output
    again = cli("schedules", "enable", str(off_id))
    assert again.exit_code == 0 and "was already enabled" in again.output
    disabled = cli("schedules", "disable", str(sid))
    assert f"✓ disabled schedule {sid}" in disabled.output
    with open_store(groups) as store:
        assert store.schedules.get(off_id).enabled is True
        assert store.schedules.get(sid).enabled is False

    removed = cli("schedules", "rm", str(sid))
    assert removed.exit_code == 0
    assert f"removed schedule {sid} (group 'hourly' at '30 3 * * 1-5')" in removed.output
    assert [s[0] for s in snapshot(groups)] == [off_id]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (
            ["add", "nightly", "0 25 * * *"],
            ["'0 25 * * *': the hour field 25 is out of range 0-23"],
        ),
        (["add", "nightly", "every day"], ["2 fields given; expected five fields"]),
        (["add", "nightly", ""], ["'': empty; expected five fields"]),
        (["add", "nigthly", "0 2 * * *"], ["no group named 'nigthly'; did you mean 'nightly'?"]),
        (["edit", "{sid}", "--cron", "61 * * * *"], ["the minute field 61 is out of range 0-59"]),
        (["edit", "{sid}", "--group", "hourlyy"], ["did you mean 'hourly'?"]),
        (["edit", "{sid}"], ["nothing to change"]),
        (["edit", "999", "--cron", "0 1 * * *"], ["no schedule with id 999"]),
        (["show", "999"], ["no schedule with id 999", "pipekit schedules list"]),
        (["rm", "999"], ["no schedule with id 999"]),
        (["enable", "999"], ["no schedule with id 999"]),
        (["disable", "999"], ["no schedule with id 999"]),
        (["list", "--group", "nightlyy"], ["did you mean 'nightly'?"]),
    ],
)
def test_bad_input_changes_nothing(
    cli: Invoke, groups: Path, args: list[str], fragments: list[str]
) -> None:
    assert cli("schedules", "add", "nightly", "0 2 * * *").exit_code == 0
    sid = snapshot(groups)[0][0]
    before = snapshot(groups)
    args = [a.replace("{sid}", str(sid)) for a in args]
    assert_clean_failure(cli("schedules", *args), *fragments)
    assert snapshot(groups) == before


def test_id_must_be_a_number(cli: Invoke, groups: Path) -> None:
    result = cli("schedules", "show", "abc")
    assert result.exit_code == 2  # a usage mistake, said by Typer


def test_list_when_empty(cli: Invoke, groups: Path) -> None:
    result = cli("schedules", "list")
    assert result.exit_code == 0
    assert "no schedules yet" in result.output
