#!/usr/bin/env bash
# Creates .venv if missing and installs lifelong with every extra, pinned by
# requirements/constraints.txt. Idempotent: a second run with nothing changed is a no-op
# (a stamp of the hash of the dependency files and of the compiled module's source lives in .venv).
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin="${PYTHON:-}"
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python_bin=$candidate
      break
    fi
  done
fi
if [ -z "$python_bin" ]; then
  echo "setup: lifelong needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $python_bin"
  "$python_bin" -m venv .venv
fi

stamp=.venv/.lifelong-deps
want=$(cat pyproject.toml requirements/constraints.txt setup.py src/lifelong/features/_ngrams.pyx | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing dependencies (a first install takes about a minute and a half)"
  # pip warns about index locations of the machine's own pip config that do not exist;
  # those lines are noise, everything else pip says is shown.
  quiet_pip() {
    .venv/bin/python -m pip "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  }
  quiet_pip install --quiet --disable-pip-version-check --upgrade "pip==26.0.1"
  quiet_pip install --quiet --disable-pip-version-check \
    -c requirements/constraints.txt -e ".[embeddings,server,postgres,redis,monitoring,kafka,nats,ui,onnx,dev]"
  echo "$want" > "$stamp"
else
  echo "setup: .venv is up to date"
fi
