# shellcheck shell=bash
# Sourced by bench/load/run.sh and bench/soak/run.sh: build, lab, controllers, sipp peers and
# /proc readings shared by the lab benchmarks. Everything started is recorded in bench_pids
# and stopped by bench_cleanup (installed as the EXIT trap by bench_init); loopback only.
#
# Settings (environment): BUILD_DIR (default build-load), TALKGATE_LAB_PORT_BASE (default
# 35060), SKIP_BUILD=1 (reuse the build), BRIDGE_API_URL (default empty), LOG_LEVEL (info),
# WIDE_RTP=1 (900 RTP ports for the lab's Asterisk instead of 100), TALKGATE_LAB_RTP_PORTS
# (START-END: any RTP range for the lab's Asterisk, below 32768 and outside other labs' ports).

bench_src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bench_pids=()
bench_lab_started=0
bench_state=
bench_name=bench

bench_log() { printf '%s: %s\n' "$bench_name" "$*" >&2; }

# bench_init NAME: sets bench_build (the build tree) and bench_state (the lab's state dir).
bench_init() {
    bench_name=$1
    bench_build=${BUILD_DIR:-$bench_src/build-load}
    case $bench_build in /*) ;; *) bench_build=$bench_src/$bench_build ;; esac
    export TALKGATE_LAB_PORT_BASE=${TALKGATE_LAB_PORT_BASE:-35060}
    bench_state=$bench_build/$bench_name-lab
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

# Release, no tests: only talkgate is needed here (SKIP_BUILD=1 reuses the tree).
bench_build_talkgate() {
    if [ "${SKIP_BUILD:-0}" != 1 ]; then
        cmake -S "$bench_src" -B "$bench_build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
            -DTALKGATE_BUILD_TESTS=OFF -DTALKGATE_LAB_PORT_BASE="$TALKGATE_LAB_PORT_BASE" >/dev/null
        BUILD_DIR=$bench_build CMAKE_BUILD_TYPE=Release "$bench_src/scripts/build.sh"
    fi
    [ -x "$bench_build/app/talkgate" ] || { bench_log "no $bench_build/app/talkgate"; exit 1; }
}

# Stops one process we started: TERM, up to 5 s, then KILL.
bench_stop_pid() {
    local p=$1
    kill "$p" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}

bench_cleanup() {
    local p
    for p in "${bench_pids[@]}"; do bench_stop_pid "$p"; done
    for p in "$bench_state"/run-*/genesys.pid "$bench_state"/run-*/*/genesys.pid; do
        [ -f "$p" ] || continue
        kill "$(cat "$p")" 2>/dev/null || true
        rm -f "$p"
    done
    if [ "$bench_lab_started" = 1 ]; then
        "$bench_src/scripts/lab.sh" stop "$bench_state" >/dev/null 2>&1 || true
    fi
}

# bench_start_lab LOGFILE: starts the lab, sources its lab.env, sets bench_rtp (the RTP range)
# and bench_asterisk_pid, both read by the callers.
# shellcheck disable=SC2034
bench_start_lab() {
    local base=$TALKGATE_LAB_PORT_BASE
    bench_rtp="$((base + 100))-$((base + 199)) (stock lab)"
    if [ -n "${TALKGATE_LAB_RTP_PORTS:-}" ]; then
        bench_rtp="$TALKGATE_LAB_RTP_PORTS (TALKGATE_LAB_RTP_PORTS)"
    elif [ "${WIDE_RTP:-0}" = 1 ]; then
        # The stock lab has 100 RTP ports (25 bridged calls, 4 ports each). Every lab owns
        # BASE..BASE+999 by convention (bases are 1000 apart) and uses only BASE..BASE+199.
        export TALKGATE_LAB_RTP_PORTS=$((base + 100))-$((base + 999))
        bench_rtp="$TALKGATE_LAB_RTP_PORTS (WIDE_RTP=1)"
    fi
    "$bench_src/scripts/lab.sh" start "$bench_state" >"$1" 2>&1
    bench_lab_started=1
    # shellcheck disable=SC1091
    . "$bench_state/lab.env"
    # This lab's Asterisk (found by its own config path), to tell the lab's cost from ours.
    bench_asterisk_pid=$(pgrep -f "asterisk -f -U root -C $LAB_DIR/etc/asterisk.conf" | head -1 || true)
}

# Hangs up whatever the previous run left in the lab before the next one.
bench_reset_lab() { "$bench_src/scripts/lab.sh" reset "$bench_state" >/dev/null 2>&1 || true; }

# bench_controller_env FILE: the controller's settings for this lab, as talkgate reads them.
bench_controller_env() {
    umask 077
    bench_status_token=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
    bench_status_port=$((LAB_PORT_BASE + 5))
    "$bench_src/scripts/lab.sh" talkgate-env "$bench_state" >"$1"
    cat >>"$1" <<ENV
STATUS_LISTEN=127.0.0.1:$bench_status_port
STATUS_TOKEN=$bench_status_token
BRIDGE_API_URL=${BRIDGE_API_URL:-}
LOG_LEVEL=${LOG_LEVEL:-info}
ENV
    umask 022
}

bench_metrics() {
    curl -sf --max-time 5 -H "Authorization: Bearer $bench_status_token" \
        "http://127.0.0.1:$bench_status_port/metrics"
}

# bench_start_controller KIND DIR: KIND talkgate (the release build) or reference
# (bench/reference/controller.py), both on the same env file; waits until its ARI events
# WebSocket is connected. Sets bench_controller_pid.
bench_start_controller() {
    local kind=$1 dir=$2 ready
    bench_controller_env "$dir/controller.env"
    case $kind in
        talkgate)
            "$bench_build/app/talkgate" --config "$dir/controller.env" >"$dir/controller.log" 2>&1 &
            ready="ARI events connected" ;;
        reference)
            python3 "$bench_src/bench/reference/controller.py" "$dir/controller.env" \
                >"$dir/controller.log" 2>&1 &
            ready="reference: ready" ;;
        *) bench_log "unknown controller $kind"; exit 1 ;;
    esac
    bench_controller_pid=$!
    bench_pids+=("$bench_controller_pid")
    for _ in $(seq 1 100); do  # up to 10 s until ARI is connected
        if grep -q "$ready" "$dir/controller.log"; then break; fi
        kill -0 "$bench_controller_pid" 2>/dev/null || {
            bench_log "$kind exited:"; tail -20 "$dir/controller.log" >&2; exit 1; }
        sleep 0.1
    done
    grep -q "$ready" "$dir/controller.log" || { bench_log "$kind not ready after 10 s"; exit 1; }
    sleep 1
}

# bench_start_agent DIR: sipp as agent 1002 (answers only on NOTIFY talk). Sets bench_agent_pid.
bench_start_agent() {
    bench_agent_port=$((LAB_AGENT_PORT_BASE + 2))
    sipp -sf "$bench_src/tests/sipp/agent_answer_on_notify.xml" -i "$LAB_AGENT_IP" \
        -p "$bench_agent_port" -bind_local -m 100000000 -nostdin -trace_stat \
        -stf "$1/agent-stat.csv" -fd 1 -trace_err -error_file "$1/agent-errors.log" \
        >"$1/agent.out" 2>&1 &
    bench_agent_pid=$!
    bench_pids+=("$bench_agent_pid")
    sleep 0.5
}

# bench_genesys_scenario DIR: the tests' Genesys scenario with sipp's response-time timer 1
# started when the NOTIFY talk goes out and stopped on the 200 OK to the INVITE, i.e. NOTIFY ->
# answered as Genesys sees it on the wire. Prints the file's path.
bench_genesys_scenario() {
    local f=$1/genesys_notify_talk_rtd.xml
    sed -e 's|<send start_txn="notify">|<send start_txn="notify" start_rtd="1">|' \
        -e 's|<recv response="200" rrs="true" response_txn="invite" />|<recv response="200" rrs="true" response_txn="invite" rtd="1" />|' \
        "$bench_src/tests/sipp/genesys_notify_talk.xml" >"$f"
    if [ "$(grep -c ' rtd="1"' "$f")" != 1 ] || [ "$(grep -c 'start_rtd="1"' "$f")" != 1 ]; then
        bench_log "tests/sipp/genesys_notify_talk.xml changed: cannot place the NOTIFY -> 200 timer"
        exit 1
    fi
    printf '%s\n' "$f"
}

# bench_genesys DIR RATE LIMIT CALLS CALL_MS TIMEOUT_S: sipp as Genesys (127.0.0.2), in the
# foreground. Per-call NOTIFY -> 200 times go to DIR/genesys_notify_talk_rtd_PID_rtt.csv (sipp's
# rtd: its clock advances in 4 ms steps here) and every message with a microsecond timestamp
# to DIR/genesys-messages.log (-trace_msg), from which bench_notify_to_200_wire_ms reads them.
bench_genesys() {
    local dir=$1 rate=$2 limit=$3 calls=$4 call_ms=$5 timeout=$6 scenario
    scenario=$(bench_genesys_scenario "$dir") || return 1
    # sipp writes its -trace_rtt file into the working directory.
    (cd "$dir" && exec sipp "$LAB_SIP_HOST:$LAB_SIP_PORT" -sf "$scenario" -i "$LAB_GENESYS_IP" \
        -p "$((LAB_SIPP_PORT_BASE + 1))" -bind_local -s 1002 -set uuid BENCH-UUID \
        -d "$call_ms" -r "$rate" -l "$limit" -m "$calls" -timeout "${timeout}s" -timeout_error \
        -timer_resol 1 -nostdin -trace_stat -stf "$dir/genesys-stat.csv" -fd 1 -trace_rtt -rtt_freq 1 \
        -trace_msg -message_file "$dir/genesys-messages.log" \
        -trace_err -error_file "$dir/genesys-errors.log" >"$dir/genesys.out" 2>&1) &
    # The pid file lets bench_cleanup stop sipp also when this runs in a background subshell.
    echo "$!" >"$dir/genesys.pid"
    wait "$!"
}

# sipp_stat FILE COLUMN: the last cumulative row of a sipp -trace_stat file, one column.
sipp_stat() {
    local file=$1 name=$2
    [ -s "$file" ] || { echo "?"; return; }
    awk -F';' -v n="$name" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == n) c = i; next }
        { v = $c } END { print (c ? v : "?") }' "$file"
}

# The NOTIFY -> 200 OK times (ms) of every call, one a line, from sipp's -trace_rtt file.
bench_notify_to_200_ms() {
    local f
    for f in "$1"/genesys_notify_talk_rtd_*_rtt.csv; do
        [ -f "$f" ] && awk -F';' '$1 ~ /^[0-9.]+$/ && $3 ~ /^ *1 *$/ { print $2 }' "$f"
    done
    return 0
}

# Per call, ms (3 decimals) from the first NOTIFY sipp-Genesys sent to the first 200 OK to
# its INVITE it received, from sipp's -trace_msg log (each message stamped to the microsecond
# when sipp sends or reads it): the wait Genesys sees, with no packet capture.
bench_notify_to_200_wire_ms() {
    [ -f "$1/genesys-messages.log" ] || return 0
    awk '
        function flush() {
            if (dir == "s" && first ~ /^NOTIFY / && !(cid in notify)) notify[cid] = t
            if (dir == "r" && first ~ /^SIP\/2\.0 200 / && cseq == "INVITE" && (cid in notify) && !(cid in done)) {
                done[cid] = 1; d = t - notify[cid]; if (d < 0) d += 86400
                printf "%.3f\n", 1000 * d
            }
            dir = ""; first = ""; cid = ""; cseq = ""
        }
        { sub(/\r$/, "") }
        /^-----+ [0-9-]+ [0-9:.]+$/ { flush(); split($3, a, ":"); t = a[1] * 3600 + a[2] * 60 + a[3]; next }
        /^UDP message sent/ { dir = "s"; next }
        /^UDP message received/ { dir = "r"; next }
        dir != "" && first == "" && NF > 0 { first = $0; next }
        /^Call-ID:/ { cid = $2 }
        /^CSeq:/ { cseq = $3 }
        END { flush() }' "$1/genesys-messages.log"
}

# count, p50, p90, p99, max of numbers on stdin (nearest rank).
bench_percentiles() {
    sort -n | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "n 0"; exit }
        split("50 90 99", q, " ")
        printf "n %d", NR
        for (i = 1; i <= 3; i++) { r = int((q[i] * NR + 99) / 100); printf ", p%s %.2f", q[i], v[r] }
        printf ", max %.2f ms\n", v[NR] }'
}

# /proc readings of one process (all its threads).
proc_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# Context switches of the live threads (a thread's own counts vanish from /proc when it exits).
proc_ctx_switches() {
    cat "/proc/$1"/task/*/status 2>/dev/null |
        awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { s += $2 } END { print s + 0 }'
}
proc_threads() { awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
proc_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
proc_hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
proc_fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
