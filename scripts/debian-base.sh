#!/usr/bin/env bash
# A fresh Debian root as a tarball, made once with debootstrap and cached by content: the
# suite, the extra packages and the mirror this machine's apt uses (and this script) name it,
# so a change to any of them makes a new one and an unchanged one costs nothing.
#
#   debian-base.sh SUITE [PACKAGE,...]   prints the tarball's path (made when missing)
#
# Settings (environment): TALKGATE_BASE_CACHE (default /var/cache/talkgate/debian-base).
set -euo pipefail

CACHE=${TALKGATE_BASE_CACHE:-/var/cache/talkgate/debian-base}

log() { printf 'debian-base: %s\n' "$*" >&2; }
die() {
    printf 'debian-base: error: %s\n' "$*" >&2
    exit 1
}

[ $# -ge 1 ] || {
    sed -n '2,8p' "$0" >&2
    exit 2
}
suite=$1
include=${2:-}
[ "$(id -u)" = 0 ] || die "debootstrap needs root"
# shellcheck source=scripts/lib/apt-mirror.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt-mirror.sh"
mirror=$(apt_mirror)

key=$( (printf '%s\n' "$suite" "$include" "$mirror" && cat "${BASH_SOURCE[0]}") | sha256sum | cut -c1-16)
tarball=$CACHE/$suite-$key.tar.gz
mkdir -p "$CACHE"
exec 9>"$CACHE/$suite.lock"
flock 9
if [ ! -f "$tarball" ]; then
    command -v debootstrap >/dev/null || die "debootstrap is missing: run scripts/install-deps.sh"
    log "debootstrapping $suite${include:+ with $include} (mirror from apt: $mirror)"
    tmp=$(mktemp -d "$CACHE/.root.XXXXXX")
    trap 'rm -rf "$tmp" "$tarball.tmp"' EXIT
    debootstrap --variant=minbase ${include:+--include="$include"} "$suite" "$tmp" "$mirror" \
        >"$CACHE/$suite-$key.debootstrap.log" 2>&1 ||
        die "debootstrap failed, see $CACHE/$suite-$key.debootstrap.log"
    # The downloaded .debs are not part of a fresh system.
    rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*_Packages
    tar -C "$tmp" --numeric-owner -czf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    log "cached $tarball"
fi
printf '%s\n' "$tarball"
