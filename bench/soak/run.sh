#!/usr/bin/env bash
# Soak: a steady call rate against the real Asterisk 22 lab with the release talkgate, for
# minutes, printing per minute the calls answered and failed (sipp as Genesys) and talkgate's
# RSS, open fds and threads (/proc/PID). Not a test: it measures whether they stay flat.
#
#   bench/soak/run.sh [RATE [MINUTES]]      RATE calls/s (default 10) for MINUTES (default 10)
#
# Settings (environment): CALL_MS (default 2000) and those of bench/lib/lab-run.sh (BUILD_DIR,
# TALKGATE_LAB_PORT_BASE, SKIP_BUILD=1, WIDE_RTP: default 1 here, since 10 calls/s of 2 s calls
# need more than the stock lab's 25 bridged calls). Files: BUILD_DIR/soak-lab/run-RATE/.
set -euo pipefail
# shellcheck source=bench/lib/lab-run.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab-run.sh"
rate=${1:-${RATE:-10}}
minutes=${2:-${MINUTES:-10}}
call_ms=${CALL_MS:-2000}
export WIDE_RTP=${WIDE_RTP:-1}
bench_init soak
out=$bench_state/run-$rate
calls=$((rate * minutes * 60))
limit=$((rate * (call_ms / 1000 + 3)))  # concurrent calls: a call lives ~CALL_MS plus setup

bench_build_talkgate
mkdir -p "$out"
rm -f "$out"/*
bench_start_lab "$out/lab-start.log"
bench_start_controller talkgate "$out"
tg=$bench_controller_pid
bench_start_agent "$out"

# sipp as Genesys in the background; its -trace_stat file is read once a minute.
bench_genesys "$out" "$rate" "$limit" "$calls" "$call_ms" "$((minutes * 60 + 120))" &
genesys=$!
bench_pids+=("$genesys")
stat_file=$out/genesys-stat.csv
hz=$(getconf CLK_TCK)
started=$(date +%s)

row() {  # minute, answered and failed in that minute and in all, talkgate's /proc figures
    local m=$1 ok fail ticks now
    ok=$(sipp_stat "$stat_file" "SuccessfulCall(C)"); [ "$ok" != "?" ] || ok=0
    fail=$(sipp_stat "$stat_file" "FailedCall(C)"); [ "$fail" != "?" ] || fail=0
    ticks=$(proc_cpu_ticks "$tg") now=$(date +%s)
    printf '%6s %6d %8d %6d %8d %7d %9d %5d %7d %6.1f %9d\n' "$m" "$((now - started))" \
        "$((ok - prev_ok))" "$((fail - prev_fail))" "$ok" "$fail" "$(proc_rss_kb "$tg")" \
        "$(proc_fds "$tg")" "$(proc_threads "$tg")" \
        "$(echo "100 * ($ticks - $prev_ticks) / $hz / ($now - $prev_t + 0.001)" | bc -l)" \
        "$(proc_rss_kb "${bench_asterisk_pid:-0}")"
    prev_ok=$ok prev_fail=$fail prev_ticks=$ticks prev_t=$now
}

prev_ok=0 prev_fail=0 prev_ticks=$(proc_cpu_ticks "$tg") prev_t=$started
{
    echo "soak: $rate calls/s for $minutes min ($calls calls of $call_ms ms, -l $limit), lab RTP $bench_rtp"
    echo "load at start: $(uptime)"
    echo "minute    t_s answered failed all_ok all_fail  rss_kB   fds threads  cpu_% ast_rss_kB"
    # "answered" = sipp Genesys calls that completed (200 OK to the INVITE, ACK, BYE answered).
    printf '%6s %6d %8s %6s %8s %7s %9d %5d %7d %6s %9d\n' 0 0 - - - - \
        "$(proc_rss_kb "$tg")" "$(proc_fds "$tg")" "$(proc_threads "$tg")" - \
        "$(proc_rss_kb "${bench_asterisk_pid:-0}")"
} | tee "$out/summary.txt"
for m in $(seq 1 "$minutes"); do
    # Sleep to the minute mark (bounded: at most 60 s per minute).
    wait_s=$((started + 60 * m - $(date +%s)))
    [ "$wait_s" -le 0 ] || sleep "$wait_s"
    kill -0 "$tg" 2>/dev/null || { bench_log "talkgate exited"; tail -20 "$out/controller.log" >&2; exit 1; }
    row "$m" >>"$out/summary.txt"  # not in a pipe: row keeps the previous minute's figures
    tail -n 1 "$out/summary.txt"
done
# The last calls end within CALL_MS plus setup; sipp exits on its own (its -timeout bounds it).
genesys_rc=0
wait "$genesys" || genesys_rc=$?
sleep 2
row end >>"$out/summary.txt"
tail -n 1 "$out/summary.txt"
{
    echo "sipp genesys exit $genesys_rc; agent 1002: successful $(sipp_stat "$out/agent-stat.csv" "SuccessfulCall(C)"), failed $(sipp_stat "$out/agent-stat.csv" "FailedCall(C)")"
    echo "NOTIFY -> 200 OK at Genesys (sipp -trace_msg): $(bench_notify_to_200_wire_ms "$out" | bench_percentiles)"
    echo "the same by sipp's rtd timer (4 ms steps): $(bench_notify_to_200_ms "$out" | bench_percentiles)"
    echo "talkgate VmHWM $(proc_hwm_kb "$tg") kB"
    bench_metrics | grep -E '^talkgate_(calls_total|events_dropped_total|notify_unmatched_total)' || true
    echo "load at end: $(uptime)"
} | tee -a "$out/summary.txt"
