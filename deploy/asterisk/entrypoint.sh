#!/bin/sh
# The Asterisk container's entrypoint: renders talkgate's Asterisk config from the environment
# into /etc/asterisk (templates use @NAME@ like the lab's), refuses missing or placeholder
# secrets, then runs Asterisk in the foreground as the asterisk user.
#
#   entrypoint.sh run            render, then exec asterisk -f (the container's default)
#   entrypoint.sh render [DIR]   render only (into DIR, default /etc/asterisk); for tests
set -eu

templates=${TALKGATE_ASTERISK_TEMPLATES:-/usr/share/talkgate-asterisk/templates}
stock=${TALKGATE_ASTERISK_STOCK:-/usr/share/talkgate-asterisk/stock}
cmd=${1:-run}
out=${2:-/etc/asterisk}

die() { echo "talkgate-asterisk: $*" >&2; exit 1; }
case "$cmd" in
run | render) ;;
*) die "unknown command '$cmd' (run | render [DIR])" ;;
esac

# A secret must be set, and must not be the .env.example placeholder or a known sample.
need_secret() {
    eval "v=\${$1:-}"
    [ -n "$v" ] || die "$1 is not set (see deploy/.env.example)"
    case "$v" in
    CHANGE_ME* | admin123 | secret | password) die "$1 still holds a placeholder or sample value" ;;
    esac
}

need_secret ARI_PASSWORD
need_secret ASTERISK_AMI_SECRET
[ -n "${GENESYS_SIP_HOST:-}" ] || die "GENESYS_SIP_HOST is not set (Genesys SIP Server address)"

# Every placeholder the templates may use, with its default.
export ARI_APP="${ARI_APP:-talkgate}"
export ARI_USER="${ARI_USER:-talkgate}"
export AMI_USER="${ASTERISK_AMI_USER:-talkgate}"
export AMI_SECRET="$ASTERISK_AMI_SECRET"
export AMI_PORT="${ASTERISK_AMI_PORT:-5038}"
export HTTP_BIND="${ASTERISK_HTTP_BIND:-127.0.0.1}"
export HTTP_PORT="${ASTERISK_HTTP_PORT:-8088}"
export SIP_BIND="${ASTERISK_SIP_BIND:-0.0.0.0}"
export SIP_PORT="${ASTERISK_SIP_PORT:-5060}"
export RTP_START="${ASTERISK_RTP_START:-10000}"
export RTP_END="${ASTERISK_RTP_END:-20000}"
# Genesys may be several hosts (comma separated), as talkgate's GENESYS_SIP_HOST.
export GENESYS_MATCH="$GENESYS_SIP_HOST"
export HEP_CAPTURE_ADDRESS="${HEP_LISTEN:-127.0.0.1:9060}"
export HEP_PASSWORD="${HEP_PASSWORD:-}"
export HEP_ENABLED=yes
placeholders="ARI_APP ARI_USER ARI_PASSWORD AMI_USER AMI_SECRET AMI_PORT HTTP_BIND HTTP_PORT
    SIP_BIND SIP_PORT RTP_START RTP_END GENESYS_MATCH HEP_CAPTURE_ADDRESS
    HEP_PASSWORD HEP_ENABLED"
export TALKGATE_PLACEHOLDERS="$placeholders"

# Literal replacement (awk's gsub would treat & and \ in secrets specially).
render() {
    awk 'BEGIN { n = split(ENVIRON["TALKGATE_PLACEHOLDERS"], names, /[ \t\n]+/) }
    {
        line = $0
        for (i = 1; i <= n; i++) {
            if (names[i] == "") continue
            key = "@" names[i] "@"; val = ENVIRON[names[i]]; res = ""
            while ((p = index(line, key)) > 0) {
                res = res substr(line, 1, p - 1) val
                line = substr(line, p + length(key))
            }
            line = res line
        }
        print line
    }' "$1" >"$2"
}

mkdir -p "$out"
umask 027
rendered=""
for t in "$templates"/*.conf; do
    [ -e "$t" ] || die "no templates in $templates"
    render "$t" "$out/$(basename "$t")"
    rendered="$rendered $out/$(basename "$t")"
done
if [ -f "$stock/indications.conf" ]; then
    cp "$stock/indications.conf" "$out/"
    rendered="$rendered $out/indications.conf"
fi
# Empty files for what talkgate does not configure, so that a real warning stands out.
for f in res_odbc res_config_sqlite3 res_stun_monitor statsd ccss cdr cel features acl udptl \
    geolocation pjproject pjsip_wizard stir_shaken websocket_client res_http_media_cache; do
    if [ ! -f "$out/$f.conf" ]; then
        : >"$out/$f.conf"
        rendered="$rendered $out/$f.conf"
    fi
done
# shellcheck disable=SC2086
left=$(grep -l '@[A-Z_][A-Z_]*@' $rendered 2>/dev/null || true)
if [ -n "$left" ]; then die "unrendered placeholders in: $left"; fi

case "$cmd" in
render)
    # shellcheck disable=SC2086
    set -- $rendered
    echo "talkgate-asterisk: rendered $# files into $out"
    ;;
run)
    # Only what was rendered here: the operators' site/ mount stays as it is.
    # shellcheck disable=SC2086
    chgrp asterisk $rendered
    exec asterisk -f -U asterisk -G asterisk
    ;;
esac
