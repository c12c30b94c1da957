#!/usr/bin/env bash
# Long runs kept out of CI (its budget is 30 minutes): run them before resolving an
# issue and put what they print in the closing note.
#
#   scripts/soak.sh            # everything below
#
# 1. the REST API fuzzed by schemathesis with 100 examples per operation (CI: 4);
# 2. the Connector Kit's 1M- and 3M-row extracts, peak memory (bench/connector_extract.py).
# Needs what scripts/test.sh installs (run that first).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=.venv/bin/python

echo "==> schemathesis, 100 examples per operation"
PIPEKIT_SCHEMATHESIS_EXAMPLES=${PIPEKIT_SCHEMATHESIS_EXAMPLES:-100} \
    "$PY" -m pytest tests/api/test_schemathesis.py -q --timeout 3600

echo "==> connector extract, peak RSS at 1M and 3M rows"
"$PY" -m bench.connector_extract --rows 1000000,3000000 --batch-size 10000 --runs 1
