#!/bin/sh
# Prints the Debian packages that own the shared libraries BINARY links (ldd), one per line.
# On merged-/usr Debian a library's path (/lib/..., or /usr/lib/... once resolved) may be
# registered by its package under the other prefix: every spelling is asked of dpkg, and a
# library no package owns is an error instead of a silent gap.
#
#   runtime-packages.sh BINARY
set -eu
bin=${1:?usage: runtime-packages.sh BINARY}
libs=$(ldd "$bin" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | sort -u)
[ -n "$libs" ] || { echo "runtime-packages: ldd found no libraries in $bin" >&2; exit 1; }
for lib in $libs; do
    real=$(readlink -f "$lib")
    owner=""
    for path in "$lib" "$real"; do
        case $path in
        /usr/*) other=${path#/usr} ;;
        *) other=/usr$path ;;
        esac
        for p in "$path" "$other"; do
            owner=$(dpkg -S "$p" 2>/dev/null | grep -v '^diversion ' | cut -d: -f1 | head -n 1) || true
            [ -z "$owner" ] || break 2
        done
    done
    [ -n "$owner" ] || { echo "runtime-packages: no Debian package owns $lib ($real)" >&2; exit 1; }
    echo "$owner"
done | sort -u
