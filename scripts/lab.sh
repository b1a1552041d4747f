#!/usr/bin/env bash
# The talkgate test lab: a real Asterisk 22 from Debian sid, run in a chroot inside its own
# mount and PID namespace (so nothing stays mounted and nothing outlives `stop`).
#
#   lab.sh provision              build (or reuse) the cached sid root with Asterisk
#   lab.sh start STATE_DIR        render config, start Asterisk, wait until fully booted,
#                                 write STATE_DIR/lab.env (ports, generated credentials)
#   lab.sh restart STATE_DIR      stop and start again with the same ports and credentials
#   lab.sh stop STATE_DIR         hang up everything, stop Asterisk, kill leftovers
#   lab.sh cli STATE_DIR CMD...   run an Asterisk CLI command (asterisk -rx)
#   lab.sh reset STATE_DIR        hang up every channel and wait until none is left
#   lab.sh crash STATE_DIR        kill Asterisk at once (no events), for reconnect tests
#   lab.sh talkgate-env STATE_DIR print talkgate's settings for this lab (KEY=VALUE lines)
#
# Settings (environment): TALKGATE_LAB_ROOT (the cached root, default
# /var/cache/talkgate/asterisk-sid), TALKGATE_LAB_PORT_BASE (default 25060; the lab uses
# the ports BASE .. BASE+99 and RTP ports BASE+100 .. BASE+199), TALKGATE_LAB_HEP (yes|no),
# TALKGATE_LAB_RTP_PORTS (START-END instead of BASE+100 .. BASE+199, for load runs),
# TALKGATE_LAB_MODULE (at start: path of a built res_talkgate_notify.so to load at boot;
# unset, the lab's Asterisk stays stock), TALKGATE_LAB_WEBRTC (yes: the agent side is the
# shipped deploy/asterisk config, WSS on BASE+7, DN 1002 registers; for the browser tests).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
ROOT=${TALKGATE_LAB_ROOT:-/var/cache/talkgate/asterisk-sid}
BASE=${TALKGATE_LAB_PORT_BASE:-25060}

log() { printf 'lab: %s\n' "$*" >&2; }
die() { printf 'lab: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "the lab needs root (debootstrap, chroot, namespaces)"

# shellcheck source=scripts/lib/apt-mirror.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt-mirror.sh"

provision() {
    mkdir -p "$(dirname "$ROOT")"
    exec 9>"$ROOT.lock"
    flock 9
    if [ -f "$ROOT/.talkgate-lab-ready" ]; then
        return 0
    fi
    if [ ! -x "$ROOT/usr/sbin/asterisk" ]; then
        command -v debootstrap >/dev/null || die "debootstrap is missing: run scripts/install-deps.sh"
        local mirror
        mirror=$(apt_mirror)
        log "provisioning Asterisk 22 from Debian sid into $ROOT (mirror from apt: $mirror)"
        rm -rf "$ROOT.tmp"
        debootstrap --variant=minbase --include=asterisk,asterisk-modules sid "$ROOT.tmp" "$mirror" \
            >"$ROOT.debootstrap.log" 2>&1 || die "debootstrap failed, see $ROOT.debootstrap.log"
        mv "$ROOT.tmp" "$ROOT"
    fi
    # Asterisk run as root drops capabilities and cannot write into the package's dirs.
    local d
    for d in /var/lib/asterisk /var/spool/asterisk /var/log/asterisk /var/run/asterisk /var/cache/asterisk; do
        [ -d "$ROOT$d" ] && chown -R root:root "$ROOT$d"
    done
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
    touch "$ROOT/.talkgate-lab-ready"
    log "Asterisk ready in $ROOT: $(chroot "$ROOT" /usr/sbin/asterisk -V)"
}

# Everything one lab owns inside the root: config, db, spool, run and log dirs.
lab_dir_in_root() { printf '/var/lib/talkgate-lab/lab-%s' "$BASE"; }

need_state() {
    [ -n "${1:-}" ] || die "missing STATE_DIR"
    mkdir -p "$1"
    STATE=$(cd "$1" && pwd)
}

load_env() {
    [ -f "$STATE/lab.env" ] || die "$STATE/lab.env is missing: the lab was never started"
    # shellcheck disable=SC1091
    . "$STATE/lab.env"
    BASE=$LAB_PORT_BASE
}

secret() { head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24; }

render() { # template -> file, replacing @NAME@ with the value of $NAME
    local in=$1 out=$2 n agent_ports=()
    for n in 1 2 3 4 5 6 7 8; do
        agent_ports+=(-e "s|@AGENT_PORT_$n@|$((LAB_AGENT_PORT_BASE + n))|g")
    done
    sed "${agent_ports[@]}" -e "s|@LAB_DIR@|$LAB_DIR|g" \
        -e "s|@SIP_PORT@|$LAB_SIP_PORT|g" -e "s|@SIP_TLS_PORT@|$LAB_SIP_TLS_PORT|g" \
        -e "s|@HTTP_PORT@|$LAB_HTTP_PORT|g" -e "s|@AMI_PORT@|$LAB_AMI_PORT|g" \
        -e "s|@HEP_PORT@|$LAB_HEP_PORT|g" -e "s|@RTP_START@|$LAB_RTP_START|g" \
        -e "s|@RTP_END@|$LAB_RTP_END|g" -e "s|@AGENT_IP@|$LAB_AGENT_IP|g" \
        -e "s|@AGENT_PORT_BASE@|$LAB_AGENT_PORT_BASE|g" -e "s|@GENESYS_IP@|$LAB_GENESYS_IP|g" \
        -e "s|@OTHER_IP@|$LAB_OTHER_IP|g" -e "s|@ARI_APP@|$LAB_ARI_APP|g" \
        -e "s|@ARI_USER@|$LAB_ARI_USER|g" -e "s|@ARI_PASSWORD@|$LAB_ARI_PASSWORD|g" \
        -e "s|@AMI_USER@|$LAB_AMI_USER|g" -e "s|@AMI_SECRET@|$LAB_AMI_SECRET|g" \
        -e "s|@AGENT_PASSWORD@|$LAB_AGENT_PASSWORD|g" -e "s|@HEP_ENABLED@|$LAB_HEP_ENABLED|g" \
        "$in" >"$out"
}

write_env() {
    umask 077
    cat >"$STATE/lab.env" <<ENV
# Written by scripts/lab.sh start; credentials are generated for this run only.
LAB_STATE_DIR=$STATE
LAB_SCRIPT=$here/lab.sh
LAB_ROOT=$ROOT
LAB_DIR=$LAB_DIR
LAB_PORT_BASE=$BASE
LAB_SIP_HOST=127.0.0.1
LAB_SIP_PORT=$LAB_SIP_PORT
LAB_SIP_TLS_PORT=$LAB_SIP_TLS_PORT
LAB_HTTP_PORT=$LAB_HTTP_PORT
LAB_ARI_URL=http://127.0.0.1:$LAB_HTTP_PORT
LAB_ARI_APP=$LAB_ARI_APP
LAB_ARI_USER=$LAB_ARI_USER
LAB_ARI_PASSWORD=$LAB_ARI_PASSWORD
LAB_AMI_HOST=127.0.0.1
LAB_AMI_PORT=$LAB_AMI_PORT
LAB_AMI_USER=$LAB_AMI_USER
LAB_AMI_SECRET=$LAB_AMI_SECRET
LAB_HEP_PORT=$LAB_HEP_PORT
LAB_HEP_ENABLED=$LAB_HEP_ENABLED
LAB_MODULE=$LAB_MODULE
LAB_GENESYS_IP=$LAB_GENESYS_IP
LAB_AGENT_IP=$LAB_AGENT_IP
LAB_OTHER_IP=$LAB_OTHER_IP
LAB_AGENT_PORT_BASE=$LAB_AGENT_PORT_BASE
LAB_AGENT_PASSWORD=$LAB_AGENT_PASSWORD
LAB_SIPP_PORT_BASE=$LAB_SIPP_PORT_BASE
LAB_LOG=$ROOT$LAB_DIR/log/messages
LAB_TLS_CERT=$ROOT$LAB_DIR/etc/keys/lab.crt
LAB_WEBRTC=$LAB_WEBRTC
LAB_WSS_URL=wss://127.0.0.1:$((BASE + 7))/ws
ENV
}

# Opt-in: this lab's Asterisk loads res_talkgate_notify.so at boot (sessions copy the
# supplement list when created). Its module dir holds links to the stock modules plus ours.
add_module() {
    local host_dir=$1 stock m
    [ -f "$LAB_MODULE" ] || die "TALKGATE_LAB_MODULE=$LAB_MODULE does not exist: build it with scripts/build-module.sh"
    stock=$(sed -n 's/^astmoddir => //p' "$host_dir/etc/asterisk.conf")
    if [ -z "$stock" ] || [ ! -d "$ROOT$stock" ]; then
        die "no astmoddir in the lab's asterisk.conf"
    fi
    mkdir -p "$host_dir/modules"
    for m in "$ROOT$stock"/*.so; do
        ln -s "$stock/$(basename "$m")" "$host_dir/modules/"
    done
    cp "$LAB_MODULE" "$host_dir/modules/res_talkgate_notify.so"
    sed -i "s|^astmoddir => .*|astmoddir => $LAB_DIR/modules|" "$host_dir/etc/asterisk.conf"
    cp "$src/deploy/asterisk/module/talkgate_notify.conf" "$host_dir/etc/"
}

# Opt-in: the agent side (pjsip.conf, http.conf, rtp.conf) is the shipped deploy/asterisk config,
# with the site example's TLS listener, TLS transport and DN 1002 on the lab's addresses, port,
# certificate and a generated password: what the browser tests register through.
use_shipped_agent_config() {
    local host_dir=$1 f
    for f in pjsip http rtp; do
        sed -e "s|@SIP_BIND@|127.0.0.1|g" -e "s|@SIP_PORT@|$LAB_SIP_PORT|g" \
            -e "s|@HTTP_BIND@|127.0.0.1|g" -e "s|@HTTP_PORT@|$LAB_HTTP_PORT|g" \
            -e "s|@RTP_START@|$LAB_RTP_START|g" -e "s|@RTP_END@|$LAB_RTP_END|g" \
            -e "s|@GENESYS_MATCH@|$LAB_GENESYS_IP|g" \
            "$src/deploy/asterisk/etc/$f.conf" >"$host_dir/etc/$f.conf"
    done
    mkdir -p "$host_dir/etc/site"
    for f in "$src"/deploy/asterisk/site.example/*.conf; do
        sed -e "s|0\.0\.0\.0:8089|127.0.0.1:$((BASE + 7))|" -e "s|0\.0\.0\.0:5061|127.0.0.1:$LAB_SIP_TLS_PORT|" \
            -e "s|/etc/asterisk/site/keys/asterisk\.|$LAB_DIR/etc/keys/lab.|g" \
            -e "s|CHANGE_ME_agent_1002_password|$LAB_AGENT_PASSWORD|" \
            "$f" >"$host_dir/etc/site/$(basename "$f")"
    done
}

close_inherited_fds() {
    local fd
    for fd in /proc/self/fd/*; do
        fd=${fd##*/}
        case $fd in 0 | 1 | 2) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
    done
}

pid_alive() { [ -f "$STATE/asterisk.pid" ] && kill -0 "$(cat "$STATE/asterisk.pid")" 2>/dev/null; }

# An Asterisk CLI command with a deadline: rx SECONDS COMMAND
rx() {
    timeout "$1" chroot "$ROOT" /usr/sbin/asterisk -C "$LAB_DIR/etc/asterisk.conf" -rx "$2"
}

start() {
    provision
    exec 9>&-
    local keep=${1:-}
    LAB_DIR=$(lab_dir_in_root)
    if [ "$keep" = keep ]; then
        load_env
        LAB_DIR=$(lab_dir_in_root)
    else
        LAB_SIP_PORT=$BASE
        LAB_SIP_TLS_PORT=$((BASE + 1))
        LAB_HTTP_PORT=$((BASE + 2))
        LAB_AMI_PORT=$((BASE + 3))
        LAB_HEP_PORT=$((BASE + 4))
        LAB_AGENT_PORT_BASE=$((BASE + 10)) # agent DN 100N listens on AGENT_PORT_BASE+N
        LAB_SIPP_PORT_BASE=$((BASE + 40))  # free for tests' sipp instances: +40 .. +99
        LAB_GENESYS_IP=127.0.0.2
        LAB_AGENT_IP=127.0.0.3
        LAB_OTHER_IP=127.0.0.4
        LAB_ARI_APP=talkgate
        LAB_ARI_USER=talkgate
        LAB_ARI_PASSWORD=$(secret)
        LAB_AMI_USER=talkgate
        LAB_AMI_SECRET=$(secret)
        LAB_AGENT_PASSWORD=$(secret)
        LAB_HEP_ENABLED=${TALKGATE_LAB_HEP:-yes}
        LAB_MODULE=${TALKGATE_LAB_MODULE:-}
        LAB_WEBRTC=${TALKGATE_LAB_WEBRTC:-no}
    fi
    LAB_WEBRTC=${LAB_WEBRTC:-no}
    LAB_MODULE=${LAB_MODULE:-}
    # TALKGATE_LAB_RTP_PORTS=START-END: a wider range for load runs (100 ports carry 25 calls).
    local rtp=${TALKGATE_LAB_RTP_PORTS:-$((BASE + 100))-$((BASE + 199))}
    [[ $rtp =~ ^[0-9]+-[0-9]+$ ]] || die "TALKGATE_LAB_RTP_PORTS must be START-END, not $rtp"
    LAB_RTP_START=${rtp%-*}
    LAB_RTP_END=${rtp#*-}
    if pid_alive; then
        log "a lab is already running for $STATE: stopping it first"
        stop_lab
    fi

    local host_dir="$ROOT$LAB_DIR"
    rm -rf "$host_dir"
    mkdir -p "$host_dir"/{etc,db,spool,run,log,keys}
    local t
    for t in "$src"/tests/lab/asterisk/*.conf; do
        render "$t" "$host_dir/etc/$(basename "$t")"
    done
    render "$src/dialplan/extensions.conf" "$host_dir/etc/extensions.conf"
    if [ -n "$LAB_MODULE" ]; then
        add_module "$host_dir"
    fi
    if [ "$LAB_WEBRTC" = yes ]; then
        use_shipped_agent_config "$host_dir"
    fi
    # Stock defaults for what the lab does not configure, so that its log stays free of
    # "missing config" noise and a real warning stands out.
    cp "$ROOT/etc/asterisk/indications.conf" "$host_dir/etc/"
    for t in res_odbc res_config_sqlite3 res_stun_monitor statsd ccss cdr cel features acl udptl geolocation \
        pjproject pjsip_wizard stir_shaken websocket_client res_http_media_cache; do
        [ -f "$host_dir/etc/$t.conf" ] || : >"$host_dir/etc/$t.conf"
    done
    # A self-signed certificate for the TLS transport (tests of SIP over TLS).
    mkdir -p "$host_dir/etc/keys"
    if command -v openssl >/dev/null; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
            -keyout "$host_dir/etc/keys/lab.key" -out "$host_dir/etc/keys/lab.crt" >/dev/null 2>&1
    fi
    # No DNS here: Asterisk resolving its own host name stalls SIP processing per call.
    printf '127.0.0.1 localhost %s\n::1 localhost ip6-localhost\n' "$(hostname)" >"$ROOT/etc/hosts"

    write_env
    : >"$STATE/asterisk.out"
    # Private mount + PID namespace: the mounts vanish with it, and killing its init kills all.
    # Asterisk must not inherit the caller's descriptors: a test that restarts the lab would
    # otherwise leave its own sockets (say, a bound HEP port) open inside Asterisk for good.
    (
        close_inherited_fds
        # shellcheck disable=SC2016 # $1 and $2 are the inner shell's
        exec setsid unshare --mount --pid --fork --kill-child --propagation private \
            /bin/sh -c 'mount -t proc proc "$1/proc" && mount --bind /dev "$1/dev" &&
                        exec chroot "$1" /usr/sbin/asterisk -f -U root -C "$2/etc/asterisk.conf"' \
            lab "$ROOT" "$LAB_DIR" >>"$STATE/asterisk.out" 2>&1 </dev/null
    ) &
    echo $! >"$STATE/asterisk.pid"

    for _ in $(seq 1 120); do
        if ! pid_alive; then
            tail -20 "$STATE/asterisk.out" >&2 || true
            die "Asterisk exited during startup (see $STATE/asterisk.out and $host_dir/log/)"
        fi
        if rx 5 'core waitfullybooted' 2>/dev/null | grep -q 'fully booted'; then
            # The boot's end in the log's own time format: a test checks the boot's lines alone,
            # whatever other tests logged on this lab before it.
            sed -i '/^LAB_BOOTED_AT=/d' "$STATE/lab.env"
            echo "LAB_BOOTED_AT=$(date '+%Y-%m-%dT%H:%M:%S.%3N')" >>"$STATE/lab.env"
            log "Asterisk lab up: SIP 127.0.0.1:$LAB_SIP_PORT ARI :$LAB_HTTP_PORT AMI :$LAB_AMI_PORT HEP to :$LAB_HEP_PORT (state $STATE)"
            return 0
        fi
        sleep 0.5
    done
    stop_lab
    die "Asterisk did not become fully booted within 60 s"
}

stop_lab() {
    local pid
    pid=$(cat "$STATE/asterisk.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        rx 5 'channel request hangup all' >/dev/null 2>&1 || true
        rx 10 'core stop now' >/dev/null 2>&1 || true
        for _ in $(seq 1 40); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.25
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "Asterisk did not stop in 10 s: killing it"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    fi
    rm -f "$STATE/asterisk.pid"
    # sipp instances the tests started for this lab (their command lines name the state dir).
    pkill -KILL -f -- "sipp .*$STATE/" 2>/dev/null || true
}

cmd=${1:-}
shift || true
case "$cmd" in
provision) provision ;;
start)
    need_state "${1:-}"
    start
    ;;
restart)
    need_state "${1:-}"
    load_env
    LAB_DIR=$(lab_dir_in_root)
    stop_lab
    start keep
    ;;
stop)
    need_state "${1:-}"
    if [ -f "$STATE/lab.env" ]; then
        load_env
    fi
    LAB_DIR=$(lab_dir_in_root)
    stop_lab
    log "lab stopped ($STATE)"
    ;;
talkgate-env)
    # talkgate's settings for this lab (append STATUS_*, BRIDGE_API_URL, ... as needed).
    need_state "${1:-}"
    load_env
    # shellcheck disable=SC2153 # LAB_* come from lab.env
    cat <<ENV
ARI_URL=$LAB_ARI_URL
ARI_USER=$LAB_ARI_USER
ARI_PASSWORD=$LAB_ARI_PASSWORD
ARI_APP=$LAB_ARI_APP
ASTERISK_HOST=$LAB_AMI_HOST
ASTERISK_AMI_PORT=$LAB_AMI_PORT
ASTERISK_AMI_USER=$LAB_AMI_USER
ASTERISK_AMI_SECRET=$LAB_AMI_SECRET
GENESYS_SIP_HOST=$LAB_GENESYS_IP
HEP_LISTEN=127.0.0.1:$LAB_HEP_PORT
ENV
    ;;
crash)
    # Asterisk dies at once (SIGKILL): no hangup events, no Shutdown; `restart` brings it back.
    need_state "${1:-}"
    load_env
    pid=$(cat "$STATE/asterisk.pid" 2>/dev/null || true)
    [ -n "$pid" ] || die "no lab running for $STATE"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.25
    done
    rm -f "$STATE/asterisk.pid"
    log "lab crashed on purpose ($STATE)"
    ;;
cli)
    need_state "${1:-}"
    shift
    load_env
    LAB_DIR=$(lab_dir_in_root)
    rx 30 "$*"
    ;;
reset)
    need_state "${1:-}"
    load_env
    LAB_DIR=$(lab_dir_in_root)
    rx 5 'channel request hangup all' >/dev/null
    for _ in $(seq 1 40); do
        rx 5 'core show channels count' | grep -q '^0 active channels' && exit 0
        sleep 0.25
    done
    die "channels still up 10 s after 'channel request hangup all'"
    ;;
*)
    sed -n '2,19p' "$0" >&2
    exit 2
    ;;
esac
