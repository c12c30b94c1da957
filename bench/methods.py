"""The scenarios and the methods measured in them: Pipekit, the raw pipes, the peers.

Every method writes to its own place: PostgreSQL schema ``b<scenario>_<slug>`` in
the destination database, or its own DuckDB file for scenario 4, so a reset is a
``DROP SCHEMA … CASCADE`` or a deleted file. Full scenarios reset before every timed
run (every method times a first load into an empty destination); incremental
scenarios reset and load once, untimed, before the first round.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import common as C
from bench import data as D
from bench.proc import Step


@dataclass(frozen=True)
class Scenario:
    id: int
    title: str
    store: str  # pg | mariadb | sqlite
    base: str  # the generated table: lineitem | orders
    src_table: str  # the table read at the source
    dest: str  # pg | duckdb
    kind: str  # full | incremental | key_sync | startup

    @property
    def keys(self) -> list[str]:
        return D.KEYS[self.base]

    @property
    def module(self) -> str:
        return f"s{self.id}_{self.src_table}"


SCENARIOS = {
    0: Scenario(0, "start-up: 10-row module, PostgreSQL→PostgreSQL", "pg", "lineitem",
                "lineitem_10", "pg", "startup"),
    1: Scenario(1, "full sync lineitem, PostgreSQL→PostgreSQL", "pg", "lineitem", "lineitem",
                "pg", "full"),
    2: Scenario(2, "incremental lineitem (1 % updated + 1 % inserted), PostgreSQL→PostgreSQL",
                "pg", "lineitem", "lineitem_inc", "pg", "incremental"),
    3: Scenario(3, "full sync lineitem, MariaDB→PostgreSQL", "mariadb", "lineitem", "lineitem",
                "pg", "full"),
    4: Scenario(4, "full sync lineitem, SQLite→DuckDB", "sqlite", "lineitem", "lineitem",
                "duckdb", "full"),
    5: Scenario(5, "key_sync orders after 0.5 % of keys deleted, PostgreSQL→PostgreSQL", "pg",
                "orders", "orders_ks", "pg", "key_sync"),
}  # fmt: skip


def pg_cols(table: str) -> list[str]:
    return [c.name for c in D.TABLES[table]]


# -- destinations ----------------------------------------------------------------------


def drop_pg_schemas(prefix: str) -> None:
    with C.pg_connect(C.PG_DST_DB) as conn:
        names = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = %s OR nspname LIKE %s",
            (prefix, prefix.replace("_", "\\_") + "\\_%"),
        ).fetchall()
        for (name,) in names:
            conn.execute(f"DROP SCHEMA {C.qi(name)} CASCADE")


def drop_duck(path: Path) -> None:
    for p in (path, Path(str(path) + ".wal")):
        p.unlink(missing_ok=True)


class Method:
    name = ""
    slug = ""
    role = "peer"  # pipekit | raw | peer
    #: scenario ids this method is the ratio anchor for
    anchor_for: frozenset[int] = frozenset()
    scenarios: frozenset[int] = frozenset({1, 2, 3, 4, 5})

    def unavailable(self, sc: Scenario) -> str | None:
        return None

    # where the rows land
    def schema(self, sc: Scenario) -> str:
        return f"b{sc.id}_{self.slug}"

    def dest_table(self, sc: Scenario) -> str:
        if sc.dest == "duckdb":
            return f"bench.{sc.src_table}"
        return f"{self.schema(sc)}.{sc.src_table}"

    def duck_path(self, sc: Scenario) -> Path:
        return C.DATA / f"s{sc.id}" / f"{self.slug}.duckdb"

    def reset(self, sc: Scenario) -> None:
        if sc.dest == "duckdb":
            self.duck_path(sc).parent.mkdir(parents=True, exist_ok=True)
            drop_duck(self.duck_path(sc))
        else:
            drop_pg_schemas(self.schema(sc))

    # the untimed part
    def setup(self, sc: Scenario) -> list[Step]:
        """Steps of the first (full) load for incremental scenarios; run untimed."""
        return self.steps(sc)

    def prepare(self, sc: Scenario) -> None:
        """Before every timed run of a full scenario."""
        self.reset(sc)

    def steps(self, sc: Scenario) -> list[Step]:
        raise NotImplementedError


# -- Pipekit ---------------------------------------------------------------------------


class Pipekit(Method):
    name = "Pipekit (`pipekit run`)"
    slug = "pipekit"
    role = "pipekit"
    scenarios = frozenset({0, 1, 2, 3, 4, 5})
    home = C.DATA / "pipekit"

    def env(self) -> dict[str, str]:
        return {**os.environ, "PIPEKIT_CONFIG": str(self.home / "pipekit.yaml")}

    def configure(self, scenarios: list[Scenario]) -> None:
        """Write the config and the modules (idempotent: `pipekit apply`)."""
        self.home.mkdir(parents=True, exist_ok=True)
        cfg = self.home / "pipekit.yaml"
        if not cfg.exists():
            cfg.write_text("database: pipekit.db\nstaging_schema: pipekit_staging\n")
        pg = f"postgresql://{C.PG_HOST}:{C.PG_PORT}"
        connections = {
            "pg_src": {"url": f"{pg}/{C.PG_SRC_DB}", "user": "postgres"},
            "pg_dst": {"url": f"{pg}/{C.PG_DST_DB}", "user": "postgres"},
            "my_src": {"url": f"mysql://{C.MY_HOST}:{C.MY_PORT}/{C.MY_DB}", "user": "root"},
            "lite_src": {"url": f"sqlite:///{C.SQLITE_SRC}"},
            "duck_s4": {"url": f"duckdb:///{self.duck_path(SCENARIOS[4])}?create=true"},
        }  # fmt: skip
        modules = {}
        for sc in SCENARIOS.values():
            src = {"pg": "pg_src", "mariadb": "my_src", "sqlite": "lite_src"}[sc.store]
            if sc.kind == "startup":
                keys = ", ".join(sc.keys)
                query = f"SELECT * FROM src.lineitem ORDER BY {keys} LIMIT 10"
            elif sc.store in ("mariadb", "sqlite"):
                query = f"SELECT * FROM {sc.src_table}"
            else:
                query = f"SELECT * FROM src.{sc.src_table}"
            m = {
                "source": src,
                "dest": "duck_s4" if sc.dest == "duckdb" else "pg_dst",
                "dest_table": self.dest_table(sc),
                "source_query": query,
                "merge_key": ", ".join(sc.keys),
                "merge_strategy": "full",
            }
            if sc.kind in ("incremental", "key_sync"):
                m.update(merge_strategy="incremental", watermark_column="updated_at")
            if sc.kind == "key_sync":
                m["key_sync"] = True
            modules[sc.module] = m
        deploy = self.home / "deploy.yaml"
        deploy.write_text(json.dumps({"connections": connections, "modules": modules}, indent=1))
        # Bytecode as an installed package has it (pip compiles at install time; this
        # machine sets PYTHONDONTWRITEBYTECODE, which would make every run compile
        # the package from source, about 0.4 s of start-up the peers never pay).
        import pipekit

        C.run([sys.executable, "-m", "compileall", "-q", str(Path(pipekit.__file__).parent)])
        C.run([C.PIPEKIT, "init"], env=self.env(), cwd=self.home)
        C.run([C.PIPEKIT, "apply", str(deploy)], env=self.env(), cwd=self.home)

    def steps(self, sc: Scenario) -> list[Step]:
        return [Step([C.PIPEKIT, "run", sc.module], env=self.env(), cwd=str(self.home))]


# -- raw pipes -------------------------------------------------------------------------


def _bash(script: str, env: dict[str, str] | None = None) -> Step:
    return Step(["bash", "-o", "pipefail", "-e", "-c", script], shell=True, env=env or C.env_utc())


def _mariadb_text_select(table: str) -> str:
    """SELECT that prints PostgreSQL COPY text: backslash escapes, and \\N for NULL."""
    exprs = []
    for c in D.TABLES[table]:
        if c.my.startswith("VARCHAR"):
            e = (
                f"REPLACE(REPLACE(REPLACE(REPLACE({c.name}, '\\\\', '\\\\\\\\'), "
                f"'\\t', '\\\\t'), '\\n', '\\\\n'), '\\r', '\\\\r')"
            )
        else:
            e = c.name
        exprs.append(f"IFNULL({e}, '\\\\N')")
    return f"SELECT {', '.join(exprs)} FROM {C.MY_DB}.{table}"


class RawPipe(Method):
    """psql COPY TO STDOUT (binary) | psql COPY FROM STDIN, and the nearest equivalents."""

    role = "raw"

    def __init__(self, pk: bool) -> None:
        self.pk = pk
        self.slug = "raw_pk" if pk else "raw_nopk"
        self.name = "raw pipe, target with PK" if pk else "raw pipe, target without PK"
        self.anchor_for = frozenset({1, 2, 3, 4, 5}) if pk else frozenset()
        self.scenarios = frozenset({1, 2, 3, 4, 5}) if pk else frozenset({1, 3, 4})

    def unavailable(self, sc: Scenario) -> str | None:
        need = {"pg": ["psql"], "mariadb": ["psql", "mariadb"], "sqlite": ["sqlite3"]}[sc.store]
        for tool in need:
            if not (shutil.which(tool) or (tool == "mariadb" and shutil.which("mysql"))):
                return f"{tool} client not installed"
        return None

    def _create(self, sc: Scenario) -> None:
        with C.pg_connect(C.PG_DST_DB) as conn:
            conn.execute(f"CREATE SCHEMA {self.schema(sc)}")
            conn.execute(
                D.pg_create_sql(
                    self.schema(sc), sc.base, sc.src_table, pk=self.pk, naive=sc.store == "mariadb"
                )
            )

    def prepare(self, sc: Scenario) -> None:
        self.reset(sc)
        if sc.dest == "pg":
            self._create(sc)

    def _copy_in(self, sc: Scenario, table: str | None = None, fmt: str = "binary") -> str:
        target = table or self.dest_table(sc)
        return C.sh_join(C.psql(C.PG_DST_DB, "-c", f"COPY {target} FROM STDIN (FORMAT {fmt})"))

    def _pg_full(self, sc: Scenario) -> str:
        out = C.sh_join(
            C.psql(C.PG_SRC_DB, "-c", f"COPY src.{sc.src_table} TO STDOUT (FORMAT binary)")
        )
        return f"{out} | {self._copy_in(sc)}"

    def setup(self, sc: Scenario) -> list[Step]:
        self.reset(sc)
        self._create(sc)
        return [_bash(self._pg_full(sc))]

    def steps(self, sc: Scenario) -> list[Step]:
        if sc.kind == "full" and sc.store == "pg":
            return [_bash(self._pg_full(sc))]
        if sc.store == "mariadb":
            out = C.sh_join(
                C.mariadb("--batch", "--raw", "--skip-column-names", "--quick", "-e",
                          _mariadb_text_select(sc.base))
            )  # fmt: skip
            return [_bash(f"{out} | {self._copy_in(sc, fmt='text')}")]
        if sc.store == "sqlite":
            return [_bash(self._sqlite_pipe(sc), env=dict(os.environ))]
        return [_bash(self._pg_incremental(sc))]

    def _sqlite_pipe(self, sc: Scenario) -> str:
        cols = ", ".join(f"{c.name} {duck_type(c)}" for c in D.TABLES[sc.base])
        pk = f", PRIMARY KEY ({', '.join(sc.keys)})" if self.pk else ""
        loader = (
            "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
            "con.execute('CREATE SCHEMA bench'); "
            f"con.execute('CREATE TABLE {self.dest_table(sc)} ({cols}{pk})'); "
            f"con.execute(\"COPY {self.dest_table(sc)} FROM '/dev/stdin' (FORMAT csv, "
            "DELIMITER '\\t', HEADER false, QUOTE '', ESCAPE '', NULLSTR '\\\\N')\")"
        )
        reader = C.sh_join(
            ["sqlite3", "-batch", "-noheader", "-list", "-separator", "\t", "-nullvalue", "\\N",
             str(C.SQLITE_SRC), f"SELECT * FROM {sc.src_table}"]
        )  # fmt: skip
        return f"{reader} | {C.sh_join([C.PY, '-c', loader, str(self.duck_path(sc))])}"

    def _pg_incremental(self, sc: Scenario) -> str:
        """The hand-written incremental: max watermark, COPY the window to staging, merge.

        key_sync also copies every source key and deletes the destination rows without one.
        """
        t = self.dest_table(sc)
        stage = f"{self.schema(sc)}.stage"
        keys = sc.keys
        on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
        dst = C.sh_join(C.psql(C.PG_DST_DB, "-At", "-c", f"SELECT max(updated_at) FROM {t}"))
        lines = [
            f'MAX=$({dst})',
            C.sh_join(C.psql(C.PG_DST_DB, "-c", f"DROP TABLE IF EXISTS {stage}; "
                             f"CREATE UNLOGGED TABLE {stage} (LIKE {t})")),
            C.sh_join(C.psql(C.PG_SRC_DB, "-c",
                             f"COPY (SELECT * FROM src.{sc.src_table} WHERE updated_at > '__MAX__')"
                             " TO STDOUT (FORMAT binary)")).replace("__MAX__", "'\"$MAX\"'")
            + f" | {self._copy_in(sc, stage)}",
        ]  # fmt: skip
        merge = (
            f"BEGIN; DELETE FROM {t} t USING {stage} s WHERE {on}; "
            f"INSERT INTO {t} SELECT * FROM {stage}; "
        )
        if sc.kind == "key_sync":
            kstage = f"{self.schema(sc)}.stage_keys"
            kcols = ", ".join(keys)
            lines.append(
                C.sh_join(C.psql(C.PG_DST_DB, "-c", f"DROP TABLE IF EXISTS {kstage}; "
                                 f"CREATE UNLOGGED TABLE {kstage} AS SELECT {kcols} FROM {t} "
                                 "WITH NO DATA"))
            )  # fmt: skip
            lines.append(
                C.sh_join(C.psql(C.PG_SRC_DB, "-c", f"COPY (SELECT {kcols} FROM "
                                 f"src.{sc.src_table}) TO STDOUT (FORMAT binary)"))
                + f" | {self._copy_in(sc, kstage)}"
            )  # fmt: skip
            kon = " AND ".join(f"k.{k} = t.{k}" for k in keys)
            merge += f"DELETE FROM {t} t WHERE NOT EXISTS (SELECT 1 FROM {kstage} k WHERE {kon}); "
            merge += f"COMMIT; DROP TABLE {stage}; DROP TABLE {kstage};"
        else:
            merge += f"COMMIT; DROP TABLE {stage};"
        lines.append(C.sh_join(C.psql(C.PG_DST_DB, "-c", merge)))
        return "\n".join(lines)


def duck_type(c: D.Col) -> str:
    return {"timestamptz": "TIMESTAMP", "DATETIME(6)": "TIMESTAMP"}.get(c.pg, c.sqlite)


# -- peers -----------------------------------------------------------------------------


def _version(dist: str) -> str:
    from importlib import metadata

    return metadata.version(dist)


PEER_PACKAGES = {
    # duckdb as in the project's venv, so the suite can open what dlt writes (scenario 4)
    "dlt": [
        f"duckdb=={_version('duckdb')}",
        "dlt[postgres,sql-database,duckdb]==1.31.0",
        "pyarrow",
        "connectorx==0.4.6",
        "pymysql",
        "psycopg[binary]",
    ],
    "ingestr": ["ingestr<1"],
    "sling": ["sling-linux-amd64==1.4.11"],
}
_venv_problems: dict[str, str | None] = {}


def peer_venv(name: str) -> tuple[Path, str | None]:
    """bench/.venvs/<name> with the peer installed (built on first use); (path, problem)."""
    venv = C.VENVS / name
    if name in _venv_problems:
        return venv, _venv_problems[name]
    marker = venv / ".bench-installed"
    want = json.dumps(PEER_PACKAGES[name])
    problem = None
    if not (marker.exists() and marker.read_text() == want):
        print(f"  installing {name} into {venv}: {' '.join(PEER_PACKAGES[name])}")
        try:
            if not (venv / "bin" / "python").exists():
                C.run(["python3", "-m", "venv", str(venv)])
            C.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                   *PEER_PACKAGES[name]])  # fmt: skip
            marker.write_text(want)
        except Exception as exc:
            problem = f"pip install failed: {str(exc)[-300:]}"
    _venv_problems[name] = problem
    return venv, problem


def peer_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RUNTIME__DLTHUB_TELEMETRY="false",
        INGESTR_DISABLE_TELEMETRY="true",
        DISABLE_TELEMETRY="true",
        SLING_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="1",
        **extra,
    )
    return env


class Dlt(Method):
    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.slug = "dlt_pa" if backend == "pyarrow" else "dlt_cx"
        self.name = f"dlt 1.31 sql_database ({backend})"
        self.scenarios = frozenset({1, 2, 3, 4, 5})

    def unavailable(self, sc: Scenario) -> str | None:
        if sc.kind == "key_sync":
            return "dlt's sql_database source has no deleted-key detection (no key_sync mode)"
        return peer_venv("dlt")[1]

    def workdir(self, sc: Scenario) -> Path:
        return C.DATA / "dlt" / f"{self.slug}-s{sc.id}"

    def reset(self, sc: Scenario) -> None:
        super().reset(sc)
        shutil.rmtree(self.workdir(sc), ignore_errors=True)

    def dest_table(self, sc: Scenario) -> str:
        return f"bench.{sc.src_table}" if sc.dest == "duckdb" else super().dest_table(sc)

    def steps(self, sc: Scenario) -> list[Step]:
        venv, _ = peer_venv("dlt")
        if sc.store == "pg":
            source, schema, table = C.pg_url(C.PG_SRC_DB, password=True), "src", sc.src_table
        elif sc.store == "mariadb":
            source, schema, table = C.my_url(scheme="mysql+pymysql"), None, sc.src_table
        else:
            source, schema, table = f"sqlite:///{C.SQLITE_SRC}", None, sc.src_table
        if sc.dest == "pg":
            dest = "postgres:" + C.pg_url(C.PG_DST_DB, password=True)
            dataset = self.schema(sc)
            fmt = ["--file-format", "csv"]
        else:
            dest, dataset, fmt = f"duckdb:{self.duck_path(sc)}", "bench", []
        argv = [
            str(venv / "bin" / "python"), str(C.BENCH / "peer_dlt.py"),
            "--source", source, "--table", table, "--dest", dest, "--dataset", dataset,
            "--mode", "full" if sc.kind == "full" else "incremental", "--backend", self.backend,
            "--pk", ",".join(sc.keys), "--pipelines-dir", str(self.workdir(sc)),
            "--name", f"{self.slug}_s{sc.id}", *fmt,
        ]  # fmt: skip
        if schema:
            argv += ["--schema", schema]
        self.workdir(sc).mkdir(parents=True, exist_ok=True)
        return [Step(argv, env=peer_env(), cwd=str(self.workdir(sc)))]


class Ingestr(Method):
    name = "ingestr 0.15.9"
    slug = "ingestr"

    def unavailable(self, sc: Scenario) -> str | None:
        if sc.kind == "key_sync":
            return "ingestr has no deleted-key detection (no key_sync mode)"
        return peer_venv("ingestr")[1]

    def workdir(self, sc: Scenario) -> Path:
        return C.DATA / "ingestr" / f"s{sc.id}"

    def reset(self, sc: Scenario) -> None:
        super().reset(sc)
        shutil.rmtree(self.workdir(sc), ignore_errors=True)

    def steps(self, sc: Scenario) -> list[Step]:
        venv, _ = peer_venv("ingestr")
        if sc.store == "pg":
            src, table = C.pg_url(C.PG_SRC_DB), f"src.{sc.src_table}"
        elif sc.store == "mariadb":
            src, table = C.my_url(), f"{C.MY_DB}.{sc.src_table}"
        else:
            src, table = f"sqlite:///{C.SQLITE_SRC}", sc.src_table
        dest = C.pg_url(C.PG_DST_DB) if sc.dest == "pg" else f"duckdb:///{self.duck_path(sc)}"
        argv = [
            str(venv / "bin" / "ingestr"), "ingest", "--source-uri", src, "--source-table", table,
            "--dest-uri", dest, "--dest-table", self.dest_table(sc), "--yes", "--progress", "log",
            "--pipelines-dir", str(self.workdir(sc)),
        ]  # fmt: skip
        if sc.kind in ("incremental", "key_sync"):
            argv += ["--incremental-strategy", "merge", "--incremental-key", "updated_at"]
            for k in sc.keys:
                argv += ["--primary-key", k]
        self.workdir(sc).mkdir(parents=True, exist_ok=True)
        return [Step(argv, env=peer_env(), cwd=str(self.workdir(sc)))]


class Sling(Method):
    name = "Sling 1.4.11"
    slug = "sling"

    def binary(self) -> Path:
        venv, _ = peer_venv("sling")
        found = sorted(venv.glob("lib/python*/site-packages/sling_linux_amd64/bin/sling*"))
        return found[0] if found else venv / "missing-sling-binary"

    def unavailable(self, sc: Scenario) -> str | None:
        problem = peer_venv("sling")[1]
        if problem:
            return problem
        if sc.kind == "key_sync":
            return (
                "delete_missing (its key_sync) is a Sling Pro feature: the free CLI logs "
                "'invalid or missing token' and deletes nothing"
            )
        if not self.binary().exists():
            return "the sling-linux-amd64 package holds no sling program"
        return None

    def steps(self, sc: Scenario) -> list[Step]:
        if sc.store == "pg":
            src, stream = C.pg_url(C.PG_SRC_DB) + "?sslmode=disable", f"src.{sc.src_table}"
        elif sc.store == "mariadb":
            src, stream = C.my_url(), f"{C.MY_DB}.{sc.src_table}"
        else:
            src, stream = f"sqlite://{C.SQLITE_SRC}", f"main.{sc.src_table}"
        if sc.dest == "pg":
            tgt = C.pg_url(C.PG_DST_DB) + "?sslmode=disable"
        else:
            tgt = f"duckdb://{self.duck_path(sc)}"
        argv = [
            str(self.binary()), "run", "--src-conn", src, "--src-stream", stream,
            "--tgt-conn", tgt, "--tgt-object", self.dest_table(sc),
        ]  # fmt: skip
        if sc.kind == "full":
            argv += ["--mode", "full-refresh"]
        else:
            argv += ["--mode", "incremental", "--primary-key", ",".join(sc.keys),
                     "--update-key", "updated_at"]  # fmt: skip
        if sc.kind == "key_sync":
            argv += ["--tgt-options", json.dumps({"delete_missing": "hard"})]
        home = C.DATA / "sling"
        home.mkdir(parents=True, exist_ok=True)
        env = peer_env(
            SLING_HOME_DIR=str(home), SLING_BINARY=str(self.binary()), SLING_ALLOW_EMPTY="TRUE"
        )
        return [Step(argv, env=env, cwd=str(home))]


def all_methods(peers: list[str]) -> list[Method]:
    methods: list[Method] = [Pipekit(), RawPipe(True), RawPipe(False)]
    if "dlt" in peers:
        methods.append(Dlt("pyarrow"))
    if "dlt-connectorx" in peers:
        methods.append(Dlt("connectorx"))
    if "ingestr" in peers:
        methods.append(Ingestr())
    if "sling" in peers:
        methods.append(Sling())
    return methods


def versions() -> dict[str, str]:
    """Versions of the peers as installed in their venvs."""
    out = {}
    for name, pkgs in (("dlt", ["dlt", "connectorx", "pyarrow"]), ("ingestr", ["ingestr"])):
        py = C.VENVS / name / "bin" / "python"
        if py.exists():
            code = (
                "import importlib.metadata as m\n"
                f"for p in {pkgs!r}:\n"
                "    try: print(p, m.version(p))\n"
                "    except Exception: pass\n"
            )
            res = subprocess.run([str(py), "-c", code], capture_output=True, text=True)
            for line in res.stdout.split("\n"):
                if line.strip():
                    k, v = line.split()
                    out[f"{k} ({name} venv)" if k == "pyarrow" else k] = v
    found = sorted(C.VENVS.glob("sling/lib/python*/site-packages/sling_linux_amd64/bin/sling*"))
    if found:
        sling = found[0]
        res = subprocess.run([str(sling), "--version"], capture_output=True, text=True)
        out["sling"] = res.stdout.strip().replace("Version: ", "")
    return out
