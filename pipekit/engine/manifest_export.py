"""Writing the store as a manifest: names sorted, defaults left out, SQL as block scalars."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import yaml

from pipekit.engine.manifest_check import MODULE_DEFAULTS, MODULE_FIELDS

if TYPE_CHECKING:
    from pipekit.store import Store


class _Quoted(str):
    """Text written in double quotes (cron expressions read better so)."""


class _FlowList(list):  # type: ignore[type-arg]
    """A list written on one line: ``[a, b]``."""


class _FlowMap(dict):  # type: ignore[type-arg]
    """A mapping written on one line: ``{sql: ..., run_on: success}``."""


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # never &anchors / *aliases, whatever objects are shared

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Lists under a key are indented (``  - item``), as people write them.
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(
    _Quoted, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style='"')
)
_Dumper.add_representer(
    _FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)
_Dumper.add_representer(
    _FlowMap, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True)
)


def _lookback(value: str | None) -> Any:
    """A look-back that is a plain whole number is written as a number."""
    if value is not None and re.fullmatch(r"-?(0|[1-9][0-9]*)", value):
        return int(value)
    return value


def _flow_if_short(item: dict[str, Any]) -> dict[str, Any]:
    one_line = all(not isinstance(v, str) or "\n" not in v for v in item.values())
    return _FlowMap(item) if one_line else item


def _export_module(store: Store, name: str, mod: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in MODULE_FIELDS:
        value = getattr(mod, key)
        if value is None:
            continue
        if key != "merge_strategy" and MODULE_DEFAULTS.get(key, ...) == value:
            continue  # at its default; merge_strategy is always shown
        if key == "lookback":
            value = _lookback(value)
        elif key in ("full_refresh_cron", "watermark_op"):
            value = _Quoted(value)
        out[key] = value
    watermarks = store.watermarks.list(name)
    if watermarks:
        out["watermarks"] = {}
        for w in watermarks:
            item = {"connection": w.connection, "resolver_sql": w.resolver_sql}
            item["default"] = w.default_value
            out["watermarks"][w.name] = _flow_if_short(
                {k: v for k, v in item.items() if v is not None}
            )
    hooks = store.hooks.list(name)
    if hooks:
        out["hooks"] = [_flow_if_short({"sql": h.sql, "run_on": h.run_on}) for h in hooks]
    checks = store.checks.list(name)
    if checks:
        out["checks"] = [_flow_if_short({"name": c.name, "sql": c.sql}) for c in checks]
    return out


def export_manifest(store: Store) -> str:
    """Everything in `store` as a manifest: names sorted, fields in documented order.

    Fields at their defaults are left out. Applying the text to an empty store
    and exporting again gives the same text; applying it to `store` changes
    nothing. Passwords appear only as their ``$VAR`` references.
    """
    doc: dict[str, Any] = {}
    connections = {}
    for c in store.connections.list():
        item: dict[str, Any] = {"url": c.url}
        if c.user:
            item["user"] = c.user
        if c.password:
            item["password"] = c.password
        if not c.supports_deletes:
            item["supports_deletes"] = False
        if c.options:
            item["options"] = c.options
        connections[c.name] = _FlowMap(item)
    if connections:
        doc["connections"] = dict(sorted(connections.items()))
    modules = {m.name: _export_module(store, m.name, m) for m in store.modules.list()}
    if modules:
        doc["modules"] = dict(sorted(modules.items()))
    groups: dict[str, Any] = {}
    for g in store.groups.list():
        members = _FlowList(g.members)
        groups[g.name] = (
            {"description": g.description, "modules": members} if g.description else members
        )
    if groups:
        doc["groups"] = dict(sorted(groups.items()))
    schedules = []
    seen: set[tuple[str, str]] = set()
    for s in sorted(store.schedules.list(), key=lambda s: (s.group, s.cron_expr.strip(), s.id)):
        if (s.group, s.cron_expr.strip()) in seen:
            continue  # schedules are identified by (group, cron): the file lists each once
        seen.add((s.group, s.cron_expr.strip()))
        item = {"group": s.group, "cron": _Quoted(s.cron_expr.strip())}
        if not s.enabled:
            item["enabled"] = False
        schedules.append(_FlowMap(item))
    if schedules:
        doc["schedules"] = schedules
    if not doc:
        return "{}\n"
    return yaml.dump(
        doc,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1 << 30,
        indent=2,
    )
