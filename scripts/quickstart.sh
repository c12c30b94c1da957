#!/usr/bin/env bash
# README command 1: install Pipekit into .venv and bring up an embedded setup
# (SQLite state database, no server needed) in ./pipekit-quickstart.
#
# Until the sync engine lands, "quickstart" means: `pipekit init` creates the
# config, secrets file and state database there, and `pipekit doctor` checks them.
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
.venv/bin/python -m pip install -q --disable-pip-version-check .

export PIPEKIT_CONFIG=$PWD/pipekit-quickstart/pipekit.yaml
.venv/bin/pipekit init
.venv/bin/pipekit doctor
echo
echo "Pipekit is installed in .venv; this setup lives in pipekit-quickstart/."
echo "Use it with:  export PIPEKIT_CONFIG=$PIPEKIT_CONFIG; . .venv/bin/activate; pipekit --help"
