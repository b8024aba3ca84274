#!/usr/bin/env bash
# Creates (or completes) the project's virtualenv in .venv, in the order that
# ../shared/STACK.md found to work: torch first, then mmcv built from source
# with its compiled ops, then the rest of requirements.txt and this package.
# Quick when everything is already installed: it checks a stamp holding the
# hash of requirements.txt and setup.py.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${SWIFTFORMER_VENV:-.venv}
PY="$VENV/bin/python"
stamp="$VENV/.swiftformer_mm-installed"
want=$(cat requirements.txt setup.py | sha256sum | cut -c1-16)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi

step() { printf '\n==> [setup] %s\n' "$*"; }

if [ ! -x "$PY" ]; then
    step "creating virtualenv $VENV"
    python3 -m venv "$VENV"
fi
step "installing torch (CPU build) and the build tools mmcv needs"
"$PY" -m pip install --progress-bar on 'torch==2.13.0' 'setuptools<82' wheel ninja

if ! "$PY" -c 'import mmcv, mmcv._ext' 2>/dev/null; then
    step "building mmcv 2.1.0 with ops from source (15-25 min on 2 cores the first time; pip caches the wheel)"
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "$PY" -m pip install -v --no-build-isolation 'mmcv==2.1.0' \
        | grep -E --line-buffered '^(Building|Created|Successfully|Using cached|Collecting|Stored)|\[[0-9]+/[0-9]+\]' || true
    "$PY" -c 'import mmcv._ext' || { echo "mmcv was installed without its compiled ops" >&2; exit 1; }
fi

step "installing the rest of requirements.txt"
"$PY" -m pip install -r requirements.txt
step "installing swiftformer_mm (editable)"
"$PY" -m pip install --no-deps --no-build-isolation -e .
echo "$want" > "$stamp"
step "environment ready: $VENV"
