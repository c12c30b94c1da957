#!/usr/bin/env bash
# Long runs kept out of CI (its budget is 30 minutes): run them before resolving an
# issue and put what they print in the closing note.
#
#   scripts/soak.sh            # everything below
#
# 1. the REST API fuzzed by schemathesis with 100 examples per operation (CI: 4);
# 2. the Connector Kit's 1M- and 3M-row extracts, peak memory (bench/connector_extract.py);
# 3. 3M-row CSV and Parquet files loaded as module sources into DuckDB and PostgreSQL,
#    peak memory (bench/connector_sources.py; the target is under 300 MB);
# 4. 1M rows read over PostgreSQL's JDBC jar beside the native driver, five times
#    each (bench/jdbc_read.py; the first read of a process at least 0.5 x native);
# 5. 150 short JDBC processes, each of which must exit 0 (JPype's reference queue
#    once aborted about one in ten at exit, after the work was done).
# Needs what scripts/test.sh installs (run that first).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=.venv/bin/python

echo "==> schemathesis, 100 examples per operation"
PIPEKIT_SCHEMATHESIS_EXAMPLES=${PIPEKIT_SCHEMATHESIS_EXAMPLES:-100} \
    "$PY" -m pytest tests/api/test_schemathesis.py -q --timeout 3600

echo "==> connector extract, peak RSS at 1M and 3M rows"
"$PY" -m bench.connector_extract --rows 1000000,3000000 --batch-size 10000 --runs 1

echo "==> connector sources: 3M-row files into DuckDB and PostgreSQL, peak RSS"
"$PY" -m bench.connector_sources --skip-api --runs 1 --rows 3000000

echo "==> JDBC read beside the native driver"
"$PY" -m bench.jdbc_read --repeat 5 --quick

echo "==> 150 short JDBC processes, every one exits 0"
failed=0
for i in $(seq 1 150); do
    if ! "$PY" -c '
import sys
from pipekit.drivers import connect
with connect("jdbc:postgresql://127.0.0.1:5432/test", user="postgres") as d:
    rows = sum(b.num_rows for b in d.read("SELECT g, now() AS t FROM generate_series(1, 20000) g"))
assert rows == 20000, rows
' >/dev/null 2>/tmp/pipekit-soak-jdbc-exit.err; then
        failed=$((failed + 1))
        echo "process $i failed: $(tail -1 /tmp/pipekit-soak-jdbc-exit.err)"
    fi
done
echo "JDBC processes that did not exit 0: $failed of 150"
[ "$failed" -eq 0 ]
