"""Start-up stays lazy: each command imports only what it uses.

Speed itself is measured in bench/ (scenario 0), never asserted here; these
tests guard the imports that make it, in a fresh interpreter each.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main

from pipekit.cli import _coerce, app
from pipekit.store import Store

# What `python -m pipekit ARGS` imported, written as JSON to the file in $PROBE_OUT.
_PROBE = """
import gc, json, os, sys
sys.argv = ["pipekit", *json.loads(os.environ["PROBE_ARGS"])]
code = 0
try:
    from pipekit.cli import main
    main()
except SystemExit as exc:
    code = exc.code
with open(os.environ["PROBE_OUT"], "w") as f:
    json.dump({"code": code, "modules": sorted(sys.modules), "gc": gc.isenabled()}, f)
"""

# Never needed by a command-line command other than `serve`.
SERVER = ["fastapi", "uvicorn", "starlette", "pipekit.api", "pipekit.runtime.scheduler"]
# Typer's pydantic coercion, which _coerce.PlainParam keeps out of plain commands.
PYDANTIC = ["pydantic", "typer._adapters"]
DATA = ["pyarrow", "sqlglot", "adbc_driver_postgresql", "psycopg", "duckdb", "pymysql"]


def _loaded(tmp_path: Path, *args: str, code: str | None = None) -> set[str]:
    out = tmp_path / "probe.json"
    env = {**os.environ, "PROBE_ARGS": json.dumps(args), "PROBE_OUT": str(out)}
    result = subprocess.run(
        [sys.executable, "-c", code or _PROBE], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    if code is not None:
        return set(json.loads(result.stdout))
    probe = json.loads(out.read_text())
    assert probe["code"] in (0, None), result.stdout + result.stderr
    if "pipekit.store" in probe["modules"]:
        # The collector is paused for start-up only (cli/_startup.py): a command that
        # opened the store, a run or the server among them, must have it back on.
        assert probe["gc"], "cyclic GC still off after the store was opened"
    return set(probe["modules"])


def _heavy(loaded: set[str], *prefixes: str) -> list[str]:
    return sorted(m for m in loaded if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_importing_the_cli_loads_no_command_dependencies(tmp_path: Path) -> None:
    code = "import json, sys, pipekit.cli; print(json.dumps(list(sys.modules)))"
    loaded = _loaded(tmp_path, code=code)
    assert _heavy(loaded, *SERVER, *PYDANTIC, *DATA, "sqlalchemy", "croniter", "yaml") == []


def test_help_loads_no_store_engine_or_pydantic(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path, "--help")
    assert _heavy(loaded, *SERVER, *PYDANTIC, *DATA, "sqlalchemy", "pipekit.store") == []


def test_runs_list_loads_the_store_only(home: Path, tmp_path: Path) -> None:
    loaded = _loaded(tmp_path, "runs", "list", "-n", "5")
    assert "sqlalchemy" in loaded
    assert _heavy(loaded, *SERVER, *PYDANTIC, *DATA, "croniter", "sqlalchemy.orm") == []


def test_run_loads_only_the_drivers_it_uses(home: Path, tmp_path: Path) -> None:
    src, dst = tmp_path / "src.db", tmp_path / "dst.db"
    with sqlite3.connect(src) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"n{i}") for i in range(10)])
    with Store.open(home / "pipekit.db") as store:
        store.connections.add("src", f"sqlite:///{src}")
        store.connections.add("dst", f"sqlite:///{dst}?create=true")
        store.modules.add(
            "t",
            source="src",
            dest="dst",
            dest_table="t",
            source_query="SELECT id, name FROM t",
            merge_key="id",
            merge_strategy="full",
        )
    loaded = _loaded(tmp_path, "run", "t")
    assert {"pyarrow", "sqlglot", "pipekit.drivers.sqlite"} <= loaded
    others = ["adbc_driver_postgresql", "psycopg", "duckdb", "pymysql", "pipekit.drivers.duckdb"]
    assert _heavy(loaded, *SERVER, *PYDANTIC, *others, "croniter", "sqlalchemy.orm") == []


def test_command_modules_keep_real_annotations() -> None:
    # typer evaluates string annotations on every start (see pipekit/cli/__init__.py).
    import pipekit.cli as cli

    callbacks = [c.callback for c in cli.app.registered_commands]
    callbacks += [
        c.callback for g in cli.app.registered_groups for c in g.typer_instance.registered_commands
    ]
    stringly = sorted(
        {
            f.__module__
            for f in callbacks
            if any(isinstance(a, str) for a in f.__annotations__.values())
        }
    )
    assert stringly == []


# -- PlainParam gives what typer's own coercion gives ----------------------------------

SAMPLES: dict[Any, list[Any]] = {
    str: ["abc", "", "é ü", " spaced ", "--x"],
    int: ["5", "0", "-3", "01", "+5", " 5", "1_000", "x", "", "99999999999999999999", 20, 0],
    bool: [True, False, "true", "no"],
    Path: ["pipekit.yaml", ".", "/", "", "missing/file.yaml", "-"],
}


def _plain_params() -> list[tuple[Any, Any]]:
    """(command, parameter) for every parameter PlainParam would take, one per kind."""
    found: dict[tuple[Any, ...], tuple[Any, Any]] = {}

    def walk(command: Any) -> None:
        for param in command.params:
            if _coerce._is_plain(param):
                info = param.type_descriptor.parameter_info
                key = (
                    param.type_descriptor.annotation,
                    info.min,
                    info.max,
                    info.exists,
                    info.file_okay,
                    info.dir_okay,
                    info.readable,
                    info.writable,
                    info.resolve_path,
                    info.allow_dash,
                )
                found.setdefault(key, (command, param))
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(typer.main.get_command(app))
    return list(found.values())


def _outcome(coerce: Any, value: Any, param: Any, ctx: Any) -> tuple[str, Any]:
    try:
        return "value", coerce(value, param=param, ctx=ctx)
    except Exception as exc:
        return type(exc).__name__, str(exc)


@pytest.mark.skipif(_coerce.RuntimeParam is None, reason="this typer coerces without pydantic")
@pytest.mark.parametrize(
    ("command", "param"),
    _plain_params(),
    ids=lambda x: getattr(x, "name", None) or "cmd",
)
def test_plain_coercion_matches_typer(
    command: Any, param: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pipekit.yaml").write_text("database: x.db\n")
    descriptor = param.type_descriptor
    plain = _coerce.PlainParam(
        parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
    )
    ctx = typer.main._click.Context(command)
    for value in SAMPLES[descriptor.annotation]:
        assert _outcome(plain.coerce, value, param, ctx) == _outcome(
            plain.typer_param.coerce, value, param, ctx
        ), value
