"""What Pipekit has defined, read once through the services when Dagster loads the code
location: modules (with their groups and checks), groups, schedules and the zone cron
expressions are read in, as plain values the translator and the builders take.

Nothing here imports Dagster, so the translator's inputs can be made and read in any
process; a module, group or schedule added later appears when the code location is
reloaded (``dagster dev`` reloads on a click, a deployment on a redeploy).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from pipekit.services import Services


@dataclass(frozen=True)
class PipekitModule:
    """One Pipekit module, as the translator sees it."""

    name: str
    source: str | None
    #: the database kind of the source connection (``postgresql``, ``sqlite``, ...)
    source_kind: str | None
    dest: str | None
    dest_kind: str | None
    dest_table: str | None
    merge_strategy: str
    merge_key: str | None
    watermark_column: str | None
    #: the groups it belongs to, by name
    groups: tuple[str, ...]
    #: its checks' names, in the order they run
    checks: tuple[str, ...]


@dataclass(frozen=True)
class PipekitGroup:
    name: str
    description: str | None
    #: the enabled member modules, in run order
    modules: tuple[str, ...]


@dataclass(frozen=True)
class PipekitSchedule:
    id: int
    group: str
    cron_expr: str
    enabled: bool
    #: a Pipekit scheduler fired it at one of its last two slots: a scheduler is on for it
    fired_lately: bool


@dataclass(frozen=True)
class Catalog:
    """Pipekit's definitions: enabled modules by name, groups, schedules, and the IANA
    zone its cron expressions are read in."""

    modules: tuple[PipekitModule, ...]
    groups: tuple[PipekitGroup, ...]
    schedules: tuple[PipekitSchedule, ...]
    timezone: str


def url_kind(url: str) -> str:
    """The database kind a connection URL names (its scheme, without a ``+driver``)."""
    return url.partition(":")[0].partition("+")[0].lower()


def zone_name(tz: dt.tzinfo) -> str:
    """`tz` as the IANA name Dagster's ``execution_timezone`` takes.

    A fixed whole-hour offset (a machine without zone data) becomes ``Etc/GMT±N``,
    whose sign is the POSIX one, the opposite of ISO's.
    """
    if isinstance(tz, ZoneInfo):
        return tz.key
    offset = tz.utcoffset(None) or dt.timedelta(0)
    hours, rest = divmod(int(offset.total_seconds()), 3600)
    if rest:
        raise ValueError(
            f"the server's time zone is a fixed offset of {offset}, which no IANA zone "
            "names; set TZ to the server's zone (e.g. TZ=Asia/Kolkata) or pass timezone="
        )
    return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"


def read_catalog(sv: Services) -> Catalog:
    """Everything the Dagster definitions are built from, read through the services."""
    kinds = {c.name: url_kind(c.url) for c in sv.connections.list()}
    groups = sv.groups.list()
    enabled = {m.name: m for m in sv.modules.list(enabled=True)}
    member_of: dict[str, list[str]] = {}
    for g in groups:
        for name in g.modules:
            member_of.setdefault(name, []).append(g.name)
    modules = tuple(
        PipekitModule(
            name=m.name,
            source=m.source,
            source_kind=kinds.get(m.source) if m.source else None,
            dest=m.dest,
            dest_kind=kinds.get(m.dest) if m.dest else None,
            dest_table=m.dest_table,
            merge_strategy=m.merge_strategy,
            merge_key=m.merge_key,
            watermark_column=m.watermark_column,
            groups=tuple(member_of.get(m.name, ())),
            checks=tuple(c.name for c in sv.checks.list(m.name)),
        )
        for m in enabled.values()
    )
    lately = {s.id for s in sv.schedules.fired_lately()}
    schedules = tuple(
        PipekitSchedule(s.id, s.group, s.cron_expr, s.enabled, s.id in lately)
        for s in sv.schedules.list()
    )
    return Catalog(
        modules=modules,
        groups=tuple(
            PipekitGroup(g.name, g.description, tuple(n for n in g.modules if n in enabled))
            for g in groups
        ),
        schedules=schedules,
        timezone=zone_name(sv.schedules.tz),
    )
