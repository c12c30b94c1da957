"""Run dlt's REST API source against the fake API (inside bench/.venvs/dlt, not the
project's venv): page-number pagination, bearer token, records at ``data.items``.

python peer_dlt_rest.py --base URL --token T --per-page 100 --dest duckdb:PATH
    --pipelines-dir DIR --name N
"""

from __future__ import annotations

import argparse


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--per-page", type=int, default=100)
    p.add_argument("--dest", required=True)
    p.add_argument("--pipelines-dir", required=True)
    p.add_argument("--name", required=True)
    a = p.parse_args()

    import dlt
    from dlt.sources.rest_api import rest_api_source

    source = rest_api_source(
        {
            "client": {
                "base_url": a.base,
                "auth": {"type": "bearer", "token": a.token},
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "base_page": 1,
                    "total_path": None,
                },
            },
            "resources": [
                {
                    "name": "orders",
                    "primary_key": "id",
                    "write_disposition": "replace",
                    "endpoint": {
                        "path": "page",
                        "params": {"per_page": a.per_page},
                        "data_selector": "data.items",
                    },
                }
            ],
        }
    )
    _, _, where = a.dest.partition(":")
    pipeline = dlt.pipeline(
        pipeline_name=a.name,
        destination=dlt.destinations.duckdb(credentials=where),
        dataset_name="api",
        pipelines_dir=a.pipelines_dir,
    )
    print(pipeline.run(source))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
