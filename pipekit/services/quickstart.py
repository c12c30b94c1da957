"""The quickstart as a service: the demo folder, its definitions, and checking the sync.

Builds a self-contained folder (DESIGN 10) that needs no server:

- ``pipekit.yaml`` and the SQLite state database ``pipekit.db`` (as `pipekit
  init` makes them; the secrets file is ``secrets.env`` next to them);
- ``source.db``, the sample shop of :mod:`pipekit.samples.shop`;
- ``warehouse.duckdb``, an empty DuckDB warehouse;
- connections ``source`` and ``warehouse``, one module per merge strategy
  (``products`` full, ``customers`` upsert, ``orders`` incremental with
  look-back, key_sync and checks) landing in the warehouse's ``shop`` schema,
  and the group ``shop`` running them in that order, with a nightly schedule.

Then ``apply_changes`` (from the sample) edits the source, and
:func:`compare_tables` / :func:`expected_reads` say what the next incremental
run must read and leave behind. Faces print; this module prints nothing
(``pipekit.cli.quickstart`` is one face, a web UI can reuse all of it).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipekit.errors import (
    PipekitError,
    QuickstartExistsError,
)
from pipekit.samples.shop import (
    ORDERS_LOOKBACK,
    SEED,
    Changes,
    SourceData,
    apply_changes,
    generate_source,
    ts,
    utc_now,
)

if TYPE_CHECKING:
    from pipekit.config import Config
    from pipekit.engine.run import Engine

__all__ = [
    "CONFIG_FILE",
    "GROUP",
    "MODULES",
    "ORDERS_LOOKBACK",
    "SCHEDULE",
    "SCHEMA",
    "SEED",
    "SOURCE",
    "SOURCE_DB",
    "STATE_DB",
    "WAREHOUSE",
    "WAREHOUSE_DB",
    "Changes",
    "Quickstart",
    "QuickstartExistsError",
    "SourceData",
    "TableComparison",
    "apply_changes",
    "compare_tables",
    "expected_reads",
    "generate_source",
    "ids_present",
    "setup",
    "ts",
]

DEFAULT_DIR = "pipekit-quickstart"
CONFIG_FILE = "pipekit.yaml"
STATE_DB = "pipekit.db"
SECRETS_FILE = "secrets.env"
SOURCE_DB = "source.db"
WAREHOUSE_DB = "warehouse.duckdb"
#: the files a quickstart makes; any of them in a folder means "a quickstart is here"
MARKERS = (CONFIG_FILE, STATE_DB, SOURCE_DB, WAREHOUSE_DB)
#: what --force removes: the markers and the databases' side files (secrets.env is kept)
_SIDE_SUFFIXES = ("", "-wal", "-shm", "-journal", ".wal", ".tmp")

GROUP = "shop"
SCHEDULE = "0 2 * * *"
SOURCE = "source"
WAREHOUSE = "warehouse"
SCHEMA = "shop"

#: The modules, in group order, as `pipekit.store` module fields (plus ``checks``).
MODULES: tuple[dict[str, Any], ...] = (
    {
        "name": "products",
        "source_query": "SELECT id, sku, name, category, unit_price FROM products",
        "dest_table": f"{SCHEMA}.products",
        "merge_strategy": "full",
        "merge_key": "id",
    },
    {
        "name": "customers",
        "source_query": "SELECT id, name, email, country, created_at, updated_at FROM customers",
        "dest_table": f"{SCHEMA}.customers",
        "merge_strategy": "upsert",
        "merge_key": "id",
        "watermark_column": "updated_at",
    },
    {
        "name": "orders",
        "source_query": (
            "SELECT id, customer_id, status, amount, ordered_at, updated_at FROM orders"
        ),
        "dest_table": f"{SCHEMA}.orders",
        "merge_strategy": "incremental",
        "merge_key": "id",
        "watermark_column": "updated_at",
        "lookback": ORDERS_LOOKBACK,
        "key_sync": True,
        "checks": (
            ("no_null_keys", f"SELECT id FROM {SCHEMA}.orders WHERE id IS NULL"),
            (
                "no_negative_amounts",
                f"SELECT id, amount FROM {SCHEMA}.orders WHERE amount < 0",
            ),
        ),
    },
)
TABLES = tuple(m["name"] for m in MODULES)


# -- the folder -----------------------------------------------------------------------


def found_markers(directory: Path) -> list[str]:
    """The quickstart files already in `directory` (empty: none, or no folder)."""
    return [name for name in MARKERS if (Path(directory) / name).exists()]


def _own_paths(directory: Path) -> list[Path]:
    return [directory / f"{name}{suffix}" for name in MARKERS for suffix in _SIDE_SUFFIXES]


def prepare_dir(directory: Path, *, force: bool = False) -> bool:
    """Check (and with `force`, clear) the folder; returns whether it was created.

    Refuses a folder that already holds a quickstart unless `force`, which
    removes only the files a quickstart makes (anything else in the folder,
    including ``secrets.env``, is left alone). Nothing is changed on refusal.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise PipekitError(f"{directory} is a file, not a folder; pick another folder")
    found = found_markers(directory)
    if found and not force:
        raise QuickstartExistsError(
            f"{directory} already holds a quickstart ({', '.join(found)}); remove it or "
            "pick another folder (or pass --force to recreate it: that deletes "
            f"{', '.join(MARKERS)} there, with every connection, module and run recorded "
            "in that state database; secrets.env and other files stay)"
        )
    if found:
        for path in _own_paths(directory):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    created = not directory.exists()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PipekitError(f"cannot create the folder {directory}: {exc.strerror}") from None
    return created


# -- setup ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quickstart:
    """A quickstart folder and what is defined in its state database."""

    dir: Path
    config_path: Path
    source: SourceData
    source_url: str
    warehouse_url: str
    modules: tuple[str, ...]
    group: str
    schedule_id: int
    schema_version: int

    @property
    def state_db(self) -> Path:
        return self.dir / STATE_DB

    @property
    def source_path(self) -> Path:
        return self.dir / SOURCE_DB

    @property
    def warehouse_path(self) -> Path:
        return self.dir / WAREHOUSE_DB

    def config(self) -> Config:
        from pipekit.config import load_config

        return load_config(self.config_path)

    def engine(self) -> Engine:
        """An engine on this quickstart's state store; close it with ``with engine.store:``."""
        from pipekit.engine.run import Engine
        from pipekit.store import Store

        config = self.config()
        return Engine.from_config(Store.open(config), config)


def setup(
    directory: Path | str = DEFAULT_DIR,
    *,
    force: bool = False,
    now: dt.datetime | None = None,
    seed: int = SEED,
) -> Quickstart:
    """Build the whole quickstart in `directory` (config, state DB, source, definitions).

    Refuses a folder that already holds one (``QuickstartExistsError``) unless
    `force`. If anything fails half-way, the files made so far are removed.
    """
    directory = Path(directory).expanduser().absolute()
    created = prepare_dir(directory, force=force)
    try:
        return _build(directory, now=now or utc_now(), seed=seed)
    except BaseException:
        for path in _own_paths(directory):
            path.unlink(missing_ok=True)
        if created:
            with suppress(OSError):
                directory.rmdir()
        raise


def _build(directory: Path, *, now: dt.datetime, seed: int) -> Quickstart:
    from pipekit.config import default_config_text, load_config
    from pipekit.engine.connections import add_connection
    from pipekit.store import Store

    config_path = directory / CONFIG_FILE
    # its database files are all in its folder: connections are held to it
    text = default_config_text().replace(
        "  allowed_directories: null", "  allowed_directories:\n  - ."
    )
    config_path.write_text(
        "# Written by `pipekit quickstart`: a self-contained demo (see docs/quickstart.md).\n"
        + text
    )
    config = load_config(config_path)
    source = generate_source(directory / SOURCE_DB, now=now, seed=seed)
    source_url = f"sqlite:///{directory / SOURCE_DB}"
    warehouse_url = f"duckdb:///{directory / WAREHOUSE_DB}?create=true"
    with Store.open(config) as store:
        store.init()
        version = store.schema_version() or 0
        add_connection(store, SOURCE, source_url)
        add_connection(store, WAREHOUSE, warehouse_url)
        for spec in MODULES:
            fields = {k: v for k, v in spec.items() if k not in ("name", "checks")}
            store.modules.add(
                spec["name"], source=SOURCE, dest=WAREHOUSE, changed_by="quickstart", **fields
            )
            for check_name, sql in spec.get("checks", ()):
                store.checks.add(spec["name"], check_name, sql=sql, changed_by="quickstart")
        store.groups.add(
            GROUP,
            description="The quickstart shop: lookups, then customers, then orders",
            members=TABLES,
        )
        schedule = store.schedules.add(GROUP, SCHEDULE)
    return Quickstart(
        dir=directory,
        config_path=config_path,
        source=source,
        source_url=source_url,
        warehouse_url=warehouse_url,
        modules=TABLES,
        group=GROUP,
        schedule_id=schedule.id,
        schema_version=version,
    )


def expected_reads(changes: Changes, source_rows: dict[str, int]) -> dict[str, int]:
    """Rows each module must read in the incremental run after `changes`.

    ``products`` (full) reads everything; ``customers`` (upsert, ``>`` the
    warehouse's newest ``updated_at``) exactly the updated customers;
    ``orders`` the updated and new orders plus the unchanged ones inside the
    one-hour look-back (``>=`` newest minus 1 hour).
    """
    return {
        "products": source_rows["products"],
        "customers": len(changes.customers_updated),
        "orders": changes.orders_changed + len(changes.orders_in_lookback),
    }


# -- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class TableComparison:
    """One source table against its warehouse copy."""

    table: str
    dest_table: str
    source_rows: int
    warehouse_rows: int
    #: every row equal, value for value (compared as Arrow, ordered by id)
    identical: bool
    #: ids in one and not the other (at most a few of each, for messages)
    only_in_source: tuple[Any, ...] = ()
    only_in_warehouse: tuple[Any, ...] = ()


def compare_tables(quickstart: Quickstart) -> list[TableComparison]:
    """Each module's source table against the warehouse table, row for row."""
    import pyarrow as pa

    from pipekit.drivers import connect

    result = []
    src = connect(quickstart.source_url)
    dest = connect(quickstart.warehouse_url)
    try:
        for spec in MODULES:
            query = f"{spec['source_query']} ORDER BY id"
            dest_table = spec["dest_table"]
            left = src.read(query).read_all()
            if dest.table_exists(dest_table):
                cols = ", ".join(dest.quote(c) for c in left.schema.names)
                sql = f"SELECT {cols} FROM {dest.table_sql(dest_table)} ORDER BY id"
                right = dest.read(sql).read_all()
            else:
                right = pa.Table.from_batches([], schema=left.schema)
            try:
                # bool(): pyarrow-stubs 20 types Table.equals as returning a Table.
                same = bool(
                    right.num_rows == left.num_rows and right.cast(left.schema).equals(left)
                )
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                same = False
            # A NULL id cannot be sorted among numbers, nor matched: left out of the lists.
            left_ids = {i for i in left.column("id").to_pylist() if i is not None}
            right_ids = {i for i in right.column("id").to_pylist() if i is not None}
            result.append(
                TableComparison(
                    table=spec["name"],
                    dest_table=dest_table,
                    source_rows=left.num_rows,
                    warehouse_rows=right.num_rows,
                    identical=same,
                    only_in_source=tuple(sorted(left_ids - right_ids)[:5]),
                    only_in_warehouse=tuple(sorted(right_ids - left_ids)[:5]),
                )
            )
    finally:
        src.close()
        dest.close()
    return result


def ids_present(quickstart: Quickstart, table: str, ids: Sequence[int]) -> list[int]:
    """Which of `ids` the warehouse's copy of `table` still holds."""
    from pipekit.drivers import connect

    if not ids:
        return []
    dest_table = next(m["dest_table"] for m in MODULES if m["name"] == table)
    dest = connect(quickstart.warehouse_url)
    try:
        listed = ", ".join(str(int(i)) for i in ids)
        rows = dest.query(f"SELECT id FROM {dest.table_sql(dest_table)} WHERE id IN ({listed})")
    finally:
        dest.close()
    return sorted(int(r[0]) for r in rows)
