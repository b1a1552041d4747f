#!/usr/bin/env bash
# Builds deploy/asterisk/module/res_talkgate_notify.c for the Asterisk the lab runs (Debian
# sid's asterisk package), from Debian's own asterisk source package only.
#
#   build-module.sh [-o OUTPUT.so]
#
# Prints the path of the built module (in the cache) on stdout; with -o also copies it there.
# The first run provisions a separate build root (debootstrap sid with asterisk-dev and gcc,
# Debian's asterisk source with its bundled pjproject configured as debian/rules does it):
# about two minutes and 1 GB. A build is cached by Asterisk version and source hash, so an
# unchanged module costs seconds. Without network access to the Debian mirror it fails.
#
# Settings (environment): TALKGATE_MODULE_BUILD_ROOT (default
# /var/cache/talkgate/module-build-root), TALKGATE_MODULE_CACHE (default
# /var/cache/talkgate/modules), TALKGATE_LAB_ROOT (the lab's root whose Asterisk version the
# module must match, default /var/cache/talkgate/asterisk-sid; provisioned when missing).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
BROOT=${TALKGATE_MODULE_BUILD_ROOT:-/var/cache/talkgate/module-build-root}
CACHE=${TALKGATE_MODULE_CACHE:-/var/cache/talkgate/modules}
LAB_ROOT=${TALKGATE_LAB_ROOT:-/var/cache/talkgate/asterisk-sid}
MODULE=res_talkgate_notify
SOURCE=$src/deploy/asterisk/module/$MODULE.c
IN_ROOT=$src/deploy/asterisk/module/build-in-root.sh
APT_OPTS="-o Acquire::Check-Valid-Until=false -q"

log() { printf 'build-module: %s\n' "$*" >&2; }
die() {
    printf 'build-module: error: %s\n' "$*" >&2
    exit 1
}

out=
while getopts 'o:h' opt; do
    case $opt in
    o) out=$OPTARG ;;
    *)
        sed -n '2,16p' "$0" >&2
        exit 2
        ;;
    esac
done

[ "$(id -u)" = 0 ] || die "building the module needs root (debootstrap, chroot)"
[ -f "$SOURCE" ] || die "module source $SOURCE is missing"

# shellcheck source=scripts/lib/apt-mirror.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt-mirror.sh"

# A command in the build root, with /proc and /dev mounted in a private namespace that
# vanishes with it (nothing stays mounted, also when it fails).
in_root() {
    # shellcheck disable=SC2016 # expanded by the inner shell
    unshare --mount --propagation private /bin/sh -c \
        'r=$1; shift; mount -t proc proc "$r/proc" && mount --bind /dev "$r/dev" && exec chroot "$r" "$@"' \
        in_root "$BROOT" "$@"
}

pkg_version() { # ROOT PACKAGE -> installed version, empty when not installed
    [ -d "$1/var/lib/dpkg" ] || return 0
    { dpkg-query --admindir="$1/var/lib/dpkg" -W -f '${Status} ${Version}\n' "$2" 2>/dev/null || true; } |
        awk '$3 == "installed" { print $4 }'
}

# Debian's asterisk source of the lab's version, its pjproject configured (build-in-root.sh).
prepare_source() {
    log "fetching Debian's asterisk source $1 and configuring its bundled pjproject"
    cp "$IN_ROOT" "$BROOT/usr/local/bin/talkgate-build-module"
    in_root env APT_OPTS="$APT_OPTS" /usr/local/bin/talkgate-build-module prepare /src ||
        die "preparing Debian's asterisk source failed (logs in $BROOT/src/)"
}

provision_root() {
    if [ ! -f "$BROOT/usr/include/asterisk.h" ] || [ ! -x "$BROOT/usr/bin/g++" ]; then
        command -v debootstrap >/dev/null || die "debootstrap is missing: run scripts/install-deps.sh"
        local mirror
        mirror=$(apt_mirror)
        log "provisioning the module build root $BROOT (Debian sid, mirror from apt: $mirror)"
        rm -rf "$BROOT.tmp"
        unshare --mount --propagation private debootstrap --variant=minbase \
            --include=asterisk-dev,gcc,g++,make,dpkg-dev,libssl-dev,uuid-dev,patch,xz-utils,bzip2 \
            sid "$BROOT.tmp" "$mirror" >"$BROOT.debootstrap.log" 2>&1 ||
            die "debootstrap failed (no access to the Debian mirror?), see $BROOT.debootstrap.log"
        printf 'deb %s sid main\ndeb-src %s sid main\n' "$mirror" "$mirror" >"$BROOT.tmp/etc/apt/sources.list"
        rm -rf "$BROOT"
        mv "$BROOT.tmp" "$BROOT"
    fi
    cp /etc/resolv.conf "$BROOT/etc/resolv.conf" 2>/dev/null || true
    # shellcheck disable=SC2086
    in_root apt-get $APT_OPTS update >"$BROOT.apt-update.log" 2>&1 ||
        die "apt-get update in $BROOT failed, see $BROOT.apt-update.log"
}

mkdir -p "$(dirname "$BROOT")" "$CACHE"
exec 9>"$BROOT.lock"
flock 9

# The Asterisk the module is for: the lab's (its root is provisioned when missing).
if [ -z "$(pkg_version "$LAB_ROOT" asterisk)" ]; then
    TALKGATE_LAB_ROOT=$LAB_ROOT "$here/lab.sh" provision
fi
want=$(pkg_version "$LAB_ROOT" asterisk)
[ -n "$want" ] || die "no asterisk package in the lab root $LAB_ROOT"

have=$(pkg_version "$BROOT" asterisk-dev)
if [ "$have" != "$want" ] || [ ! -f "$BROOT/src/pjproject.cflags" ] ||
    [ "$(cat "$BROOT/src/asterisk.version" 2>/dev/null)" != "$want" ]; then
    provision_root
    have=$(pkg_version "$BROOT" asterisk-dev)
    if [ "$have" != "$want" ]; then
        log "build root has asterisk-dev '$have', the lab runs asterisk '$want': installing that one"
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive in_root apt-get $APT_OPTS install -y --no-install-recommends \
            "asterisk-dev=$want" >"$BROOT.apt-install.log" 2>&1 ||
            die "asterisk-dev $want is not on the mirror (the lab runs $want): see $BROOT.apt-install.log"
    fi
    prepare_source "$want"
fi

hash=$( (cat "$SOURCE" "$IN_ROOT" "$BROOT/src/pjproject.cflags") | sha256sum | cut -c1-16)
key=$(printf '%s' "$want" | tr -c 'A-Za-z0-9.+_-' '_')
built=$CACHE/$MODULE-$key-$hash.so

if [ -f "$built" ]; then
    log "cached: $built (asterisk $want)"
else
    log "compiling $MODULE for asterisk $want"
    cp "$IN_ROOT" "$BROOT/usr/local/bin/talkgate-build-module"
    work=$(mktemp -d "$BROOT/tmp/talkgate-module.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    cp "$SOURCE" "$work/$MODULE.c"
    inside=/tmp/$(basename "$work")
    chroot "$BROOT" /usr/local/bin/talkgate-build-module compile /src "$inside/$MODULE.c" \
        "$inside/$MODULE.so" || die "compiling $MODULE failed"
    cp "$work/$MODULE.so" "$built.tmp"
    mv "$built.tmp" "$built"
    log "built $built"
fi

if [ -n "$out" ]; then
    mkdir -p "$(dirname "$out")"
    cp "$built" "$out.tmp"
    mv "$out.tmp" "$out"
fi
printf '%s\n' "$built"
