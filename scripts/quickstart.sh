#!/usr/bin/env bash
# Sets up .venv (see setup.sh) and runs the quickstart on the embedded default
# (SQLite + local files) in a fresh demo project under .quickstart/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m lifelong.quickstart "${1:-.quickstart}"
