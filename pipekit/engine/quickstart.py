"""`pipekit quickstart` without the printing: sample data, setup, changes, verification.

Builds a self-contained folder (DESIGN 10) that needs no server:

- ``pipekit.yaml`` and the SQLite state database ``pipekit.db`` (as `pipekit
  init` makes them; the secrets file is ``secrets.env`` next to them);
- ``source.db``, a SQLite "shop" with generated, deterministic sample data
  (``random.Random(seed)``; every timestamp is an offset before ``now``);
- ``warehouse.duckdb``, an empty DuckDB warehouse;
- connections ``source`` and ``warehouse``, one module per merge strategy
  (``products`` full, ``customers`` upsert, ``orders`` incremental with
  look-back, key_sync and checks) landing in the warehouse's ``shop`` schema,
  and the group ``shop`` running them in that order, with a nightly schedule.

Then :func:`apply_changes` edits the source the way an application would
(updates, inserts, deletes), and :func:`compare_tables` /
:func:`expected_reads` say what the next incremental run must read and leave
behind. The CLI (``pipekit.cli.quickstart``) prints; a web UI can reuse all of it.

Timestamps are naive UTC wall time (the drivers' convention for naive
columns), stored in SQLite as ISO text with six fractional digits — the text
the SQLite driver itself writes — so text comparisons in watermark WHEREs order
them correctly.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import sqlite3
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipekit.errors import (
    PipekitError,
    QuickstartExistsError,
)

if TYPE_CHECKING:
    from pipekit.config import Config
    from pipekit.engine.run import Engine

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

SEED = 20240601
GROUP = "shop"
SCHEDULE = "0 2 * * *"
SOURCE = "source"
WAREHOUSE = "warehouse"
SCHEMA = "shop"
ORDERS_LOOKBACK = "1 hour"
LOOKBACK_DELTA = dt.timedelta(hours=1)

N_CUSTOMERS = 1_000
N_ORDERS = 20_000
N_ORDERS_UPDATED = 50
N_ORDERS_INSERTED = 20
N_ORDERS_DELETED = 5
N_CUSTOMERS_UPDATED = 10
HISTORY_DAYS = 365

TS_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

SOURCE_DDL = """
CREATE TABLE products (
    id          INTEGER PRIMARY KEY,
    sku         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    category    TEXT NOT NULL,
    unit_price  DECIMAL(10,2) NOT NULL
);
CREATE TABLE customers (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    country     TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE TABLE orders (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    status      TEXT NOT NULL,
    amount      DECIMAL(12,2) NOT NULL,
    ordered_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX customers_updated_at ON customers (updated_at);
CREATE INDEX orders_updated_at ON orders (updated_at);
CREATE INDEX orders_customer_id ON orders (customer_id);
"""

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

_FIRST = (  # noqa: SIM905
    "Ada Alan Alice Amir Ana Ben Bruno Carla Chen Chloe Dana David Elena Emma Farah "
    "Felix Grace Hana Hugo Ines Ivan Jana Jonas Julia Kai Karin Lars Lea Leo Lina "
    "Luca Maya Mia Mohammed Nina Noah Olga Omar Pablo Paula Priya Quinn Rosa Sam "
    "Sara Sofia Tariq Theo Uma Vera Wei Yara Yusuf Zoe"
).split()
_LAST = (  # noqa: SIM905
    "Adams Berg Costa Dubois Eriksen Fischer Garcia Hansen Ito Jensen Kowalski "
    "Larsen Martin Meyer Moreau Nagy Novak Okafor Olsen Petrov Quinn Rossi Santos "
    "Schmidt Silva Tanaka Torres Usman Varga Wagner Wang Weber Xu Yilmaz Zhang"
).split()
_COUNTRIES = (
    ("DE", 22), ("FR", 15), ("GB", 14), ("US", 12), ("NL", 8), ("ES", 8), ("IT", 7),
    ("SE", 5), ("PL", 5), ("CH", 4),
)  # fmt: skip
_PRODUCTS = (
    ("KB-01", "Mechanical keyboard", "peripherals", "89.00"),
    ("MS-01", "Wireless mouse", "peripherals", "29.90"),
    ("MN-27", "27-inch monitor", "displays", "249.00"),
    ("MN-32", "32-inch monitor", "displays", "379.00"),
    ("HD-01", "Noise-cancelling headset", "audio", "149.50"),
    ("SP-02", "Desk speakers", "audio", "69.99"),
    ("CB-USB", "USB-C cable, 2 m", "accessories", "12.49"),
    ("DK-01", "Docking station", "accessories", "179.00"),
    ("WC-HD", "HD webcam", "video", "59.00"),
    ("LT-01", "Laptop stand", "accessories", "39.95"),
    ("CH-01", "Office chair", "furniture", "299.00"),
    ("DS-01", "Standing desk", "furniture", "549.00"),
)
#: an order's life: each update moves it one step on (cancel/refund end it early)
_NEXT_STATUS = {"pending": "paid", "paid": "shipped", "shipped": "delivered"}
_FINAL = ("delivered", "cancelled", "refunded")


def ts(value: dt.datetime) -> str:
    """A naive UTC datetime as the ISO text the SQLite driver writes and compares."""
    return value.isoformat(sep=" ", timespec="microseconds")  # == strftime(TS_FORMAT)


def utc_now() -> dt.datetime:
    """Now, as naive UTC wall time to the second (what the sample data uses)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


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
            "pick another folder (or pass --force to recreate it)"
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


# -- sample data ------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceData:
    """What `generate_source` made: the file, row counts, and the newest change."""

    path: Path
    rows: dict[str, int]
    #: the newest ``updated_at`` of orders and of customers (naive UTC)
    newest: dict[str, dt.datetime]


def _before(rng: random.Random, now: dt.datetime, max_days: float, min_s: int = 60) -> dt.datetime:
    """A moment between `max_days` and `min_s` seconds before `now`, to the second."""
    seconds = rng.randint(min_s, int(max_days * 86_400))
    return now - dt.timedelta(seconds=seconds)


def _between(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    span = int((end - start).total_seconds())
    return start + dt.timedelta(seconds=rng.randint(0, max(span, 0)))


def _customers(rng: random.Random, now: dt.datetime) -> list[tuple[Any, ...]]:
    codes = [c for c, _ in _COUNTRIES]
    weights = [w for _, w in _COUNTRIES]
    rows = []
    for cid in range(1, N_CUSTOMERS + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        created = _before(rng, now, 2 * HISTORY_DAYS, min_s=86_400)
        # About a third changed something (address, email) since they signed up.
        updated = _between(rng, created, now - dt.timedelta(minutes=1))
        updated = updated if rng.random() < 0.35 else created
        email = f"{first}.{last}{cid}@example.com".lower()
        country = rng.choices(codes, weights)[0]
        rows.append((cid, f"{first} {last}", email, country, ts(created), ts(updated)))
    return rows


def _orders(rng: random.Random, now: dt.datetime) -> list[tuple[Any, ...]]:
    # Ordered times ascending with the id, as an application's sequence would give them.
    ordered = sorted(_before(rng, now, HISTORY_DAYS) for _ in range(N_ORDERS))
    rows = []
    for oid, at in enumerate(ordered, 1):
        age_days = (now - at).total_seconds() / 86_400
        roll = rng.random()
        if roll < 0.04:
            status = "cancelled"
        elif roll < 0.06 and age_days > 3:
            status = "refunded"
        elif age_days > 7:
            status = "delivered"
        elif age_days > 2:
            status = rng.choice(("shipped", "delivered"))
        elif age_days > 0.5:
            status = rng.choice(("paid", "shipped"))
        else:
            status = rng.choice(("pending", "paid"))
        # A new order that is still pending was never touched again; the rest were
        # updated (paid, shipped, ...) some time after they were placed.
        if status == "pending":
            updated = at
        else:
            latest = min(now - dt.timedelta(minutes=1), at + dt.timedelta(days=10))
            updated = _between(rng, at, latest)
        amount = Decimal(rng.randint(500, 60_000)) / 100
        customer = rng.randint(1, N_CUSTOMERS)
        rows.append((oid, customer, status, str(amount), ts(at), ts(updated)))
    return rows


def generate_source(path: Path, *, now: dt.datetime | None = None, seed: int = SEED) -> SourceData:
    """Create the SQLite source `path` with sample shop data, all before `now`.

    The same `seed` and `now` give the same file contents; every timestamp is
    at least a minute before `now` (naive UTC).
    """
    now = now or utc_now()
    rng = random.Random(seed)
    customers = _customers(rng, now)
    orders = _orders(rng, now)
    products = [
        (i, sku, name, cat, price) for i, (sku, name, cat, price) in enumerate(_PRODUCTS, 1)
    ]
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("BEGIN")
        for statement in SOURCE_DDL.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.executemany("INSERT INTO products VALUES (?, ?, ?, ?, ?)", products)
        conn.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?)", customers)
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)", orders)
        conn.execute("COMMIT")
    finally:
        conn.close()
    newest = {  # the fixed-width text sorts like the time it holds
        "customers": dt.datetime.strptime(max(r[5] for r in customers), TS_FORMAT),
        "orders": dt.datetime.strptime(max(r[5] for r in orders), TS_FORMAT),
    }
    rows = {"products": len(products), "customers": len(customers), "orders": len(orders)}
    return SourceData(Path(path), rows, newest)


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
    text = default_config_text()
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


# -- changes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Changes:
    """What `apply_changes` did to the source, by id, and when (naive UTC)."""

    at: dt.datetime
    orders_updated: tuple[int, ...]
    orders_inserted: tuple[int, ...]
    orders_deleted: tuple[int, ...]
    customers_updated: tuple[int, ...]
    #: unchanged orders whose updated_at lies in the look-back window before the
    #: newest updated_at the warehouse had: the next incremental run re-reads them
    orders_in_lookback: tuple[int, ...]

    @property
    def orders_changed(self) -> int:
        """Orders the next run must read because they changed (updated or new)."""
        return len(self.orders_updated) + len(self.orders_inserted)


def apply_changes(
    source_path: Path, *, now: dt.datetime | None = None, seed: int = SEED
) -> Changes:
    """Change the source like an application would, in one transaction.

    Updates ``N_ORDERS_UPDATED`` orders (status one step on) and
    ``N_CUSTOMERS_UPDATED`` customers (email, country), inserts
    ``N_ORDERS_INSERTED`` new orders and deletes ``N_ORDERS_DELETED`` orders;
    every changed row gets ``updated_at = now``. `now` must be later than the
    sample data (the default, the current time, is).
    """
    now = now or utc_now()
    rng = random.Random(seed + 1)
    conn = sqlite3.connect(str(source_path), isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        (newest,) = conn.execute("SELECT MAX(updated_at) FROM orders").fetchone()
        open_orders = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM orders WHERE status IN ('pending', 'paid', 'shipped') ORDER BY id"
            )
        ]
        updated = sorted(rng.sample(open_orders, min(N_ORDERS_UPDATED, len(open_orders))))
        statuses = dict(
            conn.execute(
                f"SELECT id, status FROM orders WHERE id IN ({','.join('?' * len(updated))})",
                updated,
            ).fetchall()
        )
        conn.executemany(
            "UPDATE orders SET status = ?, updated_at = ? WHERE id = ?",
            [(_NEXT_STATUS[statuses[i]], ts(now), i) for i in updated],
        )

        # Deleted: old, finished orders (an archiving job, a GDPR erasure ...).
        taken = set(updated)
        finished = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM orders WHERE status IN ('delivered', 'cancelled', 'refunded') "
                "ORDER BY id"
            )
            if r[0] not in taken
        ]
        deleted = sorted(rng.sample(finished, N_ORDERS_DELETED))
        conn.executemany("DELETE FROM orders WHERE id = ?", [(i,) for i in deleted])

        (last_id,) = conn.execute("SELECT MAX(id) FROM orders").fetchone()
        inserted = list(range(last_id + 1, last_id + 1 + N_ORDERS_INSERTED))
        conn.executemany(
            "INSERT INTO orders VALUES (?, ?, 'pending', ?, ?, ?)",
            [
                (
                    oid,
                    rng.randint(1, N_CUSTOMERS),
                    str(Decimal(rng.randint(500, 60_000)) / 100),
                    ts(now),
                    ts(now),
                )
                for oid in inserted
            ],
        )

        customers = sorted(rng.sample(range(1, N_CUSTOMERS + 1), N_CUSTOMERS_UPDATED))
        codes = [c for c, _ in _COUNTRIES]
        for cid in customers:
            (email,) = conn.execute("SELECT email FROM customers WHERE id = ?", (cid,)).fetchone()
            local = email.split("@", 1)[0]
            conn.execute(
                "UPDATE customers SET email = ?, country = ?, updated_at = ? WHERE id = ?",
                (f"{local}@mail.example.org", rng.choice(codes), ts(now), cid),
            )

        since = ts(dt.datetime.strptime(newest, TS_FORMAT) - LOOKBACK_DELTA)
        changed = set(updated) | set(inserted)
        in_window = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM orders WHERE updated_at >= ? ORDER BY id", (since,)
            )
            if r[0] not in changed
        ]
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()
    return Changes(
        at=now,
        orders_updated=tuple(updated),
        orders_inserted=tuple(inserted),
        orders_deleted=tuple(deleted),
        customers_updated=tuple(customers),
        orders_in_lookback=tuple(in_window),
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
                same = right.num_rows == left.num_rows and right.cast(left.schema).equals(left)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                same = False
            left_ids = set(left.column("id").to_pylist())
            right_ids = set(right.column("id").to_pylist())
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
