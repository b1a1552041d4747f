#!/usr/bin/env bash
# Builds the Debian package talkgate_<version>_amd64.deb from a plain (never sanitized)
# Release tree in BUILD_DIR (default ./build/deb) with Debian's hardening flags, and prints
# its path. ccache makes a rebuild of an unchanged tree take seconds.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$src/build/deb}

# Debian's own compiler and linker flags (stack protector, fortify, relro, bindnow, PIE), read
# by CMake at the first configure. No -g (the package is stripped) and no file-prefix-map with
# this checkout's path (ccache would not share objects between checkouts).
flags() {
    DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get "$1" | tr ' ' '\n' |
        grep -vx -e '-g' -e '-ffile-prefix-map=.*' | tr '\n' ' '
}
CXXFLAGS="$(flags CPPFLAGS) $(flags CXXFLAGS)"
CFLAGS="$(flags CPPFLAGS) $(flags CFLAGS)"
LDFLAGS=$(flags LDFLAGS)
export CXXFLAGS CFLAGS LDFLAGS

BUILD_DIR=$build CMAKE_BUILD_TYPE=Release TALKGATE_SANITIZE='' TALKGATE_BUILD_TESTS=OFF \
    TALKGATE_BUILD_BENCH=OFF TALKGATE_PACKAGE=ON "$src/scripts/build.sh" >&2
rm -f "$build"/talkgate_*.deb
(cd "$build" && cpack -G DEB >&2)
deb=$(find "$build" -maxdepth 1 -name 'talkgate_*_amd64.deb')
[ -n "$deb" ] || {
    echo "build-deb: cpack made no talkgate_*_amd64.deb in $build" >&2
    exit 1
}
printf '%s\n' "$deb"
