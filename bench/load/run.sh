#!/usr/bin/env bash
# Load benchmark: talkgate (release build) against the real Asterisk 22 lab, sipp as Genesys
# (INVITE, NOTIFY talk on 180, BYE after CALL_MS) and sipp as agent 1002 (answers on NOTIFY talk).
#
#   bench/load/run.sh [RATE [DURATION]]      RATE calls/s (default 100) for DURATION s (default 30)
#
# Settings (environment): BUILD_DIR (default build-load), TALKGATE_LAB_PORT_BASE (default 35060),
# CALL_MS (default 2000), SKIP_BUILD=1 (reuse the build), BRIDGE_API_URL (default empty: no
# bridge API calls), WIDE_RTP=1 (give the lab's Asterisk 900 RTP ports instead of 100). Prints the figures and leaves its files in BUILD_DIR/load-lab/run-RATE/.
# Everything it starts is stopped on exit (trap); loopback only.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rate=${1:-${RATE:-100}}
duration=${2:-${DURATION:-30}}
call_ms=${CALL_MS:-2000}
build=${BUILD_DIR:-$src/build-load}
case $build in /*) ;; *) build=$src/$build ;; esac
export TALKGATE_LAB_PORT_BASE=${TALKGATE_LAB_PORT_BASE:-35060}
state=$build/load-lab
out=$state/run-$rate; [ "${WIDE_RTP:-0}" != 1 ] || out=$out-wide
calls=$((rate * duration))
limit=$((rate * (call_ms / 1000 + 3)))  # concurrent calls: a call lives ~CALL_MS plus setup

log() { printf 'load: %s\n' "$*" >&2; }

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    # Release, no tests: only talkgate and the benchmarks are needed here.
    cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTALKGATE_BUILD_TESTS=OFF \
        -DTALKGATE_LAB_PORT_BASE="$TALKGATE_LAB_PORT_BASE" >/dev/null
    BUILD_DIR=$build CMAKE_BUILD_TYPE=Release "$src/scripts/build.sh"
fi
[ -x "$build/app/talkgate" ] || { log "no $build/app/talkgate"; exit 1; }

pids=()
lab_started=0
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    if [ "$lab_started" = 1 ]; then "$src/scripts/lab.sh" stop "$state" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$out"
rm -f "$out"/*
"$src/scripts/lab.sh" start "$state" >"$out/lab-start.log" 2>&1
lab_started=1
# shellcheck disable=SC1091
. "$state/lab.env"
rtp="$((LAB_PORT_BASE + 100))-$((LAB_PORT_BASE + 199)) (stock lab)"
if [ "${WIDE_RTP:-0}" = 1 ]; then
    # The stock lab has 100 RTP ports (50 media streams, 25 bridged calls). Every lab owns
    # BASE..BASE+999 by convention (bases are 1000 apart) and uses only BASE..BASE+199.
    rtp_conf=$LAB_ROOT$LAB_DIR/etc/rtp.conf
    sed -i "s/^rtpend = .*/rtpend = $((LAB_PORT_BASE + 999))/" "$rtp_conf"
    "$src/scripts/lab.sh" cli "$state" "module reload res_rtp_asterisk.so" >/dev/null
    rtp="$((LAB_PORT_BASE + 100))-$((LAB_PORT_BASE + 999)) (WIDE_RTP=1)"
fi
asterisk_log_lines=$(wc -l <"$LAB_LOG" 2>/dev/null || echo 0)

umask 077
token=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
status_port=$((LAB_PORT_BASE + 5))
"$src/scripts/lab.sh" talkgate-env "$state" >"$out/talkgate.env"
cat >>"$out/talkgate.env" <<ENV
STATUS_LISTEN=127.0.0.1:$status_port
STATUS_TOKEN=$token
BRIDGE_API_URL=${BRIDGE_API_URL:-}
LOG_LEVEL=${LOG_LEVEL:-info}
ENV
umask 022

"$build/app/talkgate" --config "$out/talkgate.env" >"$out/talkgate.log" 2>&1 &
tg=$!
pids+=("$tg")
metrics() { curl -sf --max-time 5 -H "Authorization: Bearer $token" "http://127.0.0.1:$status_port/metrics"; }
for _ in $(seq 1 100); do  # up to 10 s until ARI is connected and /metrics answers
    if metrics >/dev/null 2>&1 && grep -q "ARI events connected" "$out/talkgate.log"; then break; fi
    kill -0 "$tg" 2>/dev/null || { log "talkgate exited:"; tail -20 "$out/talkgate.log" >&2; exit 1; }
    sleep 0.1
done
sleep 1

agent_port=$((LAB_AGENT_PORT_BASE + 2))
sipp -sf "$src/tests/sipp/agent_answer_on_notify.xml" -i "$LAB_AGENT_IP" -p "$agent_port" \
    -bind_local -m 100000000 -nostdin -trace_stat -stf "$out/agent-stat.csv" -fd 1 \
    -trace_err -error_file "$out/agent-errors.log" >"$out/agent.out" 2>&1 &
pids+=("$!")
agent=$!
sleep 0.5

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$tg/stat"; }
hz=$(getconf CLK_TCK)
# Host-wide UDP datagrams dropped for a full receive buffer (SIP and HEP are UDP here).
udp_drops() { awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["RcvbufErrors"] }' /proc/net/snmp; }
udp0=$(udp_drops)
cpu0=$(cpu_ticks)
# This lab's Asterisk (found by its own config path), to show whether the lab is the limit.
ast=$(pgrep -f "asterisk -f -U root -C $LAB_DIR/etc/asterisk.conf" | head -1 || true)
ast_ticks() { if [ -n "$ast" ]; then awk '{ print $14 + $15 }' "/proc/$ast/stat" 2>/dev/null || echo 0; else echo 0; fi; }
ast0=$(ast_ticks)
load_at_start=$(uptime)
started=$(date +%s.%N)
genesys_rc=0
sipp "$LAB_SIP_HOST:$LAB_SIP_PORT" -sf "$src/tests/sipp/genesys_notify_talk.xml" \
    -i "$LAB_GENESYS_IP" -p "$((LAB_SIPP_PORT_BASE + 1))" -bind_local -s 1002 -set uuid LOAD-UUID \
    -d "$call_ms" -r "$rate" -l "$limit" -m "$calls" -timeout "$((duration + 60))s" \
    -timeout_error -nostdin -trace_stat -stf "$out/genesys-stat.csv" -fd 1 \
    -trace_err -error_file "$out/genesys-errors.log" >"$out/genesys.out" 2>&1 || genesys_rc=$?
ended=$(date +%s.%N)
load_at_end=$(uptime)
sleep 2  # let the last BYEs reach the agent and the metrics settle
cpu1=$(cpu_ticks)
ast1=$(ast_ticks)
udp1=$(udp_drops)
metrics >"$out/metrics.txt"
# Per-socket drops of this lab's UDP sockets (last column of /proc/net/udp), by port: who lost them.
sock_drops=$(awk -v lo="$LAB_PORT_BASE" -v hi="$((LAB_PORT_BASE + 99))" 'NR > 1 {
        split($2, a, ":"); port = 0
        for (i = 1; i <= length(a[2]); i++) port = port * 16 + index("0123456789ABCDEF", substr(a[2], i, 1)) - 1
        if (port >= lo && port <= hi && $NF > 0) printf "%s%d:%d", (n++ ? ", " : ""), port, $NF }' /proc/net/udp)
hwm=$(awk '/^VmHWM/ { print $2, $3 }' "/proc/$tg/status")
kill -USR1 "$agent" 2>/dev/null || true
sleep 1.5

# Last cumulative row of a sipp -trace_stat file: the value of column NAME.
stat() {
    local file=$1 name=$2
    [ -s "$file" ] || { echo "?"; return; }
    awk -F';' -v n="$name" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == n) c = i; next }
        { v = $c } END { print (c ? v : "?") }' "$file"
}

# count, mean (_sum/_count) and the buckets holding p50 and p99 of one histogram.
histogram() {
    awk -v h="$1" '
        $1 ~ "^" h "_bucket" { match($1, /le="[^"]*"/); le = substr($1, RSTART + 4, RLENGTH - 5)
            n++; les[n] = le; cum[n] = $2 }
        $1 ~ "^" h "_sum" { sum = $2 } $1 ~ "^" h "_count" { count = $2 }
        END {
            if (count == 0) { printf "%s: count 0\n", h; exit }
            p50 = ""; p99 = ""; prev = "0"
            for (i = 1; i <= n; i++) {
                if (p50 == "" && cum[i] >= 0.5 * count) p50 = "(" prev ", " les[i] "]"
                if (p99 == "" && cum[i] >= 0.99 * count) p99 = "(" prev ", " les[i] "]"
                prev = les[i]
            }
            printf "%s: count %d, mean %.2f ms, p50 in %s s, p99 in %s s\n", h, count,
                1000 * sum / count, p50, p99
        }' "$out/metrics.txt"
}

tail -n +"$((asterisk_log_lines + 1))" "$LAB_LOG" 2>/dev/null | grep -E "WARNING|ERROR" >"$out/asterisk-warnings.log" || true
warnings=$(wc -l <"$out/asterisk-warnings.log")
{
    echo "rate $rate calls/s for $duration s ($calls calls, -d $call_ms, -l $limit), sipp genesys exit $genesys_rc"
    printf 'wall time of the genesys run: %.1f s\n' "$(echo "$ended - $started" | bc)"
    echo "genesys (UAC): successful $(stat "$out/genesys-stat.csv" SuccessfulCall\(C\)), failed $(stat "$out/genesys-stat.csv" FailedCall\(C\))"
    echo "agent 1002 (UAS): successful $(stat "$out/agent-stat.csv" SuccessfulCall\(C\)), failed $(stat "$out/agent-stat.csv" FailedCall\(C\))"
    histogram talkgate_notify_to_answer_command_seconds
    histogram talkgate_notify_to_genesys_answered_seconds
    printf 'talkgate CPU: %.2f s (user+system) over the run, %.1f %% of one core\n' \
        "$(echo "($cpu1 - $cpu0) / $hz" | bc -l)" \
        "$(echo "100 * ($cpu1 - $cpu0) / $hz / ($ended - $started)" | bc -l)"
    echo "lab RTP ports: $rtp"
    echo "UDP receive-buffer drops on the host during the run: $((udp1 - udp0))"
    echo "UDP socket drops by lab port (SIP $LAB_SIP_PORT, HEP $LAB_HEP_PORT, agent $agent_port, genesys $((LAB_SIPP_PORT_BASE + 1))): ${sock_drops:-none}"
    grep -E '^talkgate_(calls_total|events_dropped_total|notify_unmatched_total)' "$out/metrics.txt" || true
    printf 'lab Asterisk CPU: %.2f s (user+system), %.1f %% of one core\n' \
        "$(echo "($ast1 - $ast0) / $hz" | bc -l)" \
        "$(echo "100 * ($ast1 - $ast0) / $hz / ($ended - $started)" | bc -l)"
    echo "talkgate max RSS (VmHWM): $hwm"
    echo "Asterisk log: $warnings WARNING/ERROR lines during the run (copied to $out/asterisk-warnings.log)"
    echo "load at start: $load_at_start"
    echo "load at end:   $load_at_end"
} | tee "$out/summary.txt"
