#!/usr/bin/env bash
# Load benchmark: controllers against the real Asterisk 22 lab, sipp as Genesys (INVITE, NOTIFY
# talk on 180, BYE after CALL_MS) and sipp as agent 1002 (answers on NOTIFY talk). By default
# talkgate (release build) and then the reference controller (bench/reference/controller.py)
# run one after the other on the same lab, so their ratio comes from one run.
#
#   bench/load/run.sh [RATE [DURATION]]      RATE calls/s (default 100) for DURATION s (default 30)
#
# Settings (environment): CONTROLLERS (default "talkgate reference"), CALL_MS (default 2000),
# CONCURRENT=N (sipp -l N: at most N calls at once; default RATE*(CALL_MS/1000+3), i.e. the rate
# rules), and those of bench/lib/lab-run.sh (BUILD_DIR, TALKGATE_LAB_PORT_BASE, SKIP_BUILD=1,
# BRIDGE_API_URL, WIDE_RTP=1). Prints the figures and leaves its files in
# BUILD_DIR/load-lab/run-RATE[-wide][-cN]/CONTROLLER/. Everything it starts is stopped on exit.
set -euo pipefail
# shellcheck source=bench/lib/lab-run.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab-run.sh"
rate=${1:-${RATE:-100}}
duration=${2:-${DURATION:-30}}
call_ms=${CALL_MS:-2000}
controllers=${CONTROLLERS:-talkgate reference}
bench_init load
run=$bench_state/run-$rate
[ "${WIDE_RTP:-0}" != 1 ] || run=$run-wide
calls=$((rate * duration))
limit=$((rate * (call_ms / 1000 + 3)))  # concurrent calls: a call lives ~CALL_MS plus setup
if [ -n "${CONCURRENT:-}" ]; then limit=$CONCURRENT; run=$run-c$CONCURRENT; fi

case " $controllers " in *" talkgate "*) bench_build_talkgate ;; esac
mkdir -p "$run"
rm -rf "${run:?}"/*
bench_start_lab "$run/lab-start.log"
hz=$(getconf CLK_TCK)
# Host-wide UDP datagrams dropped for a full receive buffer (SIP and HEP are UDP here).
udp_drops() { awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["RcvbufErrors"] }' /proc/net/snmp; }
# Per-socket drops of this lab's UDP sockets (last column of /proc/net/udp), by port: who lost them.
sock_drops() {
    awk -v lo="$LAB_PORT_BASE" -v hi="$((LAB_PORT_BASE + 99))" 'NR > 1 {
        split($2, a, ":"); port = 0
        for (i = 1; i <= length(a[2]); i++) port = port * 16 + index("0123456789ABCDEF", substr(a[2], i, 1)) - 1
        if (port >= lo && port <= hi && $NF > 0) printf "%s%d:%d", (n++ ? ", " : ""), port, $NF }' /proc/net/udp
}

# count, mean (_sum/_count) and the buckets holding p50 and p99 of one talkgate histogram.
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
        }' "$2"
}

# One controller's run on the lab: sets the row_* figures and writes DIR/summary.txt.
run_one() {
    local kind=$1 out=$run/$1 pid ast asterisk_log_lines
    mkdir -p "$out"
    bench_reset_lab
    asterisk_log_lines=$(wc -l <"$LAB_LOG" 2>/dev/null || echo 0)
    bench_start_controller "$kind" "$out"
    pid=$bench_controller_pid
    bench_start_agent "$out"
    ast=${bench_asterisk_pid:-0}

    local udp0 cpu0 ctx0 thr0 ast0 load_at_start started ended genesys_rc=0
    udp0=$(udp_drops); cpu0=$(proc_cpu_ticks "$pid"); ctx0=$(proc_ctx_switches "$pid")
    thr0=$(proc_threads "$pid"); ast0=$(proc_cpu_ticks "$ast")
    load_at_start=$(uptime)
    started=$(date +%s.%N)
    bench_genesys "$out" "$rate" "$limit" "$calls" "$call_ms" "$((duration + 60))" || genesys_rc=$?
    ended=$(date +%s.%N)
    local load_at_end; load_at_end=$(uptime)
    sleep 2  # let the last BYEs reach the agent and the controller finish them
    local udp1 cpu1 ctx1 thr1 ast1 drops hwm
    cpu1=$(proc_cpu_ticks "$pid"); ctx1=$(proc_ctx_switches "$pid"); thr1=$(proc_threads "$pid")
    ast1=$(proc_cpu_ticks "$ast"); udp1=$(udp_drops); drops=$(sock_drops); hwm=$(proc_hwm_kb "$pid")
    [ "$kind" != talkgate ] || bench_metrics >"$out/metrics.txt" || true
    kill -USR1 "$bench_agent_pid" 2>/dev/null || true
    sleep 1.5
    bench_stop_pid "$bench_agent_pid"
    bench_stop_pid "$pid"

    tail -n +"$((asterisk_log_lines + 1))" "$LAB_LOG" 2>/dev/null | grep -E "WARNING|ERROR" >"$out/asterisk-warnings.log" || true
    local ok fail n wall rtd
    ok=$(sipp_stat "$out/genesys-stat.csv" "SuccessfulCall(C)")
    fail=$(sipp_stat "$out/genesys-stat.csv" "FailedCall(C)")
    n=$(( ${ok/\?/0} + ${fail/\?/0} ))
    [ "$n" -gt 0 ] || n=1
    wall=$(echo "$ended - $started + 2" | bc)
    row_ok[$kind]=$ok row_fail[$kind]=$fail
    row_rtt[$kind]=$(bench_notify_to_200_wire_ms "$out" | bench_percentiles)
    rtd=$(bench_notify_to_200_ms "$out" | bench_percentiles)
    row_cpu[$kind]=$(echo "1000 * ($cpu1 - $cpu0) / $hz / $n" | bc -l)
    row_ctx[$kind]=$(echo "($ctx1 - $ctx0) / $n" | bc -l)
    row_thr[$kind]="$thr0 -> $thr1"
    row_core[$kind]=$(echo "100 * ($cpu1 - $cpu0) / $hz / $wall" | bc -l)
    row_ast[$kind]=$(echo "100 * ($ast1 - $ast0) / $hz / $wall" | bc -l)
    row_hwm[$kind]=$hwm
    {
        echo "== $kind: rate $rate calls/s for $duration s ($calls calls, -d $call_ms, -l $limit), sipp genesys exit $genesys_rc"
        printf 'wall time of the genesys run: %.1f s\n' "$(echo "$ended - $started" | bc)"
        echo "genesys (UAC): successful $ok, failed $fail"
        echo "agent 1002 (UAS): successful $(sipp_stat "$out/agent-stat.csv" "SuccessfulCall(C)"), failed $(sipp_stat "$out/agent-stat.csv" "FailedCall(C)")"
        echo "NOTIFY talk sent -> 200 OK to the INVITE received, at Genesys (sipp -trace_msg, µs): ${row_rtt[$kind]}"
        echo "the same by sipp's rtd timer (4 ms steps): $rtd"
        if [ -s "$out/metrics.txt" ]; then
            histogram talkgate_notify_to_answer_command_seconds "$out/metrics.txt"
            histogram talkgate_notify_to_genesys_answered_seconds "$out/metrics.txt"
            grep -E '^talkgate_(calls_total|events_dropped_total|notify_unmatched_total)' "$out/metrics.txt" || true
        fi
        printf '%s CPU: %.2f s (user+system), %.2f ms per call (%d calls), %.1f %% of one core\n' "$kind" \
            "$(echo "($cpu1 - $cpu0) / $hz" | bc -l)" "${row_cpu[$kind]}" "$n" "${row_core[$kind]}"
        printf '%s context switches (voluntary+nonvoluntary, all threads): %d, %.1f per call\n' "$kind" \
            "$((ctx1 - ctx0))" "${row_ctx[$kind]}"
        echo "$kind threads: ${row_thr[$kind]}; max RSS (VmHWM): $hwm kB"
        echo "lab RTP ports: $bench_rtp"
        echo "UDP receive-buffer drops on the host during the run: $((udp1 - udp0))"
        echo "UDP socket drops by lab port (SIP $LAB_SIP_PORT, HEP $LAB_HEP_PORT, agent $bench_agent_port, genesys $((LAB_SIPP_PORT_BASE + 1))): ${drops:-none}"
        printf 'lab Asterisk CPU: %.2f s, %.1f %% of one core\n' \
            "$(echo "($ast1 - $ast0) / $hz" | bc -l)" "${row_ast[$kind]}"
        echo "Asterisk log: $(wc -l <"$out/asterisk-warnings.log") WARNING/ERROR lines during the run ($out/asterisk-warnings.log)"
        echo "load at start: $load_at_start"
        echo "load at end:   $load_at_end"
    } | tee "$out/summary.txt"
}

declare -A row_ok row_fail row_rtt row_cpu row_ctx row_thr row_core row_ast row_hwm
for kind in $controllers; do run_one "$kind"; done
{
    echo "== rate $rate/s, $duration s, -l $limit, lab RTP $bench_rtp"
    printf '%-10s %-11s %-62s %9s %9s %-9s %7s %7s %9s\n' controller ok/failed \
        "NOTIFY -> 200 OK at Genesys (wire)" "CPU ms/c" "ctxsw/c" threads "core %" "ast %" "HWM kB"
    for kind in $controllers; do
        printf '%-10s %-11s %-62s %9.2f %9.1f %-9s %7.1f %7.1f %9s\n' "$kind" \
            "${row_ok[$kind]}/${row_fail[$kind]}" "${row_rtt[$kind]}" "${row_cpu[$kind]}" \
            "${row_ctx[$kind]}" "${row_thr[$kind]}" "${row_core[$kind]}" "${row_ast[$kind]}" "${row_hwm[$kind]}"
    done
    if [ -n "${row_cpu[talkgate]:-}" ] && [ -n "${row_cpu[reference]:-}" ]; then
        printf 'talkgate / reference: CPU per call %.2f, context switches per call %.1f\n' \
            "$(echo "${row_cpu[talkgate]} / ${row_cpu[reference]}" | bc -l)" \
            "$(echo "${row_ctx[talkgate]} / ${row_ctx[reference]}" | bc -l)"
    fi
} | tee "$run/summary.txt"
