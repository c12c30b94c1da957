#!/usr/bin/env bash
# README command 1: install Pipekit into .venv and run `pipekit quickstart`, which
# builds a working demo in ./pipekit-quickstart (no server needed): a SQLite state
# database, a SQLite source with sample shop data, a DuckDB warehouse, three modules
# (full, upsert, incremental) in a group, synced twice. See docs/quickstart.md.
#
# Arguments go to `pipekit quickstart`: `scripts/quickstart.sh --force` rebuilds
# the demo, `scripts/quickstart.sh /tmp/demo` puts it elsewhere.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    if ! "$PY" -m venv .venv 2>/dev/null; then
        rm -rf .venv
        # Debian ships venv (ensurepip) as a separate package.
        if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            "$PY" -m venv .venv
        else
            echo "python3 -m venv failed: install python3-venv (apt-get install python3-venv)" >&2
            exit 1
        fi
    fi
fi
echo "Installing Pipekit into .venv ..."
.venv/bin/python -m pip install -q --disable-pip-version-check .

status=0
.venv/bin/pipekit quickstart "$@" || status=$?
echo
if [ "$status" -ne 0 ]; then
    echo "Arguments go to \`pipekit quickstart\`: \`scripts/quickstart.sh --force\` rebuilds an existing demo." >&2
fi
echo "Pipekit is installed in .venv: run \`. .venv/bin/activate\` to use the pipekit commands above."
exit "$status"
