"""Run one dlt ``sql_database`` sync (inside bench/.venvs/dlt, not the project's venv).

python peer_dlt.py --source URL --table T [--schema S] --dest postgres:URL|duckdb:PATH
    --dataset D [--mode full|incremental] [--backend pyarrow|connectorx]
    [--pk a,b] [--cursor updated_at] [--file-format csv] --pipelines-dir DIR --name N
"""

from __future__ import annotations

import argparse
import sys


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--source", required=True)
    p.add_argument("--table", required=True)
    p.add_argument("--schema")
    p.add_argument("--dest", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--mode", default="full", choices=["full", "incremental"])
    p.add_argument("--backend", default="pyarrow")
    p.add_argument("--pk", default="")
    p.add_argument("--cursor", default="updated_at")
    p.add_argument("--file-format")
    p.add_argument("--pipelines-dir", required=True)
    p.add_argument("--name", required=True)
    a = p.parse_args()

    import dlt
    from dlt.sources.sql_database import sql_table

    kind, _, where = a.dest.partition(":")
    if kind == "postgres":
        dest = dlt.destinations.postgres(credentials=where)
    else:
        dest = dlt.destinations.duckdb(credentials=where)
    pk = [k for k in a.pk.split(",") if k]
    incremental = dlt.sources.incremental(a.cursor) if a.mode == "incremental" else None
    resource = sql_table(
        credentials=a.source,
        table=a.table,
        schema=a.schema,
        backend=a.backend,
        reflection_level="full_with_precision",
        incremental=incremental,
        primary_key=pk or None,
        chunk_size=50_000,
    )
    pipeline = dlt.pipeline(
        pipeline_name=a.name,
        destination=dest,
        dataset_name=a.dataset,
        pipelines_dir=a.pipelines_dir,
    )
    kwargs = {"write_disposition": "merge" if a.mode == "incremental" else "replace"}
    if a.file_format:
        kwargs["loader_file_format"] = a.file_format
    info = pipeline.run(resource, **kwargs)
    print(info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
