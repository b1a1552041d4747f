#!/usr/bin/env bash
# bench/failover/run.sh [ROUNDS [LEASE_TTL_MS]] (defaults 5, 3000): the active/standby takeover
# time (bench_takeover.cpp says what is timed). Starts the two labs the failover test uses (the
# stock one at TALKGATE_LAB_PORT_BASE, the module one at +200) under BUILD_DIR, runs the
# benchmark, stops the labs. Build first: cmake --build BUILD_DIR --target bench_takeover.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${BUILD_DIR:-$src/build}
base=${TALKGATE_LAB_PORT_BASE:-25060}
bench=$build/bench/failover/bench_takeover
[ -x "$bench" ] || { echo "run.sh: $bench missing; build the bench_takeover target" >&2; exit 1; }
lab=$build/bench-failover/lab
module_lab=$build/bench-failover/lab-module
stop_labs() {
    "$src/scripts/lab.sh" stop "$lab" || true
    "$src/scripts/lab.sh" stop "$module_lab" || true
}
trap stop_labs EXIT
module_so=$build/bench-failover/res_talkgate_notify.so
"$src/scripts/build-module.sh" -o "$module_so" >/dev/null
TALKGATE_LAB_PORT_BASE=$base "$src/scripts/lab.sh" start "$lab"
TALKGATE_LAB_PORT_BASE=$((base + 200)) TALKGATE_LAB_MODULE=$module_so \
    "$src/scripts/lab.sh" start "$module_lab"
TALKGATE_LAB_ENV=$lab/lab.env TALKGATE_LAB_MODULE_ENV=$module_lab/lab.env \
    "$bench" "${1:-5}" "${2:-3000}"
