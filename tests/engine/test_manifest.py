"""Config as code: apply a YAML file to a real state store, export it back, refuse bad files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pipekit.engine.manifest import ManifestError, apply_manifest, export_manifest
from pipekit.store import Store

# The issue's example, verbatim: a fragment (its group names a module it does not
# define, and its query does not use the {since} it declares).
ISSUE_EXAMPLE = """\
connections:
  erp: {url: "postgresql://127.0.0.1:5432/erp", user: etl, password: "$ERP_PW"}
  dw:  {url: "postgresql://127.0.0.1:5432/dw", supports_deletes: true}
modules:
  orders:
    source: erp
    dest: dw
    dest_table: sync.orders
    source_query: |
      SELECT "DCORD#" AS dcord, RTRIM(dcotyp) AS dcotyp, dcodat AS dcodat
      FROM lgdat.qcrh
    merge_strategy: incremental      # full | incremental | append | upsert
    merge_key: dcord                 # destination names; "a, b" for composite
    watermark_column: dcodat         # destination name; defaults to merge_key
    watermark_op: ">="               # ">" or ">="
    lookback: "2 days"               # or a number for numeric watermarks
    safety_lag: "5 minutes"
    key_sync: true
    key_sync_query: null
    full_refresh_cron: "0 3 * * 0"
    enabled: true
    watermarks:                      # named placeholders, {since} in the query
      since: {connection: dw, resolver_sql: "SELECT max(x) FROM t", default: "1970-01-01"}
    hooks:
      - {sql: "ANALYZE sync.orders", run_on: success}
    checks:
      - {name: no_null_keys, sql: "SELECT 1 FROM sync.orders WHERE dcord IS NULL"}
groups:
  nightly: [orders, customers]
schedules:
  - {group: nightly, cron: "0 2 * * *"}
"""

# The example made whole ({since} used, customers defined) and using more of the format.
EXAMPLE = """\
connections:
  erp: {url: "postgresql://127.0.0.1:5432/erp", user: etl, password: "$ERP_PW"}
  dw:  {url: "postgresql://127.0.0.1:5432/dw", supports_deletes: true}
modules:
  orders:
    source: erp
    dest: dw
    dest_table: sync.orders
    source_query: |
      SELECT "DCORD#" AS dcord, RTRIM(dcotyp) AS dcotyp, dcodat AS dcodat
      FROM lgdat.qcrh
      WHERE dcodat > {since}
    merge_strategy: incremental
    merge_key: dcord
    watermark_column: dcodat
    watermark_op: ">="
    lookback: "2 days"
    safety_lag: "5 minutes"
    key_sync: true
    key_sync_query: SELECT "DCORD#" FROM lgdat.qcrh
    full_refresh_cron: "0 3 * * 0"
    enabled: true
    watermarks:
      since: {connection: dw, resolver_sql: "SELECT max(x) FROM t", default: "1970-01-01"}
    hooks:
      - {sql: "ANALYZE sync.orders", run_on: success}
    checks:
      - {name: no_null_keys, sql: "SELECT 1 FROM sync.orders WHERE dcord IS NULL"}
  customers:
    source: erp
    dest: dw
    dest_table: sync.customers
    source_query: SELECT id, region, name FROM crm.customers
    merge_strategy: upsert
    merge_key: "id, region"
    watermark_column: id
    lookback: 1000
    audit_columns: true
    hooks:
      - sql: |
          REFRESH MATERIALIZED VIEW sync.customer_totals;
          ANALYZE sync.customers
        run_on: always
      - {sql: "NOTIFY loaded", run_on: failure}
groups:
  nightly: [orders, customers]
  weekly: {description: "Sunday extras", modules: [customers]}
schedules:
  - {group: nightly, cron: "0 2 * * *"}
  - {group: weekly, cron: "0 4 * * 0", enabled: false}
"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "state" / "pipekit.db") as s:
        s.init()
        yield s


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An initialised store on each backend (the PostgreSQL one emptied first)."""
    if request.param == "sqlite":
        target = str(tmp_path / "state" / "pipekit.db")
    else:
        target = request.getfixturevalue("pg_url")
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
            conn.execute("CREATE SCHEMA public")
    with Store.open(target) as s:
        s.init()
        yield s


def fresh(tmp_path: Path, name: str) -> Store:
    s = Store.open(tmp_path / f"{name}.db")
    s.init()
    return s


def history_count(store: Store) -> int:
    return sum(len(store.modules.history(m.name)) for m in store.modules.list())


def snapshot(store: Store) -> tuple[str, int, list[tuple[int, str, bool]]]:
    """Everything apply can change: the exported text, history, schedule ids."""
    schedules = [(s.id, s.cron_expr, s.enabled) for s in store.schedules.list()]
    return export_manifest(store), history_count(store), schedules


def problems_of(store: Store, text: str, **kwargs: object) -> list[str]:
    with pytest.raises(ManifestError) as info:
        apply_manifest(store, text, **kwargs)  # type: ignore[arg-type]
    return [str(p) for p in info.value.problems]


# -- the examples ------------------------------------------------------------------------


def test_the_issue_example_validates_but_for_what_it_leaves_out(store: Store) -> None:
    assert problems_of(store, ISSUE_EXAMPLE) == [
        "modules.orders.watermarks.since: is declared but the source query does not use "
        "{since}; use it (e.g. WHERE updated_at > {since}) or remove the watermark",
        "groups.nightly[1]: module 'customers' does not exist; define it under modules",
    ]


def test_validation_never_connects(store: Store) -> None:
    # Nothing listens on port 1: a connection attempt would fail the apply.
    text = EXAMPLE.replace("127.0.0.1:5432", "127.0.0.1:1")
    assert apply_manifest(store, text, dry_run=True).changed


# -- apply ------------------------------------------------------------------------------


def test_apply_creates_everything(any_store: Store) -> None:
    report = apply_manifest(any_store, EXAMPLE)
    assert report.names("connection", "created") == ["dw", "erp"]
    assert report.names("module", "created") == ["customers", "orders"]
    assert report.names("group", "created") == ["nightly", "weekly"]
    assert report.names("schedule", "created") == ["nightly '0 2 * * *'", "weekly '0 4 * * 0'"]

    erp = any_store.connections.get("erp")
    assert (erp.url, erp.user, erp.password, erp.supports_deletes) == (
        "postgresql://127.0.0.1:5432/erp",
        "etl",
        "$ERP_PW",
        True,
    )
    orders = any_store.modules.get("orders")
    assert orders.source_query == (
        'SELECT "DCORD#" AS dcord, RTRIM(dcotyp) AS dcotyp, dcodat AS dcodat\n'
        "FROM lgdat.qcrh\nWHERE dcodat > {since}\n"
    )
    assert (orders.merge_strategy, orders.merge_key, orders.watermark_column) == (
        "incremental",
        "dcord",
        "dcodat",
    )
    assert (orders.watermark_op, orders.lookback, orders.safety_lag) == (
        ">=",
        "2 days",
        "5 minutes",
    )
    assert (orders.key_sync, orders.full_refresh_cron, orders.enabled) == (True, "0 3 * * 0", True)
    customers = any_store.modules.get("customers")
    assert (customers.merge_key, customers.lookback, customers.audit_columns) == (
        "id, region",
        "1000",
        True,
    )
    [since] = any_store.watermarks.list("orders")
    assert (since.name, since.connection, since.resolver_sql, since.default_value) == (
        "since",
        "dw",
        "SELECT max(x) FROM t",
        "1970-01-01",
    )
    assert [(h.sql, h.run_on) for h in any_store.hooks.list("customers")] == [
        ("REFRESH MATERIALIZED VIEW sync.customer_totals;\nANALYZE sync.customers\n", "always"),
        ("NOTIFY loaded", "failure"),
    ]
    assert [(c.name, c.sql) for c in any_store.checks.list("orders")] == [
        ("no_null_keys", "SELECT 1 FROM sync.orders WHERE dcord IS NULL")
    ]
    assert any_store.groups.get("nightly").members == ("orders", "customers")
    assert any_store.groups.get("weekly").description == "Sunday extras"
    assert [(s.group, s.cron_expr, s.enabled) for s in any_store.schedules.list()] == [
        ("nightly", "0 2 * * *", True),
        ("weekly", "0 4 * * 0", False),
    ]
    assert all(e.changed_by == "apply" for e in any_store.modules.history("orders"))


def test_applying_twice_changes_nothing_and_records_nothing(any_store: Store) -> None:
    apply_manifest(any_store, EXAMPLE)
    before = snapshot(any_store)
    report = apply_manifest(any_store, EXAMPLE)
    assert not report.changed
    assert report.counts() == {"created": 0, "updated": 0, "removed": 0, "unchanged": 8}
    assert snapshot(any_store) == before


def test_editing_one_field_records_exactly_that_change(store: Store) -> None:
    apply_manifest(store, EXAMPLE)
    count = history_count(store)
    report = apply_manifest(store, EXAMPLE.replace('lookback: "2 days"', 'lookback: "3 days"'))
    assert [str(c) for c in report.changes if c.action != "unchanged"] == [
        "module orders: updated (lookback)"
    ]
    assert history_count(store) == count + 1
    latest = store.modules.history("orders", limit=1)[0]
    assert latest.diff == {"lookback": ["2 days", "3 days"]}
    assert latest.changed_by == "apply"


def test_editing_a_hook_records_the_hook_list(store: Store) -> None:
    apply_manifest(store, EXAMPLE)
    count = history_count(store)
    apply_manifest(store, EXAMPLE.replace("ANALYZE sync.orders", "VACUUM ANALYZE sync.orders"))
    assert history_count(store) == count + 1
    [latest] = store.modules.history("orders", limit=1)
    assert list(latest.diff) == ["hooks"]
    assert latest.diff["hooks"][1][0]["sql"] == "VACUUM ANALYZE sync.orders"


def test_removing_a_field_returns_it_to_its_default(store: Store) -> None:
    apply_manifest(store, EXAMPLE)
    apply_manifest(store, EXAMPLE.replace("    audit_columns: true\n", ""))
    assert store.modules.get("customers").audit_columns is False
    [latest] = store.modules.history("customers", limit=1)
    assert latest.diff == {"audit_columns": [True, False]}


def test_group_members_are_reordered_and_schedules_updated_in_place(store: Store) -> None:
    apply_manifest(store, EXAMPLE)
    ids = [s.id for s in store.schedules.list()]
    text = EXAMPLE.replace("[orders, customers]", "[customers, orders]").replace(
        "enabled: false}", "enabled: true}"
    )
    report = apply_manifest(store, text)
    assert [str(c) for c in report.changes if c.action != "unchanged"] == [
        "group nightly: updated (modules)",
        "schedule weekly '0 4 * * 0': updated (enabled)",
    ]
    assert store.groups.get("nightly").members == ("customers", "orders")
    assert [s.id for s in store.schedules.list()] == ids
    assert all(s.enabled for s in store.schedules.list())


def test_a_new_cron_is_a_new_schedule(store: Store) -> None:
    apply_manifest(store, EXAMPLE)
    report = apply_manifest(store, EXAMPLE.replace('"0 2 * * *"', '"30 2 * * *"'))
    assert report.names("schedule", "created") == ["nightly '30 2 * * *'"]
    assert report.names("schedule", "removed") == []  # not without --prune
    assert len(store.schedules.list(group="nightly")) == 2


def test_dry_run_reports_and_changes_nothing(store: Store) -> None:
    report = apply_manifest(store, EXAMPLE, dry_run=True)
    assert report.dry_run and report.counts()["created"] == 8
    assert store.modules.list() == [] and store.connections.list() == []


def test_connections_are_updated_in_place(store: Store) -> None:
    apply_manifest(store, EXAMPLE)
    text = EXAMPLE.replace('user: etl, password: "$ERP_PW"', 'user: loader, password: "${ERP2}"')
    report = apply_manifest(store, text)
    assert [str(c) for c in report.changes if c.action == "updated"] == [
        "connection erp: updated (user, password)"
    ]
    erp = store.connections.get("erp")
    assert (erp.user, erp.password) == ("loader", "${ERP2}")


def test_relative_file_urls_are_made_absolute_against_the_file(
    store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "deploy"
    folder.mkdir()
    path = folder / "pipekit.yaml"
    path.write_text("connections:\n  files: {url: 'sqlite:///data/shop.db'}\n")
    apply_manifest(store, path)
    assert store.connections.get("files").url == f"sqlite:///{folder / 'data' / 'shop.db'}"
    assert not apply_manifest(store, path).changed


def test_a_path_given_as_text(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "deploy.yml"
    path.write_text(EXAMPLE)
    assert apply_manifest(store, str(path)).changed
    assert problems_of(store, str(tmp_path / "missing.yaml")) == [
        f"cannot read {tmp_path / 'missing.yaml'}: No such file or directory"
    ]


# -- export -------------------------------------------------------------------------------


def test_export_round_trip_is_exact(any_store: Store, tmp_path: Path) -> None:
    apply_manifest(any_store, EXAMPLE)
    text = export_manifest(any_store)
    with fresh(tmp_path, "copy") as copy:
        apply_manifest(copy, text)
        assert export_manifest(copy) == text
    assert not apply_manifest(any_store, text).changed


def test_export_format(store: Store) -> None:
    apply_manifest(store, EXAMPLE)
    assert export_manifest(store) == (
        """\
connections:
  dw: {url: 'postgresql://127.0.0.1:5432/dw'}
  erp: {url: 'postgresql://127.0.0.1:5432/erp', user: etl, password: $ERP_PW}
modules:
  customers:
    source: erp
    dest: dw
    dest_table: sync.customers
    source_query: SELECT id, region, name FROM crm.customers
    merge_strategy: upsert
    merge_key: id, region
    watermark_column: id
    lookback: 1000
    audit_columns: true
    hooks:
      - sql: |
          REFRESH MATERIALIZED VIEW sync.customer_totals;
          ANALYZE sync.customers
        run_on: always
      - {sql: NOTIFY loaded, run_on: failure}
  orders:
    source: erp
    dest: dw
    dest_table: sync.orders
    source_query: |
      SELECT "DCORD#" AS dcord, RTRIM(dcotyp) AS dcotyp, dcodat AS dcodat
      FROM lgdat.qcrh
      WHERE dcodat > {since}
    merge_strategy: incremental
    merge_key: dcord
    watermark_column: dcodat
    watermark_op: ">="
    lookback: 2 days
    safety_lag: 5 minutes
    key_sync: true
    key_sync_query: SELECT "DCORD#" FROM lgdat.qcrh
    full_refresh_cron: "0 3 * * 0"
    watermarks:
      since: {connection: dw, resolver_sql: SELECT max(x) FROM t, default: '1970-01-01'}
    hooks:
      - {sql: ANALYZE sync.orders, run_on: success}
    checks:
      - {name: no_null_keys, sql: SELECT 1 FROM sync.orders WHERE dcord IS NULL}
groups:
  nightly: [orders, customers]
  weekly:
    description: Sunday extras
    modules: [customers]
schedules:
  - {group: nightly, cron: "0 2 * * *"}
  - {group: weekly, cron: "0 4 * * 0", enabled: false}
"""
    )


def test_export_of_an_empty_store(store: Store) -> None:
    assert export_manifest(store) == "{}\n"
    assert not apply_manifest(store, "{}\n").changed


def test_export_keeps_awkward_text_exact(store: Store, tmp_path: Path) -> None:
    """Trailing spaces, tabs, no final newline, quotes, colons, YAML-looking values."""
    store.connections.add("src", "sqlite:////tmp/src.db", supports_deletes=False)
    store.modules.add(
        "odd",
        source="src",
        dest="src",
        dest_table="t",
        source_query="SELECT a \nFROM t\t-- note: 'x'\n\n",
        merge_strategy="append",
        watermark_column="a",
        lookback="2.50",
        key_sync_query=None,
    )
    store.checks.add("odd", "yes", sql="SELECT 1 WHERE 'a: b' = '#c'")
    store.hooks.add("odd", "SELECT 'no'", run_on="always", run_order=5)
    store.hooks.add("odd", "null", run_order=9)
    store.groups.add("g", description="true", members=["odd"])
    store.schedules.add("g", "0 1 * * *")
    store.schedules.add("g", "0 1 * * *")  # the same (group, cron) twice: exported once
    text = export_manifest(store)
    assert text.count("0 1 * * *") == 1
    assert not apply_manifest(store, text).changed  # run_order 5, 9 kept: the order is the same
    with fresh(tmp_path, "copy") as copy:
        apply_manifest(copy, text)
        assert export_manifest(copy) == text
        odd = copy.modules.get("odd")
        assert odd.source_query == "SELECT a \nFROM t\t-- note: 'x'\n\n"
        assert odd.lookback == "2.50"
        assert copy.groups.get("g").description == "true"
        assert [h.sql for h in copy.hooks.list("odd")] == ["SELECT 'no'", "null"]


def test_passwords_are_exported_as_references_only(store: Store) -> None:
    apply_manifest(store, EXAMPLE)
    text = export_manifest(store)
    assert "password: $ERP_PW" in text


# -- prune --------------------------------------------------------------------------------

SMALL = """\
connections:
  erp: {url: "postgresql://127.0.0.1:5432/erp"}
  dw: {url: "postgresql://127.0.0.1:5432/dw"}
modules:
  orders: {source: erp, dest: dw, dest_table: sync.orders, source_query: "SELECT id FROM o"}
groups:
  nightly: [orders]
schedules:
  - {group: nightly, cron: "0 2 * * *"}
"""


def test_without_prune_nothing_is_removed(store: Store) -> None:
    apply_manifest(store, EXAMPLE)
    before = snapshot(store)
    report = apply_manifest(store, SMALL.replace("[orders]", "[orders, customers]"))
    assert [c for c in report.changes if c.action == "removed"] == []
    assert report.names("module", "updated") == ["orders"]
    assert {c.name for c in store.connections.list()} == {"erp", "dw"}
    assert len(store.modules.list()) == 2 and snapshot(store)[0] != before[0]


def test_prune_removes_what_the_file_does_not_name(store: Store) -> None:
    apply_manifest(store, EXAMPLE)
    store.connections.add("old", "sqlite:////tmp/old.db")
    store.schedules.add("nightly", "0 5 * * *")
    report = apply_manifest(store, SMALL, prune=True)
    assert sorted(str(c) for c in report.changes if c.action == "removed") == [
        "connection old: removed",
        "group weekly: removed",
        "module customers: removed",
        "schedule nightly '0 5 * * *': removed",
        "schedule weekly '0 4 * * 0': removed",
    ]
    assert [m.name for m in store.modules.list()] == ["orders"]
    assert [g.name for g in store.groups.list()] == ["nightly"]
    assert [(s.group, s.cron_expr) for s in store.schedules.list()] == [("nightly", "0 2 * * *")]
    assert [c.name for c in store.connections.list()] == ["dw", "erp"]
    assert not apply_manifest(store, SMALL, prune=True).changed


def test_prune_refuses_references_to_what_it_would_remove(store: Store) -> None:
    apply_manifest(store, EXAMPLE)
    text = SMALL.replace("[orders]", "[orders, customers]").replace("  dw: {url", "  dwh: {url")
    before = snapshot(store)
    assert problems_of(store, text, prune=True) == [
        "modules.orders.dest: destination connection 'dw' does not exist; did you mean 'dwh'? "
        "(known: dwh, erp); define it under connections or with `pipekit connections add`",
        "groups.nightly[1]: module 'customers' does not exist; define it under modules",
    ]
    assert snapshot(store) == before


def test_prune_refuses_to_remove_a_running_module(store: Store) -> None:
    apply_manifest(store, EXAMPLE)
    run_id = store.runs.start("customers", triggered_by="test", pid=1, host="h")
    assert store.runs.try_lock("customers", run_id, 1, "h")
    assert problems_of(store, SMALL, prune=True) == [
        f"modules.customers: is not in the file, so --prune would remove it, but it is running "
        f"(run {run_id}); wait for it or cancel it first"
    ]


def test_prune_with_an_empty_file_is_refused(store: Store) -> None:
    apply_manifest(store, EXAMPLE)
    for text in ("", "# nothing\n", "{}", "connections: {}\nmodules:\n"):
        assert problems_of(store, text, prune=True) == [
            "the file defines nothing; --prune would remove every connection, module, group "
            "and schedule, which is refused (remove them one by one instead)"
        ]
    assert len(store.modules.list()) == 2


# -- bad files: every problem, its path, nothing written -------------------------------------


def test_an_invalid_file_changes_nothing(any_store: Store) -> None:
    apply_manifest(any_store, EXAMPLE)
    before = snapshot(any_store)
    bad = (
        EXAMPLE.replace('lookback: "2 days"', 'lookback: "3 days"')  # a valid change...
        .replace("merge_key: dcord\n", "merge_key: dcord#\n")  # ...and two invalid ones
        .replace('"0 4 * * 0"', '"0 4 * * 8"')
        .replace("  weekly: {", "  monthly: {")
    )
    problems = problems_of(any_store, bad, prune=True)
    assert problems == [
        "modules.orders.merge_key: 'dcord#' is not a destination column of the source query; "
        "did you mean 'dcord'? (columns: dcord, dcotyp, dcodat)",
        "schedules[1].group: group 'weekly' does not exist; define it under groups",
        "schedules[1].cron: '0 4 * * 8': the day-of-week field 8 is out of range 0-7",
    ]
    assert snapshot(any_store) == before


def test_the_error_lists_every_problem(store: Store) -> None:
    with pytest.raises(ManifestError) as info:
        apply_manifest(store, "modules:\n  m: {merge_strategy: fast}\n")
    message = str(info.value)
    assert message.startswith("the YAML text: 5 problem(s), nothing was changed:\n")
    assert "  modules.m.merge_strategy: 'fast' is not a merge strategy" in message


BAD_FILES = [
    pytest.param(
        "connections:\n  erp: {url: 'x://'\n",
        "YAML syntax error at line 3, column 1: expected ',' or '}', but got '<stream end>'",
        id="yaml-syntax",
    ),
    pytest.param(
        "connections:\n  erp: {url: 'postgresql://h/db'}\n  erp: {url: 'postgresql://h/db2'}\n",
        "line 3: key 'erp' is given twice in the same mapping; the second would silently "
        "replace the first",
        id="duplicate-key",
    ),
    pytest.param(
        "- connections\n",
        "the file must be a mapping with connections, modules, groups, schedules, not a list",
        id="not-a-mapping",
    ),
    pytest.param(
        "conections: {}\n",
        "conections: unknown key; did you mean 'connections'? "
        "(known: connections, modules, groups, schedules)",
        id="top-level-key",
    ),
    pytest.param(
        "connections: [erp]\n",
        "connections: must be a mapping of names, not a list",
        id="connections-type",
    ),
    pytest.param(
        "connections:\n  'bad name': {url: 'postgresql://h/db'}\n",
        "connections.bad name: invalid connection name 'bad name': use letters, digits, '_', "
        "'-' and '.', starting with a letter or digit, at most 100 characters",
        id="connection-name",
    ),
    pytest.param(
        "connections:\n  erp: postgresql://h/db\n",
        "connections.erp: must be a mapping with url, user, password, not the text "
        "'postgresql://h/db'",
        id="connection-type",
    ),
    pytest.param(
        "connections:\n  erp: {url: 'postgresql://h/db', pasword: $X}\n",
        "connections.erp.pasword: unknown key; did you mean 'password'? "
        "(known: url, user, password, supports_deletes, options)",
        id="connection-key",
    ),
    pytest.param(
        "connections:\n  erp: {user: etl}\n",
        "connections.erp.url: is required: e.g. postgresql://host:5432/db",
        id="url-missing",
    ),
    pytest.param(
        "connections:\n  erp: {url: 'oracle://h/db'}\n",
        "connections.erp.url: no driver handles URLs starting 'oracle://' (known schemes: "
        "duckdb, mariadb, mssql, mysql, pg, postgres, postgresql, sqlite, sqlserver, and "
        "jdbc:<subprotocol>: for JDBC jars)",
        id="url-scheme",
    ),
    pytest.param(
        "connections:\n  erp: {url: 'postgresql://'}\n",
        "connections.erp.url: malformed connection URL 'postgresql://': no host; expected "
        "postgresql://host[:port]/database",
        id="url-malformed",
    ),
    pytest.param(
        "connections:\n  erp: {url: 'postgresql://h/db', user: 42}\n",
        "connections.erp.user: must be text, not the number 42",
        id="user-type",
    ),
    pytest.param(
        "connections:\n  erp: {url: 'postgresql://h/db', supports_deletes: 'no'}\n",
        "connections.erp.supports_deletes: must be true or false, not the text 'no'",
        id="supports-deletes-type",
    ),
    pytest.param(
        "modules:\n  orders: SELECT 1\n",
        "modules.orders: must be a mapping of module settings, not the text 'SELECT 1'",
        id="module-type",
    ),
    pytest.param(
        "modules:\n  '-x': {}\n",
        "modules.-x: invalid module name '-x': use letters, digits, '_', '-' and '.', starting "
        "with a letter or digit, at most 100 characters",
        id="module-name",
    ),
    pytest.param(
        "groups:\n  g: orders\n",
        "groups.g: must be a list of module names, or a mapping with description and modules, "
        "not the text 'orders'",
        id="group-type",
    ),
    pytest.param(
        "groups:\n  g: {description: x, members: []}\n",
        "groups.g.members: unknown key (known: description, modules)",
        id="group-key",
    ),
    pytest.param(
        "groups:\n  g: {description: 5}\n",
        "groups.g.description: must be text, not the number 5",
        id="group-description",
    ),
    pytest.param(
        "groups:\n  g: [1]\n",
        "groups.g[0]: must be a module name, not the number 1",
        id="member-type",
    ),
    pytest.param(
        "schedules: {group: g}\n",
        "schedules: must be a list of {group, cron}, not a mapping",
        id="schedules-type",
    ),
    pytest.param(
        "groups: {g: []}\nschedules: ['0 2 * * *']\n",
        "schedules[0]: must be a mapping with group and cron, not the text '0 2 * * *'",
        id="schedule-type",
    ),
    pytest.param(
        "groups: {g: []}\nschedules: [{group: g, cron: '0 2 * * *', when: now}]\n",
        "schedules[0].when: unknown key (known: group, cron, enabled)",
        id="schedule-key",
    ),
    pytest.param(
        "groups: {g: []}\nschedules: [{cron: '0 2 * * *'}]\n",
        "schedules[0].group: is required: the group the schedule runs",
        id="schedule-group-missing",
    ),
    pytest.param(
        "groups: {g: []}\nschedules: [{group: g}]\n",
        "schedules[0].cron: is required: a cron expression such as '0 2 * * *'",
        id="schedule-cron-missing",
    ),
    pytest.param(
        "groups: {g: []}\nschedules: [{group: g, cron: '0 2 * * *', enabled: 'off'}]\n",
        "schedules[0].enabled: must be true or false, not the text 'off'",
        id="schedule-enabled",
    ),
    pytest.param(
        "groups: {g: []}\nschedules:\n- {group: g, cron: '0 2 * * *'}\n"
        "- {group: g, cron: '0 2 * * * '}\n",
        "schedules[1]: repeats schedules[0] (group 'g', cron '0 2 * * *'); schedules are "
        "identified by group and cron, so list each once",
        id="schedule-twice",
    ),
]


@pytest.mark.parametrize(("text", "problem"), BAD_FILES)
def test_each_file_problem_has_its_path(store: Store, text: str, problem: str) -> None:
    assert problems_of(store, text) == [problem]


MODULE = """\
connections:
  erp: {url: "postgresql://127.0.0.1:5432/erp"}
  dw: {url: "postgresql://127.0.0.1:5432/dw", supports_deletes: false}
modules:
  orders:
    source: erp
    dest: dw
    dest_table: sync.orders
    source_query: SELECT id, updated_at FROM o WHERE updated_at > {since}
    merge_strategy: incremental
    merge_key: id
    watermarks:
      since: {resolver_sql: "SELECT max(updated_at) FROM sync.orders"}
    hooks:
      - {sql: "ANALYZE sync.orders"}
    checks:
      - {name: ids, sql: "SELECT 1 FROM sync.orders WHERE id IS NULL"}
"""

BAD_MODULES = [
    pytest.param(
        ("merge_key: id\n", "merge_key: id\n    merge_keys: id\n"),
        "modules.orders.merge_keys: unknown key; did you mean 'merge_key'? (known: "
        "source, dest, dest_table, source_query, source_table, merge_strategy, merge_key, "
        "watermark_column, watermark_op, lookback, safety_lag, key_sync, key_sync_query, "
        "full_refresh_cron, audit_columns, audit_loaded_at_column, audit_run_id_column, "
        "audit_source_column, enabled, watermarks, hooks, checks)",
        id="module-key",
    ),
    pytest.param(
        ("{resolver_sql:", "{conection: dw, resolver_sql:"),
        "modules.orders.watermarks.since.conection: unknown key; did you mean 'connection'? "
        "(known: connection, resolver_sql, default)",
        id="watermark-key",
    ),
    pytest.param(
        ('{sql: "ANALYZE sync.orders"}', '{sql: "ANALYZE sync.orders", when: success}'),
        "modules.orders.hooks[0].when: unknown key (known: sql, run_on)",
        id="hook-key",
    ),
    pytest.param(
        ("{name: ids,", "{name: ids, severity: high,"),
        "modules.orders.checks[0].severity: unknown key (known: name, sql)",
        id="check-key",
    ),
    pytest.param(
        ("merge_key: id\n", "merge_key: ID\n"),
        "modules.orders.merge_key: 'ID' is not a destination column of the source query; did "
        "you mean 'id'? (columns: id, updated_at)",
        id="merge-key-column",
    ),
    pytest.param(
        ("source: erp", "source: epr"),
        "modules.orders.source: source connection 'epr' does not exist; did you mean 'erp'? "
        "(known: dw, erp); define it under connections or with `pipekit connections add`",
        id="module-source",
    ),
    pytest.param(
        ('{sql: "ANALYZE sync.orders"}', '{sql: "ANALYZE sync.orders", run_on: sucess}'),
        "modules.orders.hooks[0].run_on: 'sucess' is not one of success, failure, always; "
        "did you mean 'success'?",
        id="hook-run-on",
    ),
    pytest.param(
        ("> {since}", "> {since} AND id > {snce}"),
        "modules.orders.source_query: placeholder {snce} is not a declared watermark; did you "
        "mean 'since'? (declared: since); declare it under watermarks, or remove it",
        id="placeholder",
    ),
    pytest.param(
        ("merge_key: id\n", "merge_key: id\n    lookback: yesterday\n"),
        "modules.orders.lookback: cannot read 'yesterday' as a duration: write e.g. '2 days', "
        "'5 minutes', '1 hour', or a plain number for numeric watermarks",
        id="lookback",
    ),
]


@pytest.mark.parametrize(("edit", "problem"), BAD_MODULES)
def test_each_module_problem_has_its_path(
    store: Store, edit: tuple[str, str], problem: str
) -> None:
    assert MODULE.count(edit[0]) == 1
    assert problems_of(store, MODULE.replace(*edit)) == [problem]


def test_the_module_fixture_is_valid(store: Store) -> None:
    assert apply_manifest(store, MODULE).changed


def test_modules_may_use_connections_already_in_the_store(store: Store) -> None:
    store.connections.add("erp", "postgresql://127.0.0.1:5432/erp")
    store.connections.add("dw", "postgresql://127.0.0.1:5432/dw")
    text = MODULE.split("modules:")[1]
    assert apply_manifest(store, "modules:" + text).names("module", "created") == ["orders"]


def test_group_members_may_be_modules_already_in_the_store(store: Store) -> None:
    apply_manifest(store, MODULE)
    assert apply_manifest(store, "groups:\n  g: [orders]\n").names("group", "created") == ["g"]


def test_source_dialect_comes_from_the_connection_url(store: Store) -> None:
    text = MODULE.replace("SELECT id,", "SELECT `id`,").replace(
        '"postgresql://127.0.0.1:5432/erp"', '"mysql://127.0.0.1:3306/erp"'
    )
    assert apply_manifest(store, text).changed  # backticks are MySQL quoting
    text = MODULE.replace("SELECT id,", "SELECT `id`,")
    assert problems_of(store, text)[0].startswith(
        "modules.orders.source_query: does not parse as postgres SQL"
    )


# -- secrets ---------------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["hunter2", "'s3cr3t$'", "123456", "$not a ref"])
def test_a_literal_password_is_refused_and_not_shown(store: Store, password: str) -> None:
    text = f"connections:\n  erp: {{url: 'postgresql://h/db', password: {password}}}\n"
    with pytest.raises(ManifestError) as info:
        apply_manifest(store, text)
    assert [str(p) for p in info.value.problems] == [
        "connections.erp.password: must be a secret reference such as '$ERP_PASSWORD', never "
        "the password itself (the value is not shown); store it with `pipekit secrets set "
        'ERP_PASSWORD` and write password: "$ERP_PASSWORD"'
    ]
    shown = password.strip("'").strip("$")
    assert shown not in str(info.value)
    assert store.connections.list() == []


def test_a_password_inside_the_url_is_refused_and_not_shown(store: Store) -> None:
    text = "connections:\n  erp: {url: 'postgresql://etl:hunter2@h:bad/db'}\n"
    with pytest.raises(ManifestError) as info:
        apply_manifest(store, text)
    assert "hunter2" not in str(info.value)
    assert [str(p) for p in info.value.problems] == [
        "connections.erp.url: must not contain a password (it is not shown); put a secret "
        "reference under password instead"
    ]


def test_a_yaml_error_does_not_quote_the_line(store: Store) -> None:
    text = "connections:\n  erp: {url: 'postgresql://h/db', password: \"hunter2}\n"
    with pytest.raises(ManifestError) as info:
        apply_manifest(store, text)
    assert "hunter2" not in str(info.value)


NAMED_AUDIT = EXAMPLE.replace(
    "    audit_columns: true\n",
    "    audit_columns: true\n"
    "    audit_loaded_at_column: dss_load_date\n"
    "    audit_run_id_column: dss_run_id\n"
    "    audit_source_column: dss_record_source\n",
)


def test_audit_column_names_round_trip(store: Store, tmp_path: Path) -> None:
    assert NAMED_AUDIT != EXAMPLE
    apply_manifest(store, NAMED_AUDIT)
    m = store.modules.get("customers")
    assert (m.audit_loaded_at_column, m.audit_run_id_column, m.audit_source_column) == (
        "dss_load_date",
        "dss_run_id",
        "dss_record_source",
    )
    text = export_manifest(store)
    assert "    audit_source_column: dss_record_source\n" in text
    with fresh(tmp_path, "copy") as copy:
        apply_manifest(copy, text)
        assert export_manifest(copy) == text
    # left out again: back to the default names
    apply_manifest(store, EXAMPLE)
    assert store.modules.get("customers").audit_source_column is None


def test_a_bad_audit_column_name_is_refused_by_apply(store: Store) -> None:
    bad = NAMED_AUDIT.replace("dss_record_source", "record source")
    found = problems_of(store, bad)
    assert len(found) == 1 and found[0].startswith(
        "modules.customers.audit_source_column: 'record source' is not a column name"
    ), found
    assert "customers" not in export_manifest(store)  # nothing was applied
