#!/usr/bin/env bash
# package.deb_install WORK_DIR: builds talkgate_<version>_amd64.deb (scripts/build-deb.sh, tree
# in WORK_DIR/build), runs lintian (no error allowed, warnings listed), then in a fresh Debian 12
# chroot (scripts/debian-base.sh, cached by content) installs it with `apt-get install ./...deb`
# and checks: the settings example is a conffile and is refused as it stands, a generated env
# file passes `talkgate --check-config` without its secrets in the output, the installed unit
# passes `systemd-analyze verify`, talkgate(8) lists the settings. The chroot's apt downloads
# are kept in TALKGATE_DEB_TEST_APT_CACHE (default /var/cache/talkgate/deb-test-apt).
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[ $# -eq 1 ] || {
    sed -n '2,8p' "$0" >&2
    exit 2
}
work=$1
apt_cache=${TALKGATE_DEB_TEST_APT_CACHE:-/var/cache/talkgate/deb-test-apt}
fail() {
    echo "package: FAIL: $*" >&2
    exit 1
}
[ "$(id -u)" = 0 ] || fail "the chroot needs root"
mkdir -p "$work"
start=$SECONDS

deb=$(BUILD_DIR=$work/build "$src/scripts/build-deb.sh")
echo "package: built $(basename "$deb") in $((SECONDS - start)) s"
dpkg-deb --field "$deb" Package Version Architecture Depends
dpkg-deb --contents "$deb" | awk '{ print "  " $1, $6 }'

# lintian: an error fails the test; every other tag is listed.
lintian_rc=0
lintian_out=$(lintian --fail-on error --display-level '>=pedantic' "$deb" 2>&1) || lintian_rc=$?
tags=$(printf '%s\n' "$lintian_out" | grep -c '^[EWIP]: ' || true)
echo "package: lintian after $((SECONDS - start)) s: $tags tags"
printf '%s\n' "$lintian_out"
[ "$lintian_rc" = 0 ] || fail "lintian exited $lintian_rc (errors above)"

base=$("$src/scripts/debian-base.sh" bookworm systemd)
root=$(mktemp -d "$work/root.XXXXXX")
chmod 755 "$root" # a system's / (mktemp makes it 700: only root could reach anything)
trap 'rm -rf "$root"' EXIT
tar -C "$root" -xzf "$base"
echo "package: fresh $(basename "$base") root after $((SECONDS - start)) s"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/"
cat >"$root/tmp/in-root.sh" <<'IN_ROOT'
set -euo pipefail
fail() { echo "package: FAIL (in the chroot): $*" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
# apt downloads as _apt into the caches mounted from outside, as into its own dirs.
chown -R _apt:root /var/lib/apt/lists/partial /var/cache/apt/archives/partial
apt-get update -qq
apt-get install -y -qq --no-install-recommends /tmp/talkgate_*_amd64.deb >/tmp/apt.log 2>&1 ||
    { cat /tmp/apt.log; fail "apt-get install ./talkgate_*.deb"; }
echo "package: installed: $(talkgate --version)"
dpkg-query -W -f='${Conffiles}\n' talkgate | grep -q '^ /etc/talkgate/talkgate.env.example ' ||
    fail "/etc/talkgate/talkgate.env.example is not a conffile"
zcat /usr/share/man/man8/talkgate.8.gz | grep -q 'ARI_URL' ||
    fail "talkgate(8) does not list the settings"
if talkgate --config /etc/talkgate/talkgate.env.example --check-config >/tmp/example.out 2>&1; then
    fail "the example's CHANGE_ME placeholders passed --check-config"
fi
grep -q 'placeholder' /tmp/example.out || { cat /tmp/example.out; fail "no placeholder refusal"; }
# An operator's env file: every placeholder replaced by a generated secret, Genesys on loopback.
secret() { head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32; }
umask 077
: >/tmp/secrets
while IFS= read -r line; do
    case $line in
    GENESYS_SIP_HOST=*) echo "GENESYS_SIP_HOST=127.0.0.2" ;;
    *=CHANGE_ME*)
        s=$(secret)
        echo "$s" >>/tmp/secrets
        echo "${line%%=*}=$s"
        ;;
    *) echo "$line" ;;
    esac
done </etc/talkgate/talkgate.env.example >/etc/talkgate/talkgate.env
talkgate --config /etc/talkgate/talkgate.env --check-config >/tmp/check.out 2>&1 ||
    { cat /tmp/check.out; fail "talkgate --check-config refused the generated env file"; }
grep -q 'GENESYS_SIP_HOST' /tmp/check.out || fail "--check-config printed no settings"
if grep -qFf /tmp/secrets /tmp/check.out; then fail "--check-config printed a secret"; fi
echo "package: --check-config accepted the generated env file, secrets masked"
# --man=no: a fresh minbase has no man(1) for Documentation=man:talkgate(8), read above.
verify=$(systemd-analyze verify --man=no /lib/systemd/system/talkgate.service 2>&1) ||
    { echo "$verify"; fail "systemd-analyze verify talkgate.service"; }
if echo "$verify" | grep -q 'talkgate.service'; then
    echo "$verify"
    fail "systemd-analyze complains"
fi
echo "package: systemd-analyze verify talkgate.service: clean"
IN_ROOT

# The chroot runs in a private mount and PID namespace: nothing stays mounted or running. Its
# apt lists and downloads are cached outside (one test at a time uses them).
mkdir -p "$apt_cache/archives/partial" "$apt_cache/lists/partial"
exec 9>"$apt_cache.lock"
flock 9
# shellcheck disable=SC2016 # expanded by the inner shell
unshare --mount --pid --fork --kill-child --propagation private /bin/sh -c '
    r=$1 c=$2
    mount -t proc proc "$r/proc" && mount --bind /dev "$r/dev" &&
    mount --bind "$c/archives" "$r/var/cache/apt/archives" &&
    mount --bind "$c/lists" "$r/var/lib/apt/lists" &&
    exec chroot "$r" /bin/bash /tmp/in-root.sh' deb-test "$root" "$apt_cache"
rm -rf "$root"
echo "package: passed in $((SECONDS - start)) s"
