"""The quickstart's sample shop: a SQLite source with deterministic data, and its changes.

:func:`generate_source` writes ``products``, ``customers`` and ``orders`` with
``random.Random(seed)``, every timestamp an offset before ``now``, so the same
seed and ``now`` give the same file. :func:`apply_changes` then edits the source
the way an application would (updates, inserts, deletes) and says, by id, what
it did and which unchanged orders a one-hour look-back will read again.

Only the standard library's ``sqlite3`` is used: the demo's source data needs
no driver, engine or state store. Timestamps are naive UTC wall time (the
drivers' convention for naive columns), stored as ISO text with six fractional
digits — the text the SQLite driver itself writes — so text comparisons in
watermark WHEREs order them correctly.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

SEED = 20240601
#: the orders module's look-back: `apply_changes` reports the rows it re-reads
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
