#!/usr/bin/env bash
# Creates (or completes) the project's virtualenv in .venv, in the order that
# ../shared/STACK.md found to work: torch first, then mmcv built from source
# with its compiled ops, then the rest of requirements.txt and this package.
# Quick when everything is already installed: it checks a stamp holding the
# hash of requirements.txt and setup.py.
#
# Quiet: one line per step on the terminal (with the compile counter while
# mmcv builds); pip's and the compiler's output go to $VENV/setup.log, whose
# last lines are printed when a step fails. Sourced (tests/test_setup_env.py),
# the script only defines its functions.

LOG_TAIL=40  # lines of the log shown when a step fails

# step DESCRIPTION COMMAND...: runs COMMAND with its output appended to $LOG,
# showing DESCRIPTION and then how long it took; when COMMAND fails, the tail
# of $LOG goes to stderr and the script exits with COMMAND's status.
step() {
    local what=$1 start=$SECONDS status=0
    shift
    printf '\n==> %s\n$ %s\n' "$what" "$*" >> "$LOG"
    printf '==> [setup] %s' "$what"
    "$@" 2>&1 | to_log "$what" || status=${PIPESTATUS[0]}
    if [ "$status" -ne 0 ]; then
        printf ': failed (exit status %s); the last lines of %s:\n' "$status" "$LOG"
        tail -n "$LOG_TAIL" "$LOG" >&2
        exit "$status"
    fi
    printf ': done in %ss\n' $((SECONDS - start))
}

# to_log DESCRIPTION: appends its input to $LOG; on a terminal, shows the
# newest "[done/total]" counter of ninja (the mmcv build) after DESCRIPTION.
to_log() {
    local line
    while IFS= read -r line; do
        printf '%s\n' "$line" >> "$LOG"
        if [ -t 1 ] && [[ $line =~ ^\[([0-9]+/[0-9]+)\] ]]; then
            printf '\r==> [setup] %s [%s]' "$1" "${BASH_REMATCH[1]}"
        fi
    done
}

main() {
    cd "$(dirname "${BASH_SOURCE[0]}")/.."
    VENV=${SWIFTFORMER_VENV:-.venv}
    PY="$VENV/bin/python"
    local stamp="$VENV/.swiftformer_mm-installed"
    local want
    want=$(cat requirements.txt setup.py | sha256sum | cut -c1-16)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    mkdir -p "$VENV"
    LOG="$VENV/setup.log"
    : > "$LOG"
    echo "==> [setup] $VENV: output in $LOG"

    if [ ! -x "$PY" ]; then
        step "creating virtualenv $VENV" python3 -m venv "$VENV"
    fi
    step "installing torch (CPU build) and the build tools mmcv needs" \
        "$PY" -m pip install 'torch==2.13.0' 'setuptools<82' wheel ninja
    if ! "$PY" -c 'import mmcv, mmcv._ext' 2>/dev/null; then
        step "building mmcv 2.1.0 with ops from source (15-25 min on 2 cores the first time; pip caches the wheel)" \
            env MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
            "$PY" -m pip install -v --no-build-isolation 'mmcv==2.1.0'
        step "checking that mmcv has its compiled ops" "$PY" -c 'import mmcv._ext'
    fi
    step "installing the rest of requirements.txt" "$PY" -m pip install -r requirements.txt
    step "installing swiftformer_mm (editable)" "$PY" -m pip install --no-deps --no-build-isolation -e .
    echo "$want" > "$stamp"
    echo "==> [setup] environment ready: $VENV"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    main
fi
