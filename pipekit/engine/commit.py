"""A run's commit: the merge statements, the checks and the counts, in one transaction.

``CommitSteps`` is mixed into the run (``engine/execute.py``), whose state and
logging it uses. The destination changes only inside ``dest.transaction()``
(DDL just before it where DDL cannot be rolled back, as on MariaDB, and only
ever adding); a check that returns rows, a duplicate merge key or a cancel
rolls everything back. The row counts come from the statements themselves
where they are exact, else from a count inside the transaction.
"""

from __future__ import annotations

from contextlib import ExitStack, nullcontext, suppress
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from pipekit.errors import CheckFailedError, DatabaseError, PipekitError
from pipekit.run_counters import counter_text
from pipekit.store.runs import COMMIT_COUNTERS

if TYPE_CHECKING:
    from pipekit.drivers.base import Driver, TableRef
    from pipekit.engine.merge import MergePlan
    from pipekit.engine.run import Engine
    from pipekit.store.modules import Module


def count_rows(driver: Driver, table: TableRef) -> int:
    return int(driver.query(f"SELECT COUNT(*) FROM {driver.table_sql(table)}")[0][0])


class CommitSteps:
    """The commit half of a run; the run supplies the attributes declared here."""

    engine: Engine
    run_id: int
    module: Module
    dest: Driver
    table: TableRef
    staged: TableRef
    keys: list[str]
    dest_pk: list[str]
    dest_exists: bool
    rows: int
    record: dict[str, Any]
    check_sql: list[str]
    committed: bool
    ddl_committed: bool
    phase: str

    if TYPE_CHECKING:

        def log(self, message: str, *, phase: str | None = None) -> None: ...
        def check_cancel(self) -> None: ...
        def _key_table(self) -> TableRef: ...

    def _merge(self, plan: MergePlan) -> None:
        keyed = sorted(self.dest_pk) == sorted(k.lower() for k in self.keys)
        # A full or delete-and-insert load into a table keyed on the merge key gets the
        # same refusal from the primary key itself (a swap's new table from building
        # its key); grouping every staged row first would cost a scan. The grouping
        # then only words the refusal.
        if plan.swap is not None:
            key_refuses = keyed
        else:
            key_refuses = keyed and plan.strategy in ("full", "incremental")
        if not key_refuses:
            self._check_duplicates()
        try:
            self._merge_in_transaction(plan)
        except DatabaseError as exc:
            if key_refuses and plan.swap is None:
                try:
                    self._check_duplicates()  # rolled back; raises when a key came twice
                except DatabaseError:
                    # the check could not run either (the connection died): the merge's
                    # own error says what happened, not the check's
                    raise exc from None
            raise

    def _merge_in_transaction(self, plan: MergePlan) -> None:
        dest = self.dest
        self.log(f"merging into {self.table} ({plan.strategy})", phase="merge")
        if not dest.transactional_ddl:
            for sql in plan.ddl:  # MariaDB commits DDL at once; it only ever adds
                dest.execute(sql)
                self.ddl_committed = True
            self._log_schema_changes(plan)
        counts: dict[str, int] = {}
        # Statements that only insert and delete are held to the load's memory cap
        # where the database spills past it (DuckDB); an upsert is not: DuckDB
        # keeps an UPDATE's new values in memory and ran out under the cap.
        touched = [self.table, self.staged]
        if plan.key_sync:
            touched.append(self._key_table())
        # Nor is a clear of the whole table (a full refresh that cannot swap): DuckDB
        # holds the id of every row a transaction deleted, about 50 MB per 6M rows.
        uncapped = any(what in ("upsert", "clear") for what, _ in plan.statements)
        capped = nullcontext() if uncapped else dest.capped_memory(touched)
        with capped, dest.transaction():
            if dest.transactional_ddl:
                for sql in plan.ddl:
                    dest.execute(sql)
            before = None
            if plan.strategy == "full" and self.dest_exists:
                before = count_rows(dest, self.table)
            with ExitStack() as alongside:
                counted = None
                if self._count_alongside(plan):
                    counted = alongside.enter_context(dest.count_alongside(self.table))
                for what, sql in plan.statements:
                    self.check_cancel()
                    if what == "replace and insert":
                        # every staged row is written; the statement counts the replaced
                        counts["replace"] = int(dest.query(sql)[0][0])
                        counts["insert"] = self.rows
                    else:
                        counts[what] = dest.execute_count(sql)
                    if what == "lock" and plan.swap is not None:
                        self._recheck_swap(plan)
                self.check_cancel()
                self._run_checks()
                if plan.swap is not None:
                    counts["insert"] = self.rows
                start = counted() if counted is not None else None
            if plan.strategy == "full":
                # after a full load the table holds exactly the rows inserted
                total = counts["insert"]
            elif start is not None:
                added = counts.get("insert", 0) + counts.get("insert new", 0)
                total = start + added - counts.get("replace", 0) - counts.get("key_sync", 0)
            else:
                total = count_rows(dest, self.table)
            self.check_cancel()
            self.phase = "commit"
        self.committed = True
        if dest.transactional_ddl:
            # only now: a change rolled back with the merge never happened
            self._log_schema_changes(plan)
        inserted = sum(counts.get(k, 0) for k in ("insert", "insert new"))
        if "upsert" in counts:
            # every staged row is inserted or updates its row; MariaDB's affected-row
            # count says 2 for an update and 0 for an unchanged row, so it is not used
            inserted = self.rows
        self.record.update(
            rows_inserted=inserted,
            # an upsert updates in place: how many rows it replaced is not known
            rows_replaced=None if "upsert" in counts else counts.get("replace", 0),
            rows_deleted=counts.get("key_sync", 0),
            rows_cleared=before or 0,
            row_count=total,
        )
        with suppress(Exception):  # bookkeeping must never be what fails a run
            # at once: a run killed in its hooks is recovered as "interrupted", and its
            # record must still say the destination changed (exit code 3, not 1)
            counters = {k: self.record[k] for k in COMMIT_COUNTERS}
            self.engine.store.runs.set_progress(self.run_id, committed=True, **counters)
        summary = SimpleNamespace(**{**self.record, "rows_read": self.rows})
        self.log(f"committed into {self.table}: {counter_text(summary)}")

    def _log_schema_changes(self, plan: MergePlan) -> None:
        for change in plan.schema_changes:
            self.log(change)

    def _count_alongside(self, plan: MergePlan) -> bool:
        """Whether the rows after the merge follow from a count of the table before
        it and the statements' own counts (every one of them exact), with no DDL in
        the transaction whose lock the count would wait for."""
        if not self.dest_exists or plan.ddl or plan.swap is not None:
            return False
        exact = {"replace and insert", "replace", "insert", "insert new", "key_sync"}
        return plan.strategy != "full" and all(w in exact for w, _ in plan.statements)

    def _recheck_swap(self, plan: MergePlan) -> None:
        """Under the lock: refuse the swap if the table changed while the rows loaded."""
        now = self.dest.swap_info(self.table)
        if now != plan.swap:
            changed = "; ".join(now.blockers) or "its grants, comment or primary key changed"
            raise PipekitError(
                f"{self.table} changed during the run ({changed}), so the new rows were not "
                "swapped in (nothing was changed); run again: the next run sees the change"
            )

    def _check_duplicates(self) -> None:
        if not self.keys or self.module.merge_strategy == "append":
            return
        # a hash table of every staged key (DuckDB holds it to a memory cap)
        rows = self.dest.duplicate_keys(self.staged, self.keys)
        if rows:
            shown = "; ".join(f"({', '.join(str(v) for v in r[:-1])}) x{r[-1]}" for r in rows)
            raise PipekitError(
                f"the source returned the merge key ({', '.join(self.keys)}) more than once: "
                f"{shown}; make the query return one row per key or change merge_key "
                "(nothing was changed)"
            )

    def _run_checks(self) -> None:
        for check in self._checks():
            self.check_cancel()
            sql = check.sql.strip().rstrip(";")
            self.check_sql.append(f"-- check {check.name}\n{sql}")
            rows = self.dest.query(f"SELECT * FROM ({sql}\n) pipekit_check LIMIT 6")
            if rows:
                shown = "; ".join(str(tuple(r)) for r in rows[:5])
                more = " (and more)" if len(rows) > 5 else ""
                raise CheckFailedError(
                    f"check '{check.name}' failed: it returned rows, first: {shown}{more}; "
                    "the merge was rolled back"
                )
            self.log(f"check {check.name} passed")

    def _checks(self) -> list[Any]:
        return self.engine.store.checks.list(self.module.name)
