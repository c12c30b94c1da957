"""Every setting a user gives a module, declared once.

`ModuleSettings` is the table: one field per setting, its type, its default and
a `Spec` (help, CLI flag, whether it may be cleared, its allowed values, how it is
stored). Everything else is derived from it:

- the store's columns and field list (``pipekit.store.schema``, ``store.modules``),
- the validator's type checks and required fields (``engine.validate``),
- the services' defaults, clearable and not-null sets (``services.module_rules``),
- the API's request models and the JSON of a module (``api.schemas``, the views),
- the options of ``pipekit modules add`` and ``edit`` (``cli.modules``),
- the YAML format's module keys (``engine.manifest``),
- the settings table in ``docs/yaml.md`` (``markdown_table``; a test keeps it equal).

Adding a setting is one field here plus a migration that adds its column
(``pipekit/store/migrations``); ``tests/test_module_settings.py`` proves it by doing
exactly that to a copy of the package and finding the new setting in every face.
"""

from __future__ import annotations

from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any, Literal

#: how a value is typed and checked: text, SQL text, true/false, or a re-read window
#: (a duration such as "2 days" or a number)
Kind = Literal["text", "sql", "bool", "window"]

MERGE_STRATEGIES = ("full", "incremental", "append", "upsert")
#: the audit columns' names when the module does not name them
AUDIT_LOADED_AT = "_pipekit_loaded_at"
AUDIT_RUN_ID = "_pipekit_run_id"
WATERMARK_OPS = (">", ">=")


@dataclass(frozen=True)
class Spec:
    """What the faces need to know about one setting besides its name and default."""

    help: str
    #: the option of `pipekit modules add/edit`; booleans get `--x/--no-x` pairs
    flag: str
    kind: Kind = "text"
    #: an optional setting that a change may set back to null ("" on the command line)
    clearable: bool = False
    #: the validator refuses a module without it; `required` says what it is for
    required: str | None = None
    choices: tuple[str, ...] = ()
    #: the `--x/--no-x` words of a boolean (default: --flag/--no-flag)
    negative: str | None = None
    #: stored as the id of the connection with this name (column `<name>_connection_id`)
    connection: bool = False
    #: a length limit of the stored text (None: unlimited)
    max_length: int | None = None
    #: the longer explanation in docs/yaml.md (default: `help`)
    doc: str | None = None
    #: the default as docs/yaml.md words it, when the value alone does not say it
    default_doc: str | None = None

    @property
    def negative_flag(self) -> str:
        return self.negative or "--no-" + self.flag.removeprefix("--")


def setting(default: Any = None, **spec: Any) -> Any:
    """One row of the table: a dataclass field with its `Spec` in the metadata."""
    return field(default=default, metadata={"spec": Spec(**spec)})


@dataclass(frozen=True, kw_only=True)
class ModuleSettings:
    """The settings of a module, in the order every face shows them."""

    source: str | None = setting(
        help="Connection the source query runs on.",
        flag="--source",
        required="the connection the source query runs on",
        connection=True,
    )
    dest: str | None = setting(
        help="Connection the rows are loaded into.",
        flag="--dest",
        required="the connection the rows are loaded into",
        connection=True,
    )
    dest_table: str | None = setting(
        help="Destination table, e.g. sync.orders.",
        flag="--dest-table",
        required="the destination table, e.g. sync.orders",
        doc=(
            "`schema.table` or `table`; a part with spaces or special characters is "
            'double-quoted (`sync."Order Lines"`)'
        ),
    )
    source_query: str | None = setting(
        help="The SELECT that reads the source (this or --source-table is required).",
        flag="--query",
        kind="sql",
        clearable=True,
        doc=(
            "one SELECT, in the source's SQL dialect; multi-line with `\\|`; "
            "exactly one of `source_query` and `source_table`"
        ),
    )
    source_table: str | None = setting(
        help="A table of a connector connection to read, instead of a query.",
        flag="--source-table",
        clearable=True,
        doc=(
            "the table of a connector connection (`rest+https://`, `file:///`, `s3://`, "
            "`connector://`) the module reads; exactly one of `source_query` and `source_table`"
        ),
    )
    merge_strategy: str = setting(
        "full",
        help="How rows land: full, incremental, append or upsert.",
        flag="--strategy",
        choices=MERGE_STRATEGIES,
        max_length=20,
    )
    merge_key: str | None = setting(
        help='Destination key column(s), comma separated: "a, b".',
        flag="--merge-key",
        clearable=True,
        doc=(
            'destination column(s) identifying a row; `"a, b"` for a composite key; '
            "required by `incremental` and `upsert`"
        ),
    )
    watermark_column: str | None = setting(
        help="Destination column that grows, e.g. updated_at: only newer rows are read.",
        flag="--watermark-column",
        clearable=True,
        doc="one destination column that grows (a timestamp or an id)",
        default_doc=(
            "`incremental`: the merge key when it is one column and the query has no "
            "`{named}` watermark"
        ),
    )
    watermark_op: str = setting(
        ">",
        help="Compare the watermark column with '>' or '>='.",
        flag="--watermark-op",
        choices=WATERMARK_OPS,
        max_length=2,
    )
    lookback: str | None = setting(
        help="Re-read window below the watermark: a duration ('2 days') or a number (100).",
        flag="--lookback",
        kind="window",
        clearable=True,
        doc=(
            're-read window before the watermark: a duration (`"2 days"`, `"90 minutes"`, '
            '`"1h"`) or a number for numeric watermarks (`1000`)'
        ),
    )
    safety_lag: str | None = setting(
        help="Leave out rows newer than now minus this duration, e.g. '5 minutes'.",
        flag="--safety-lag",
        clearable=True,
        doc="a duration: rows newer than now minus the lag wait for the next run",
    )
    key_sync: bool = setting(
        False,
        help="Delete destination rows whose key left the source.",
        flag="--key-sync",
        kind="bool",
        doc="after the load, delete destination rows whose key left the source",
    )
    key_sync_query: str | None = setting(
        help="SQL that returns the source's keys (default: derived from the query).",
        flag="--key-sync-query",
        kind="sql",
        clearable=True,
        doc="the query listing every source key, in `merge_key` order",
    )
    full_refresh_cron: str | None = setting(
        help="Cron that forces a full reload, e.g. '0 3 * * 0'.",
        flag="--full-refresh-cron",
        clearable=True,
        max_length=200,
        doc="a second cadence that forces a `full` load",
    )
    audit_columns: bool = setting(
        False,
        help="Add audit columns (load time, run id, optionally the record source).",
        flag="--audit-columns",
        kind="bool",
        doc=(
            "add audit columns to every row: when it was loaded and by which run "
            "(named by the three settings below)"
        ),
    )
    audit_loaded_at_column: str | None = setting(
        help="Name of the audit column holding when a row was loaded.",
        flag="--audit-loaded-at-column",
        clearable=True,
        doc=(
            "the name of the audit column holding when a row was loaded (a timestamp, UTC); "
            "used when `audit_columns` is on"
        ),
        default_doc="`_pipekit_loaded_at`",
    )
    audit_run_id_column: str | None = setting(
        help="Name of the audit column holding the run that loaded a row.",
        flag="--audit-run-id-column",
        clearable=True,
        doc=(
            "the name of the audit column holding the id of the run that loaded a row; "
            "used when `audit_columns` is on"
        ),
        default_doc="`_pipekit_run_id`",
    )
    audit_source_column: str | None = setting(
        help="Name of a record-source audit column: where each row came from.",
        flag="--audit-source-column",
        clearable=True,
        doc=(
            "adds a record-source audit column of this name (seeds/003's "
            "`dss_record_source`): the source connection, or `connection/table` for a "
            "`source_table`; used when `audit_columns` is on"
        ),
        default_doc="none: no such column",
    )
    enabled: bool = setting(
        True,
        help="Switched on: runs and schedules include it.",
        flag="--enabled",
        kind="bool",
        negative="--disabled",
        doc="`false`: group runs and schedules skip the module",
    )


@dataclass(frozen=True, kw_only=True)
class ModuleIdentity:
    """A module's id and name. Records and views list it before `ModuleSettings`
    (``class View(ModuleSettings, ModuleIdentity)``) so id and name come first."""

    id: int
    name: str


@dataclass(frozen=True)
class SettingInfo:
    """One setting as the faces read it: the field's name and default with its Spec."""

    name: str
    default: Any
    spec: Spec

    @property
    def kind(self) -> Kind:
        return self.spec.kind

    @property
    def python_type(self) -> type:
        return bool if self.spec.kind == "bool" else str

    @property
    def nullable(self) -> bool:
        """Null allowed: the settings without a default (required or optional ones)."""
        return self.default is None

    @property
    def type_words(self) -> str:
        if self.spec.kind == "bool":
            return "true/false"
        if self.spec.kind == "window":
            return "duration or number"
        if self.spec.choices:
            return " \\| ".join(f"`{c}`" for c in self.spec.choices)
        return "SQL" if self.spec.kind == "sql" else "text"


def _info(f: Field[Any]) -> SettingInfo:
    default = None if f.default is MISSING else f.default
    return SettingInfo(f.name, default, f.metadata["spec"])


#: the table, in order
SETTINGS: tuple[SettingInfo, ...] = tuple(_info(f) for f in fields(ModuleSettings))
BY_NAME: dict[str, SettingInfo] = {s.name: s for s in SETTINGS}
#: the setting names, in display order (what `apply`, `export` and the validator read)
NAMES: tuple[str, ...] = tuple(BY_NAME)
CLEARABLE: tuple[str, ...] = tuple(s.name for s in SETTINGS if s.spec.clearable)
#: settings that always have a value: null is refused
NOT_NULL: tuple[str, ...] = tuple(s.name for s in SETTINGS if not s.nullable)
#: what a new module gets for a setting it leaves out
DEFAULTS: dict[str, Any] = {s.name: s.default for s in SETTINGS if s.default is not None}
REQUIRED: dict[str, str] = {s.name: s.spec.required for s in SETTINGS if s.spec.required}
BOOLS: tuple[str, ...] = tuple(s.name for s in SETTINGS if s.kind == "bool")
#: settings given as text (a window may also be a number: checked on its own)
TEXTS: tuple[str, ...] = tuple(s.name for s in SETTINGS if s.kind in ("text", "sql"))
#: settings whose value is too long for a change line ("source_query changed")
LONG: tuple[str, ...] = tuple(s.name for s in SETTINGS if s.kind == "sql")
#: the CLI option that sets each setting, for messages in the command's words
FLAGS: dict[str, str] = {s.name: s.spec.flag for s in SETTINGS}


def markdown_table() -> str:
    """The settings as the Markdown table in docs/yaml.md (kept equal by a test)."""
    lines = [
        "| key | type | default | CLI option | meaning |",
        "|---|---|---|---|---|",
    ]
    for s in SETTINGS:
        if s.spec.required:
            default = "required"
        elif s.default is None:
            default = "none" + (" (clearable)" if s.spec.clearable else "")
        else:
            default = f"`{str(s.default).lower() if s.kind == 'bool' else s.default}`"
        flag = f"`{s.spec.flag}`"
        if s.kind == "bool":
            flag = f"`{s.spec.flag}` / `{s.spec.negative_flag}`"
        if s.spec.default_doc:
            default = s.spec.default_doc
        text = s.spec.doc or s.spec.help
        lines.append(f"| `{s.name}` | {s.type_words} | {default} | {flag} | {text} |")
    return "\n".join(lines) + "\n"


def audit_column_names(m: ModuleSettings) -> list[str]:
    """The audit columns a module's rows get (none when `audit_columns` is off)."""
    if not m.audit_columns:
        return []
    names = [m.audit_loaded_at_column or AUDIT_LOADED_AT, m.audit_run_id_column or AUDIT_RUN_ID]
    return names + ([m.audit_source_column] if m.audit_source_column else [])
