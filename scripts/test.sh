#!/usr/bin/env bash
# The one test command: installs what is needed, builds, and runs every test (unit tests,
# fake-peer tests, and the real Asterisk lab with sipp). Exits non-zero when any test fails.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$src/build}
"$src/scripts/install-deps.sh"
BUILD_DIR=$build "$src/scripts/build.sh"
cd "$build"
ctest --output-on-failure --timeout 600 -j "$(nproc)" "$@"
