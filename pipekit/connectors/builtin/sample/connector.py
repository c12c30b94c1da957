"""Deterministic sample data: ``orders`` (incremental by ``id``) and ``customers``.

Every value is computed from the row's id, so a run is repeatable and an
incremental run (``rows`` raised since the last one) reads only the new ids.
Batches are built with Arrow compute, so a million rows take about a second.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipekit.connectors.protocol import Cap, ReadOptions, TableInfo

STATUSES = pa.array(["new", "paid", "shipped", "returned"])
EPOCH_US = int(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp() * 1_000_000)

# Annotated: mypy joins Field[Int64Type], Field[StringType], ... to object.
_ORDER_FIELDS: list[pa.Field[Any]] = [
    pa.field("id", pa.int64(), nullable=False),
    pa.field("customer_id", pa.int64(), nullable=False),
    pa.field("status", pa.string()),
    pa.field("amount", pa.float64()),
    pa.field("paid", pa.bool_()),
    pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("order_date", pa.date32()),
]
ORDERS = pa.schema(_ORDER_FIELDS)
_CUSTOMER_FIELDS: list[pa.Field[Any]] = [
    pa.field("id", pa.int64(), nullable=False),
    pa.field("name", pa.string(), nullable=False),
    pa.field("country", pa.string()),
]
CUSTOMERS = pa.schema(_CUSTOMER_FIELDS)
COUNTRIES = pa.array(["CZ", "DE", "FR", "NL", "US"])


class SampleConnector:
    """Reads nothing from anywhere: the rows are made from their ids."""

    capabilities = Cap.DISCOVER | Cap.READ

    def __init__(self, config: dict[str, Any]) -> None:
        self.rows = int(config.get("rows", 1000))
        self.customers = int(config.get("customers", 100))
        if self.rows < 0 or self.customers < 1:
            raise ValueError("rows must be 0 or more and customers 1 or more")

    def discover(self) -> list[TableInfo]:
        return [
            TableInfo(
                name="orders",
                schema=ORDERS,
                capabilities=Cap.READ,
                primary_key=["id"],
                description="Sample orders, one a minute from 2026-01-01",
                incremental_key="id",
            ),
            TableInfo(
                name="customers",
                schema=CUSTOMERS,
                capabilities=Cap.READ,
                primary_key=["id"],
                description="Sample customers",
            ),
        ]

    def read(self, table: str, options: ReadOptions) -> Iterator[pa.RecordBatch]:
        if table == "orders":
            first = 1
            if options.incremental_value is not None:
                after = int(options.incremental_value)
                first = after if options.incremental_op == ">=" else after + 1
            yield from _batches(first, self.rows, options.batch_size, _orders, self.customers)
        elif table == "customers":
            yield from _batches(1, self.customers, options.batch_size, _customers, 0)
        else:
            raise ValueError(f"sample has no table {table!r}")


def _batches(
    first: int, last: int, size: int, make: Any, customers: int
) -> Iterator[pa.RecordBatch]:
    for start in range(first, last + 1, size):
        ids = pa.array(range(start, min(start + size, last + 1)), pa.int64())
        yield make(ids, customers)


def _mod(ids: pa.Array[Any], n: int) -> pa.Array[Any]:
    # Arrow has no modulo kernel; integer division truncates, which is enough for ids > 0
    return pc.subtract(ids, pc.multiply(pc.divide(ids, n), n))


def _orders(ids: pa.Array[Any], customers: int) -> pa.RecordBatch:
    minutes = pc.multiply(ids, 60_000_000)
    created = pc.cast(pc.add(minutes, EPOCH_US), pa.timestamp("us", tz="UTC"))
    return pa.RecordBatch.from_arrays(
        [
            ids,
            pc.add(_mod(ids, customers), 1),
            pc.take(STATUSES, pc.bit_wise_and(ids, 3)),
            pc.divide(pc.cast(pc.bit_wise_and(pc.multiply(ids, 7919), 65535), pa.float64()), 100),
            pc.equal(pc.bit_wise_and(ids, 1), pa.scalar(0, pa.int64())),
            created,
            pc.cast(pc.cast(created, pa.timestamp("us")), pa.date32()),
        ],
        schema=ORDERS,
    )


def _customers(ids: pa.Array[Any], _: int) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [
            ids,
            # pyarrow-stubs 20 wants every argument of one type; pyarrow mixes str and arrays
            pc.binary_join_element_wise("customer ", pc.cast(ids, pa.string()), ""),  # type: ignore[call-overload]
            pc.take(COUNTRIES, _mod(ids, len(COUNTRIES))),
        ],
        schema=CUSTOMERS,
    )
