#!/usr/bin/env bash
# Sets up .venv (see setup.sh) and runs the quickstart on the embedded default
# (SQLite + local files) in a fresh demo project under .quickstart/; prints the total time.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
scripts/setup.sh
.venv/bin/python -m lifelong.quickstart "${1:-.quickstart}"
elapsed=$((SECONDS - started))
printf 'quickstart: total %dm %02ds (setup included)\n' $((elapsed / 60)) $((elapsed % 60))
