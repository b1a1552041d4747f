#!/usr/bin/env bash
# Configures and builds talkgate into BUILD_DIR (default ./build) with Ninja.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$src/build}
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo} \
    ${TALKGATE_LAB_PORT_BASE:+-DTALKGATE_LAB_PORT_BASE=$TALKGATE_LAB_PORT_BASE} >/dev/null
cmake --build "$build" -j "$(nproc)"
