#!/usr/bin/env bash
# Builds res_talkgate_notify.so inside a Debian system (a chroot, or a Docker build stage) that
# has asterisk-dev, gcc, g++, make, dpkg-dev, libssl-dev, uuid-dev, patch, bzip2, xz-utils,
# and a deb-src line for the suite its asterisk-dev comes from. Uses nothing but Debian's
# asterisk source package of exactly the installed asterisk-dev version.
#
#   build-in-root.sh prepare WORKDIR        fetch and unpack that source, configure its bundled
#                                           pjproject as Asterisk's build does; writes
#                                           WORKDIR/pjproject.cflags and WORKDIR/asterisk.version
#   build-in-root.sh compile WORKDIR SRC.c OUT.so
#   build-in-root.sh flags                  the compiler flags (part of a cache key)
#
# Environment: APT_OPTS (extra apt-get options, e.g. -o Acquire::Check-Valid-Until=false).
set -euo pipefail

MODULE=res_talkgate_notify
# As Asterisk's own module build: shared, PIC, GNU C; AST_MODULE and AST_MODULE_SELF_SYM are
# what the in-tree build defines and AST_MODULE_INFO needs. The -Wno- keep Asterisk's own
# headers from drowning a warning of ours.
CFLAGS_MODULE=(-std=gnu11 -O2 -g -fPIC -shared -pthread -Wall -Wextra -Wno-unused-parameter
    -Wno-missing-field-initializers -D_GNU_SOURCE -D_REENTRANT "-DAST_MODULE=\"$MODULE\""
    "-DAST_MODULE_SELF_SYM=__internal_${MODULE}_self")

die() {
    printf 'build-in-root: error: %s\n' "$*" >&2
    exit 1
}

installed() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || true; }

# Debian's asterisk source with pjproject unpacked, patched (Asterisk's patches and
# config_site.h) and configured exactly as the package build does it (debian/rules
# execute_before_dh_auto_configure, then third-party/pjproject's configure target), so that
# struct layouts match the libasteriskpj.so Asterisk runs with.
prepare() {
    local work=$1 version pjver pjdir
    version=$(installed asterisk-dev)
    [ -n "$version" ] || die "asterisk-dev is not installed"
    rm -rf "$work" && mkdir -p "$work" && cd "$work"
    # shellcheck disable=SC2086
    apt-get ${APT_OPTS:-} source --download-only "asterisk=$version" >"$work/apt-source.log" 2>&1 ||
        die "apt-get source asterisk=$version failed (is there a deb-src line?), see $work/apt-source.log"
    dpkg-source --no-check -x ./*.dsc "$work/asterisk" >"$work/dpkg-source.log" 2>&1 ||
        die "dpkg-source failed, see $work/dpkg-source.log"
    cd "$work/asterisk"
    pjver=$(sed -n 's/^PJPROJECT_VERSION=//p' third-party/versions.mak)
    pjdir=debian/build-pjproject
    mkdir -p "$pjdir"
    ln -s ../../Xpjproject "$pjdir/pjproject-$pjver"
    (cd "$pjdir" && tar --create "pjproject-$pjver"/*) | bzip2 --fast >"$pjdir/pjproject-$pjver.tar.bz2"
    (cd "$pjdir" && md5sum "pjproject-$pjver.tar.bz2") >"third-party/pjproject/pjproject-$pjver.tar.bz2.md5"
    export TAR=tar PATCH=patch SED=sed NM=nm MD5=md5sum CAT=cat CUT=cut GREP=grep FIND=find \
        REALPATH=realpath DOWNLOAD=false DOWNLOAD_TO_STDOUT=false
    pjmake() {
        make --quiet --no-print-directory -C third-party/pjproject \
            PJPROJECT_CONFIGURE_OPTS=--with-ssl EXTERNALS_CACHE_DIR="$work/asterisk/$pjdir" "$@"
    }
    pjmake configure >"$work/pjproject-configure.log" 2>&1 ||
        die "configuring pjproject failed, see $work/pjproject-configure.log"
    # make's directory cache can skip these copies after it re-unpacked the source
    cp -f third-party/pjproject/patches/*.h third-party/pjproject/source/pjlib/include/pj/
    # echo_cflags re-runs configure first and echoes its progress: keep the flags line only
    pjmake echo_cflags 2>>"$work/pjproject-configure.log" | grep -- '^-D' | tail -n 1 >"$work/pjproject.cflags"
    grep -q -- "-I$work/asterisk/third-party/pjproject/source/pjsip/include" "$work/pjproject.cflags" ||
        die "no pjproject include flags, see $work/pjproject-configure.log"
    [ -f third-party/pjproject/source/pjlib/include/pj/config_site.h ] || die "config_site.h is missing"
    echo "$version" >"$work/asterisk.version"
}

compile() {
    local work=$1 source=$2 out=$3 pjflags
    [ "$(cat "$work/asterisk.version" 2>/dev/null)" = "$(installed asterisk-dev)" ] ||
        die "$work was prepared for another asterisk-dev: run prepare again"
    read -r -a pjflags <"$work/pjproject.cflags"
    gcc "${CFLAGS_MODULE[@]}" "${pjflags[@]}" -o "$out.tmp" "$source" 2>"$out.log" || {
        cat "$out.log" >&2
        die "compiling $source failed"
    }
    if [ -s "$out.log" ]; then
        cat "$out.log" >&2
        die "compiling $source printed warnings"
    fi
    rm -f "$out.log"
    mv "$out.tmp" "$out"
}

case ${1:-} in
prepare) prepare "${2:?WORKDIR}" ;;
compile) compile "${2:?WORKDIR}" "${3:?SRC.c}" "${4:?OUT.so}" ;;
flags) printf '%s\n' "${CFLAGS_MODULE[*]}" ;;
*)
    sed -n '2,13p' "$0" >&2
    exit 2
    ;;
esac
