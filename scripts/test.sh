#!/usr/bin/env bash
# Sets up .venv (see setup.sh) and runs the whole test suite, integration tests included.
# Extra arguments go to pytest, e.g. scripts/test.sh -k snapshot
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check src tests bench
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
