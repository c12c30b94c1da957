"""Config as code: connections, modules, groups and schedules as one YAML file.

    >>> report = apply_manifest(store, Path("pipekit/deploy.yaml"), prune=True)
    >>> text = export_manifest(store)          # the same format back

``apply`` validates the whole file first (YAML, keys, types, URLs, password
references, module definitions through ``pipekit.engine.validate``, group
members, cron) and raises one ``ManifestError`` carrying every problem with its
path in the file; only a file without problems is written. Writing creates or
updates by name and changes nothing that is already as the file says, so
applying a file twice records nothing the second time. Nothing connects to a
database. The format and its rules: docs/yaml.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pipekit.engine.validate import Problem, did_you_mean, module_problems
from pipekit.errors import PipekitError

if TYPE_CHECKING:
    from pipekit.store import Store

TOP_KEYS = ("connections", "modules", "groups", "schedules")
CONNECTION_KEYS = ("url", "user", "password", "supports_deletes")
MODULE_FIELDS = (
    "source",
    "dest",
    "dest_table",
    "source_query",
    "merge_strategy",
    "merge_key",
    "watermark_column",
    "watermark_op",
    "lookback",
    "safety_lag",
    "key_sync",
    "key_sync_query",
    "full_refresh_cron",
    "audit_columns",
    "enabled",
)
MODULE_KEYS = (*MODULE_FIELDS, "watermarks", "hooks", "checks")
WATERMARK_KEYS = ("connection", "resolver_sql", "default")
HOOK_KEYS = ("sql", "run_on")
CHECK_KEYS = ("name", "sql")
GROUP_KEYS = ("description", "modules")
SCHEDULE_KEYS = ("group", "cron", "enabled")
#: module fields left out of an export when they hold these values
MODULE_DEFAULTS: dict[str, Any] = {
    "merge_strategy": "full",
    "watermark_op": ">",
    "key_sync": False,
    "audit_columns": False,
    "enabled": True,
}
KINDS = ("connection", "module", "group", "schedule")


class ManifestError(PipekitError):
    """A YAML file that cannot be applied; `problems` holds every one, with its path."""

    def __init__(self, problems: list[Problem], source: str = "the file") -> None:
        self.problems = problems
        self.source = source
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s), nothing was changed:\n{lines}")


# -- reading the YAML ------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """Safe YAML that keeps dates as text and refuses a key given twice."""

    duplicates: list[Problem]


# A watermark default such as 1970-01-01 stays the text it was, not a date.
_Loader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            if key in seen:
                loader.duplicates.append(
                    Problem(
                        "",
                        f"line {key_node.start_mark.line + 1}: key {key!r} is given twice in "
                        "the same mapping; the second would silently replace the first",
                    )
                )
            seen.add(key)
        except TypeError:  # an unhashable key; reported where it is used
            pass
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _load_yaml(text: str) -> tuple[Any, list[Problem]]:
    loader = _Loader(text)
    loader.duplicates = []
    try:
        return loader.get_single_data(), loader.duplicates
    except yaml.MarkedYAMLError as exc:
        # Position and reason only: the offending line may hold a secret.
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = exc.problem or exc.context or "invalid YAML"
        return None, [Problem("", f"YAML syntax error{where}: {what}")]
    except yaml.YAMLError as exc:
        return None, [Problem("", f"YAML syntax error: {type(exc).__name__}")]
    finally:
        loader.dispose()


# -- the desired state -------------------------------------------------------------


@dataclass
class Manifest:
    """What a file asks for, normalised to the store's values."""

    connections: dict[str, dict[str, Any]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    empty: bool = True


def _read(text_or_path: str | Path, base_dir: Path | None) -> tuple[str, str, Path]:
    """(text, how to name it in messages, folder relative file URLs start from)."""
    looks_like_path = isinstance(text_or_path, str) and (
        "\n" not in text_or_path and text_or_path.strip().endswith((".yaml", ".yml"))
    )
    if isinstance(text_or_path, Path) or looks_like_path:
        path = Path(text_or_path).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ManifestError(
                [Problem("", f"cannot read {path}: {exc.strerror or exc}")], str(path)
            ) from None
        except UnicodeDecodeError:
            raise ManifestError([Problem("", "the file is not UTF-8 text")], str(path)) from None
        return text, str(path), base_dir or path.absolute().parent
    return str(text_or_path), "the YAML text", base_dir or Path.cwd()


def _unknown_keys(
    problems: list[Problem], path: str, given: Mapping[Any, Any], known: tuple[str, ...]
) -> None:
    for key in given:
        if key not in known:
            hint = did_you_mean(str(key), known)
            where = f"{path}.{key}" if path else str(key)
            problems.append(Problem(where, f"unknown key{hint} (known: {', '.join(known)})"))


def _mapping(problems: list[Problem], path: str, value: Any, what: str) -> dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(Problem(path, f"must be a mapping of {what}, not {_kind(value)}"))
        return {}
    return dict(value)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value}"
    return f"the text {value!r}" if isinstance(value, str) else type(value).__name__


def _name(problems: list[Problem], path: str, kind: str, name: Any) -> bool:
    from pipekit.store.repo import NAME_RE

    if isinstance(name, str) and NAME_RE.match(name):
        return True
    problems.append(
        Problem(
            path,
            f"invalid {kind} name {name!r}: use letters, digits, '_', '-' and '.', starting "
            "with a letter or digit, at most 100 characters",
        )
    )
    return False


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)  # a numeric look-back or default, kept as the store keeps it
    return value if value != "" else None


class _Validator:
    """Turns the parsed YAML into a Manifest, collecting every problem."""

    def __init__(self, store: Store, base_dir: Path, prune: bool) -> None:
        self.store = store
        self.base_dir = base_dir
        self.prune = prune
        self.problems: list[Problem] = []
        self.manifest = Manifest()
        self.store_connections = {c.name: c for c in store.connections.list()}
        self.store_modules = {m.name: m for m in store.modules.list()}
        self.store_groups = {g.name for g in store.groups.list()}

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def run(self, data: Any) -> Manifest:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            self.add(
                "", f"the file must be a mapping with {', '.join(TOP_KEYS)}, not {_kind(data)}"
            )
            return self.manifest
        _unknown_keys(self.problems, "", data, TOP_KEYS)
        self.manifest.empty = not any(data.get(k) for k in TOP_KEYS)
        self._connections(_mapping(self.problems, "connections", data.get("connections"), "names"))
        self._modules(_mapping(self.problems, "modules", data.get("modules"), "names"))
        self._groups(_mapping(self.problems, "groups", data.get("groups"), "names"))
        self._schedules(data.get("schedules"))
        return self.manifest

    # -- connections -------------------------------------------------------

    def _connections(self, items: dict[Any, Any]) -> None:
        from pipekit.drivers.url import absolute_file_url
        from pipekit.engine.connections import password_secret_name, validate_url
        from pipekit.secrets import is_reference

        for name, spec in items.items():
            path = f"connections.{name}"
            if not _name(self.problems, path, "connection", name):
                continue
            if not isinstance(spec, Mapping):
                self.add(path, f"must be a mapping with url, user, password, not {_kind(spec)}")
                continue
            _unknown_keys(self.problems, path, spec, CONNECTION_KEYS)
            url = spec.get("url")
            if not isinstance(url, str) or not url.strip():
                self.add(f"{path}.url", "is required: e.g. postgresql://host:5432/db")
                url = None
            elif _url_has_password(url):
                url = None
                self.add(
                    f"{path}.url",
                    "must not contain a password (it is not shown); put a secret reference "
                    "under password instead",
                )
            else:
                try:
                    validate_url(url)
                    url = absolute_file_url(url.strip(), self.base_dir)
                except PipekitError as exc:
                    self.add(f"{path}.url", str(exc))
                    url = None
            user = spec.get("user")
            if user is not None and not isinstance(user, str):
                self.add(f"{path}.user", f"must be text, not {_kind(user)}")
            password = spec.get("password")
            if password not in (None, "") and not (
                isinstance(password, str) and is_reference(password)
            ):
                var = password_secret_name(name)
                self.add(
                    f"{path}.password",
                    f"must be a secret reference such as '${var}', never the password itself "
                    f"(the value is not shown); store it with `pipekit secrets set {var}` and "
                    f'write password: "${var}"',
                )
            deletes = spec.get("supports_deletes", True)
            if not isinstance(deletes, bool):
                self.add(f"{path}.supports_deletes", f"must be true or false, not {_kind(deletes)}")
            self.manifest.connections[name] = {
                "url": url,
                "user": user or None,
                "password": password or None,
                "supports_deletes": deletes,
            }

    def _known_connections(self) -> dict[str, tuple[str | None, bool]]:
        """Connection name -> (url, supports_deletes) after the apply."""
        known = (
            {}
            if self.prune
            else {n: (c.url, c.supports_deletes) for n, c in self.store_connections.items()}
        )
        for n, c in self.manifest.connections.items():
            known[n] = (c["url"], c["supports_deletes"] is not False)
        return known

    # -- modules -------------------------------------------------------------

    def _modules(self, items: dict[Any, Any]) -> None:
        connections = self._known_connections()
        for name, spec in items.items():
            path = f"modules.{name}"
            if not _name(self.problems, path, "module", name):
                continue
            if not isinstance(spec, Mapping):
                self.add(path, f"must be a mapping of module settings, not {_kind(spec)}")
                continue
            _unknown_keys(self.problems, path, spec, MODULE_KEYS)
            self._nested_keys(path, spec)
            source = spec.get("source")
            url = connections.get(source, (None, True))[0] if isinstance(source, str) else None
            for p in module_problems(
                spec, source_dialect=_dialect(url), connections=set(connections)
            ):
                self.problems.append(Problem(f"{path}.{p.path}", p.message))
            self.manifest.modules[name] = _module_values(spec)
        if self.prune:
            for name, module in self.store_modules.items():
                if name not in items and module.running:
                    self.add(
                        f"modules.{name}",
                        f"is not in the file, so --prune would remove it, but it is running "
                        f"(run {module.locked_by_run_id}); wait for it or cancel it first",
                    )

    def _nested_keys(self, path: str, spec: Mapping[str, Any]) -> None:
        watermarks = spec.get("watermarks")
        if isinstance(watermarks, Mapping):
            for wname, item in watermarks.items():
                if isinstance(item, Mapping):
                    _unknown_keys(self.problems, f"{path}.watermarks.{wname}", item, WATERMARK_KEYS)
        for key, known in (("hooks", HOOK_KEYS), ("checks", CHECK_KEYS)):
            items = spec.get(key)
            if isinstance(items, list):
                for i, item in enumerate(items):
                    if isinstance(item, Mapping):
                        _unknown_keys(self.problems, f"{path}.{key}[{i}]", item, known)

    def _known_modules(self) -> set[str]:
        known = set() if self.prune else set(self.store_modules)
        return known | set(self.manifest.modules)

    # -- groups and schedules ----------------------------------------------------

    def _groups(self, items: dict[Any, Any]) -> None:
        modules = self._known_modules()
        for name, spec in items.items():
            path = f"groups.{name}"
            if not _name(self.problems, path, "group", name):
                continue
            description: Any = None
            members: Any = spec
            members_path = path
            if isinstance(spec, Mapping):
                _unknown_keys(self.problems, path, spec, GROUP_KEYS)
                description = spec.get("description")
                members = spec.get("modules") or []
                members_path = f"{path}.modules"
                if description is not None and not isinstance(description, str):
                    self.add(f"{path}.description", f"must be text, not {_kind(description)}")
            elif spec is None:
                members = []
            if not isinstance(members, list):
                self.add(
                    members_path,
                    f"must be a list of module names, or a mapping with description and "
                    f"modules, not {_kind(members)}",
                )
                continue
            seen: set[str] = set()
            for i, member in enumerate(members):
                where = f"{members_path}[{i}]"
                if not isinstance(member, str):
                    self.add(where, f"must be a module name, not {_kind(member)}")
                elif member in seen:
                    self.add(where, f"module '{member}' is listed twice in the group")
                elif member not in modules:
                    self.add(
                        where,
                        f"module '{member}' does not exist{did_you_mean(member, modules)}; "
                        "define it under modules",
                    )
                if isinstance(member, str):
                    seen.add(member)
            self.manifest.groups[name] = {
                "description": description or None,
                "members": tuple(m for m in members if isinstance(m, str)),
            }

    def _schedules(self, items: Any) -> None:
        from croniter import croniter

        if items is None:
            return
        if not isinstance(items, list):
            self.add("schedules", f"must be a list of {{group, cron}}, not {_kind(items)}")
            return
        groups = (set() if self.prune else set(self.store_groups)) | set(self.manifest.groups)
        seen: dict[tuple[str, str], int] = {}
        for i, spec in enumerate(items):
            path = f"schedules[{i}]"
            if not isinstance(spec, Mapping):
                self.add(path, f"must be a mapping with group and cron, not {_kind(spec)}")
                continue
            _unknown_keys(self.problems, path, spec, SCHEDULE_KEYS)
            group, cron, enabled = spec.get("group"), spec.get("cron"), spec.get("enabled", True)
            if not isinstance(group, str) or not group:
                self.add(f"{path}.group", "is required: the group the schedule runs")
            elif group not in groups:
                self.add(
                    f"{path}.group",
                    f"group '{group}' does not exist{did_you_mean(group, groups)}; define it "
                    "under groups",
                )
            if not isinstance(cron, str) or not cron.strip():
                self.add(f"{path}.cron", "is required: a cron expression such as '0 2 * * *'")
            elif not croniter.is_valid(cron.strip()):
                self.add(
                    f"{path}.cron",
                    f"{cron!r} is not a valid cron expression; expected five fields 'minute "
                    "hour day-of-month month day-of-week', e.g. '0 2 * * *'",
                )
            if not isinstance(enabled, bool):
                self.add(f"{path}.enabled", f"must be true or false, not {_kind(enabled)}")
            if isinstance(group, str) and isinstance(cron, str):
                key = (group, cron.strip())
                if key in seen:
                    self.add(
                        path,
                        f"repeats schedules[{seen[key]}] (group '{group}', cron '{key[1]}'); "
                        "schedules are identified by group and cron, so list each once",
                    )
                    continue
                seen[key] = i
                self.manifest.schedules.append(
                    {"group": group, "cron": key[1], "enabled": enabled is not False}
                )


def _url_has_password(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        return "://" in url and urlsplit(url.strip()).password is not None
    except ValueError:
        return False


def _dialect(url: str | None) -> str | None:
    """The sqlglot dialect of a connection URL, or None when its driver is not usable here."""
    if not url:
        return None
    from pipekit.drivers import driver_class, kind_for_url

    try:
        return driver_class(kind_for_url(url)).dialect
    except (PipekitError, ImportError):
        return None


def _module_values(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The store's values for a module in the file: absent fields take their defaults."""
    values: dict[str, Any] = {}
    for key in MODULE_FIELDS:
        value = spec.get(key)
        if key in MODULE_DEFAULTS:
            values[key] = MODULE_DEFAULTS[key] if value in (None, "") else value
        else:
            values[key] = _text(value)
    watermarks = spec.get("watermarks") or {}
    values["watermarks"] = {
        name: {
            "connection": _text(w.get("connection")),
            "resolver_sql": _text(w.get("resolver_sql")),
            "default_value": _text(w.get("default")),
        }
        for name, w in (watermarks.items() if isinstance(watermarks, Mapping) else ())
        if isinstance(w, Mapping)
    }
    values["hooks"] = [
        (h.get("sql"), h.get("run_on") or "success")
        for h in spec.get("hooks") or []
        if isinstance(h, Mapping)
    ]
    values["checks"] = [
        (c.get("name"), c.get("sql")) for c in spec.get("checks") or [] if isinstance(c, Mapping)
    ]
    return values


def load_manifest(
    store: Store,
    text_or_path: str | Path,
    *,
    prune: bool = False,
    base_dir: Path | None = None,
) -> Manifest:
    """Parse and validate a file against `store` (read only); ManifestError with every problem.

    `text_or_path`: a Path, a string ending in .yaml/.yml (a path), or YAML text.
    Relative SQLite/DuckDB file URLs are made absolute against the file's folder
    (`base_dir`, else the working directory for text).
    """
    text, source, base = _read(text_or_path, base_dir)
    data, problems = _load_yaml(text)
    if problems and data is None:
        raise ManifestError(problems, source)
    validator = _Validator(store, base, prune)
    manifest = validator.run(data)
    problems += validator.problems
    if prune and manifest.empty and not problems:
        problems.append(
            Problem(
                "",
                "the file defines nothing; --prune would remove every connection, module, "
                "group and schedule, which is refused (remove them one by one instead)",
            )
        )
    if problems:
        raise ManifestError(problems, source)
    return manifest


# -- planning and applying --------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One object the apply touched (or would touch)."""

    kind: str  # connection | module | group | schedule
    name: str
    action: str  # created | updated | unchanged | removed
    fields: tuple[str, ...] = ()  # for updates: what changed

    def __str__(self) -> str:
        what = f" ({', '.join(self.fields)})" if self.fields else ""
        return f"{self.kind} {self.name}: {self.action}{what}"


@dataclass
class ApplyReport:
    """What `apply_manifest` did, or with ``dry_run`` would do, per kind and object."""

    changes: list[Change] = field(default_factory=list)
    dry_run: bool = False

    def names(self, kind: str, action: str) -> list[str]:
        return [c.name for c in self.changes if c.kind == kind and c.action == action]

    @property
    def changed(self) -> bool:
        return any(c.action != "unchanged" for c in self.changes)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(("created", "updated", "removed", "unchanged"), 0)
        for c in self.changes:
            out[c.action] += 1
        return out


@dataclass
class _Plan:
    report: ApplyReport
    steps: list[Callable[[], Any]] = field(default_factory=list)

    def note(self, kind: str, name: str, action: str, fields: tuple[str, ...] = ()) -> None:
        self.report.changes.append(Change(kind, name, action, fields))


def schedule_label(group: str, cron: str) -> str:
    return f"{group} '{cron}'"


def _plan(store: Store, m: Manifest, prune: bool, by: str) -> _Plan:
    plan = _Plan(ApplyReport())
    _plan_connections(store, m, plan)
    _plan_modules(store, m, plan, by)
    _plan_groups(store, m, plan)
    _plan_schedules(store, m, plan, prune)
    if prune:
        # Dependents first: groups (with their schedules), modules, then connections.
        for g in store.groups.list():
            if g.name not in m.groups:
                plan.note("group", g.name, "removed")
                plan.steps.append(lambda n=g.name: store.groups.remove(n))
        for mod in store.modules.list():
            if mod.name not in m.modules:
                plan.note("module", mod.name, "removed")
                plan.steps.append(lambda n=mod.name: store.modules.remove(n))
        for c in store.connections.list():
            if c.name not in m.connections:
                plan.note("connection", c.name, "removed")
                plan.steps.append(lambda n=c.name: store.connections.remove(n))
    return plan


def _plan_connections(store: Store, m: Manifest, plan: _Plan) -> None:
    existing = {c.name: c for c in store.connections.list()}
    for name in sorted(m.connections):
        want = m.connections[name]
        old = existing.get(name)
        if old is None:
            plan.note("connection", name, "created")
            plan.steps.append(lambda n=name, w=want: store.connections.add(n, **w))
            continue
        diff = {k: v for k, v in want.items() if getattr(old, k) != v}
        plan.note("connection", name, "updated" if diff else "unchanged", tuple(diff))
        if diff:
            plan.steps.append(lambda n=name, d=diff: store.connections.update(n, **d))


def _plan_modules(store: Store, m: Manifest, plan: _Plan, by: str) -> None:
    existing = {x.name: x for x in store.modules.list()}
    for name in sorted(m.modules):
        want = m.modules[name]
        fields = {k: want[k] for k in MODULE_FIELDS}
        old = existing.get(name)
        if old is None:
            plan.note("module", name, "created")
            source, dest = fields.pop("source"), fields.pop("dest")
            plan.steps.append(
                lambda n=name, f=fields, s=source, d=dest: store.modules.add(
                    n, source=s, dest=d, changed_by=by, **f
                )
            )
            changed = ["watermarks", "hooks", "checks"]
        else:
            diff = {k: v for k, v in fields.items() if getattr(old, k) != v}
            if diff:
                plan.steps.append(
                    lambda n=name, d=diff: store.modules.update(n, changed_by=by, **d)
                )
            changed = list(diff) + _changed_parts(store, name, want)
            plan.note("module", name, "updated" if changed else "unchanged", tuple(changed))
        for part in ("watermarks", "hooks", "checks"):
            if part in changed:
                plan.steps.append(lambda n=name, p=part, w=want: _replace(store, n, p, w[p], by))


def _changed_parts(store: Store, name: str, want: dict[str, Any]) -> list[str]:
    """Which of watermarks / hooks / checks differ from the store (order matters, ids not)."""
    out = []
    watermarks = {
        w.name: {
            "connection": w.connection,
            "resolver_sql": w.resolver_sql,
            "default_value": w.default_value,
        }
        for w in store.watermarks.list(name)
    }
    if watermarks != want["watermarks"]:
        out.append("watermarks")
    if [(h.sql, h.run_on) for h in store.hooks.list(name)] != want["hooks"]:
        out.append("hooks")
    if [(c.name, c.sql) for c in store.checks.list(name)] != want["checks"]:
        out.append("checks")
    return out


def _replace(store: Store, module: str, part: str, items: Any, by: str) -> None:
    if part == "watermarks":
        store.watermarks.replace_all(
            module, [{"name": n, **w} for n, w in items.items()], changed_by=by
        )
    elif part == "hooks":
        store.hooks.replace_all(module, [{"sql": s, "run_on": r} for s, r in items], changed_by=by)
    else:
        store.checks.replace_all(module, [{"name": n, "sql": s} for n, s in items], changed_by=by)


def _plan_groups(store: Store, m: Manifest, plan: _Plan) -> None:
    existing = {g.name: g for g in store.groups.list()}
    for name in sorted(m.groups):
        want = m.groups[name]
        old = existing.get(name)
        if old is None:
            plan.note("group", name, "created")
            plan.steps.append(
                lambda n=name, w=want: store.groups.add(
                    n, description=w["description"], members=list(w["members"])
                )
            )
            continue
        fields = []
        if old.description != want["description"]:
            fields.append("description")
            plan.steps.append(
                lambda n=name, d=want["description"]: store.groups.update(n, description=d)
            )
        if tuple(old.members) != want["members"]:
            fields.append("modules")
            plan.steps.append(
                lambda n=name, ms=want["members"]: store.groups.set_members(n, list(ms))
            )
        plan.note("group", name, "updated" if fields else "unchanged", tuple(fields))


def _plan_schedules(store: Store, m: Manifest, plan: _Plan, prune: bool) -> None:
    existing = store.schedules.list()
    claimed: set[int] = set()
    for want in m.schedules:
        label = schedule_label(want["group"], want["cron"])
        match = next(
            (
                s
                for s in existing
                if s.id not in claimed
                and s.group == want["group"]
                and s.cron_expr.strip() == want["cron"]
            ),
            None,
        )
        if match is None:
            plan.note("schedule", label, "created")
            plan.steps.append(
                lambda w=want: store.schedules.add(w["group"], w["cron"], enabled=w["enabled"])
            )
            continue
        claimed.add(match.id)
        if match.enabled != want["enabled"]:
            plan.note("schedule", label, "updated", ("enabled",))
            plan.steps.append(
                lambda i=match.id, e=want["enabled"]: store.schedules.set_enabled(i, e)
            )
        else:
            plan.note("schedule", label, "unchanged")
    if prune:
        for s in existing:
            if s.id not in claimed:
                plan.note("schedule", schedule_label(s.group, s.cron_expr), "removed")
                if s.group in m.groups:  # else removing its group removes it
                    plan.steps.append(lambda i=s.id: store.schedules.remove(i))


def apply_manifest(
    store: Store,
    text_or_path: str | Path,
    *,
    prune: bool = False,
    changed_by: str = "apply",
    dry_run: bool = False,
    base_dir: Path | None = None,
) -> ApplyReport:
    """Make the store hold what the file says; with `prune`, also remove what it does not.

    Validates everything first (ManifestError, nothing written), then creates
    and updates connections, modules (with their watermarks, hooks and
    checks), groups and schedules, in that order, and with `prune` removes
    groups, modules and connections absent from the file. `dry_run` returns
    the report without writing.
    """
    manifest = load_manifest(store, text_or_path, prune=prune, base_dir=base_dir)
    plan = _plan(store, manifest, prune, changed_by)
    plan.report.dry_run = dry_run
    if not dry_run:
        for step in plan.steps:
            step()
    return plan.report


# -- export --------------------------------------------------------------------------------


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
