#!/usr/bin/env bash
# Configures and builds talkgate into BUILD_DIR (default ./build) with Ninja: every target, or
# only the targets given as arguments. TALKGATE_SANITIZE=address,undefined or thread builds a
# sanitized tree (scripts/test.sh); TALKGATE_FUZZ=OFF leaves out the libFuzzer targets;
# TALKGATE_BUILD_TESTS=OFF, TALKGATE_BUILD_BENCH=OFF and TALKGATE_PACKAGE=ON are passed on too.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$src/build}
# ccache makes a rebuild of an unchanged tree (CI on the same machine, a second run) take
# seconds; it keeps its cache in ~/.cache/ccache.
launcher=()
if command -v ccache >/dev/null; then
    export CCACHE_BASEDIR=$src  # paths relative to the tree: another clone hits the same cache
    export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros}
    export CCACHE_NOHASHDIR=1  # the build dir's path in debug info must not split the cache
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" "${launcher[@]}" \
    ${TALKGATE_LAB_PORT_BASE:+-DTALKGATE_LAB_PORT_BASE=$TALKGATE_LAB_PORT_BASE} \
    -DTALKGATE_SANITIZE="${TALKGATE_SANITIZE:-}" ${TALKGATE_FUZZ:+-DTALKGATE_FUZZ=$TALKGATE_FUZZ} \
    ${TALKGATE_BUILD_TESTS:+-DTALKGATE_BUILD_TESTS=$TALKGATE_BUILD_TESTS} \
    ${TALKGATE_BUILD_BENCH:+-DTALKGATE_BUILD_BENCH=$TALKGATE_BUILD_BENCH} \
    ${TALKGATE_PACKAGE:+-DTALKGATE_PACKAGE=$TALKGATE_PACKAGE} >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build" -j "$(nproc)" "${targets[@]}"
