"""Reading and validating a manifest: YAML in, a ``Manifest`` or every problem out.

Used by ``pipekit.engine.manifest`` (``load_manifest`` / ``apply_manifest``);
nothing here writes to the store or connects to a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pipekit import module_settings as settings
from pipekit.connectors.sources import is_connector_url
from pipekit.engine.validate import (
    MODULE_SETTINGS,
    did_you_mean,
    module_problems,
    source_kind_problems,
)
from pipekit.errors import (
    ManifestError,
    PipekitError,
    Problem,
)

if TYPE_CHECKING:
    from pipekit.files import FilePolicy
    from pipekit.store import Store

TOP_KEYS = ("connections", "modules", "groups", "schedules")
CONNECTION_KEYS = ("url", "user", "password", "supports_deletes", "options")
MODULE_FIELDS = MODULE_SETTINGS
MODULE_KEYS = (*MODULE_FIELDS, "watermarks", "hooks", "checks")
WATERMARK_KEYS = ("connection", "resolver_sql", "default")
HOOK_KEYS = ("sql", "run_on")
CHECK_KEYS = ("name", "sql")
GROUP_KEYS = ("description", "modules")
SCHEDULE_KEYS = ("group", "cron", "enabled")
#: module fields left out of an export when they hold these values
MODULE_DEFAULTS: dict[str, Any] = settings.DEFAULTS


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


#: how deep a manifest's mappings and lists may nest: a real one needs 5 levels
#: (modules.NAME.watermarks.NAME.key); far deeper input is an attack on the parser
MAX_DEPTH = 32


def _too_deep(data: Any) -> bool:
    """Whether `data` nests deeper than ``MAX_DEPTH`` (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(value, Mapping):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return False


def load_yaml(text: str) -> tuple[Any, list[Problem]]:
    deep = Problem(
        "",
        f"the YAML nests mappings or lists more than {MAX_DEPTH} levels deep, which no "
        "manifest needs; check the file's indentation and brackets",
    )
    try:
        # The reader refuses some characters (control codes) as soon as it is made.
        loader = _Loader(text)
    except yaml.YAMLError as exc:
        return None, [Problem("", f"not a YAML document: {exc}")]
    loader.duplicates = []
    try:
        data = loader.get_single_data()
        return (None, [deep]) if _too_deep(data) else (data, loader.duplicates)
    except RecursionError:
        # PyYAML composes nodes recursively: deep nesting exhausts Python's stack
        return None, [deep]
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


def read_source(
    text_or_path: str | Path, base_dir: Path | None, *, as_text: bool = False
) -> tuple[str, str, Path]:
    """(text, how to name it in messages, folder relative file URLs start from).

    A string is a path when it ends in .yaml/.yml on one line, unless `as_text`.
    """
    looks_like_path = (
        not as_text
        and isinstance(text_or_path, str)
        and ("\n" not in text_or_path and text_or_path.strip().endswith((".yaml", ".yml")))
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


class Validator:
    """Turns the parsed YAML into a Manifest, collecting every problem."""

    def __init__(
        self, store: Store, base_dir: Path, prune: bool, files: FilePolicy | None = None
    ) -> None:
        self.store = store
        self.base_dir = base_dir
        #: the folders file URLs may name (``pipekit.files``); None: not checked here
        self.files = files
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
                    validate_url(url, self.files)
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
            options = spec.get("options") or {}
            if not isinstance(options, Mapping):
                self.add(f"{path}.options", f"must be a mapping, not {_kind(options)}")
                options = {}
            elif options and url and not is_connector_url(url):
                self.add(
                    f"{path}.options",
                    "only connector connections (rest+https://, file:///, s3://, "
                    "connector://) take options",
                )
            self.manifest.connections[name] = {
                "url": url,
                "user": user or None,
                "password": password or None,
                "supports_deletes": deletes,
                "options": dict(options),
            }

    def _known_connections(self) -> dict[str, tuple[str | None, bool]]:
        """Connection name -> (url, supports_deletes) after the apply."""
        known: dict[str, tuple[str | None, bool]] = (
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
            found = module_problems(
                spec, source_dialect=_dialect(url), connections=set(connections)
            )
            if url:
                found += source_kind_problems(spec, {str(source): url})
            for p in found:
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
        from pipekit.cron import cron_problem

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
            elif (problem := cron_problem(cron)) is not None:
                self.add(f"{path}.cron", f"{cron!r}: {problem}")
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
    from pipekit.drivers import dialect_for_url

    if is_connector_url(url):
        return "duckdb"  # a connector's rows are queried by DuckDB (engine/connector_source.py)
    try:
        return dialect_for_url(url).sqlglot
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
