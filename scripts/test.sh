#!/usr/bin/env bash
# The one test command: installs what is needed, then builds and runs the tests twice:
#   asan-ubsan: every test (unit, fake-peer, fuzz, the real Asterisk lab with sipp) built with
#               AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer included);
#   tsan:       the threaded parts (ARI client, AMI client, status server, controller; their unit,
#               fake-peer and lab tests) built with ThreadSanitizer, in a tree of their own.
# Both trees live under BUILD_DIR (default ./build). Arguments go to both ctest runs. Exits
# non-zero when any test fails or any sanitizer reports, after printing each run's summary.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$src/build}
base=${TALKGATE_LAB_PORT_BASE:-25060}
# Each lab takes base .. base+399 (module lab at +200): the TSan tree's labs take the next 400.
tsan_base=${TALKGATE_TSAN_LAB_PORT_BASE:-$((base + 400))}
# Built and run under TSan: the threaded components' test binaries (test name prefixes).
tsan_targets=(ari_unit_test ari_lab_test ami_unit_test ami_fake_test ami_lab_test status_test
    talkgate_lab_test controller_unit_test controller_lab_test controller_module_lab_test
    restart_lab_test restart_module_lab_test ha_test failover_lab_test)
supp=$src/tests/sanitizers

# The labs' fixed ports must lie outside the kernel's ephemeral range: a port the kernel hands to
# some test's outgoing connection or port-0 listener would otherwise be taken when a lab binds it.
read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range
for range in "$base $((base + 899))" "$tsan_base $((tsan_base + 399))"; do
    read -r lo hi <<<"$range"
    if [ "$hi" -ge "$eph_lo" ] && [ "$lo" -le "$eph_hi" ]; then
        echo "test.sh: lab ports $lo-$hi overlap the ephemeral range $eph_lo-$eph_hi" \
            "(net.ipv4.ip_local_port_range): choose another TALKGATE_LAB_PORT_BASE" >&2
        exit 2
    fi
done

"$src/scripts/install-deps.sh"

# Every sanitized process (tests, the talkgate child of the lab tests, build-time test discovery)
# writes its reports to files here as well as failing: a report from a child process or from a
# process a test SIGKILLs still fails the run.
reports=$build/sanitizer-reports
rm -rf "$reports"
mkdir -p "$reports"
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:strict_init_order=1:detect_stack_use_after_return=0:log_path=$reports/asan"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"
# A TSan report does not fail its process (exitcode=0): tsan_triage.py below fails the run for
# every report with talkgate's code in a racing access, and lists third-party-only ones.
export TSAN_OPTIONS="halt_on_error=0:exitcode=0:second_deadlock_stack=1:suppressions=$supp/tsan.supp:log_path=$reports/tsan"

failed=()
summaries=()
# run_ctest NAME DIR [ctest args]: runs ctest in DIR, keeps its summary for the end.
run_ctest() {
    local name=$1 dir=$2
    shift 2
    local log=$build/ctest-$name.log
    if ! (cd "$dir" && ctest --output-on-failure --timeout 600 -j "$(nproc)" "$@") 2>&1 | tee "$log"; then
        failed+=("$name")
    fi
    summaries+=("== $name: $(sed -n '/tests passed, /,$p' "$log")")
    # A skipped test hides a missing tool or lab feature on this machine: that fails the run.
    if grep -q '\*\*\*Skipped' "$log"; then
        echo "test.sh: skipped in $name: $(sed -nE 's/.*Test +#[0-9]+: ([^ ]+) .*\*\*\*Skipped.*/\1/p' "$log" | tr '\n' ' ')" >&2
        failed+=("$name-skipped")
    fi
}
# build_tree NAME [build.sh targets]: builds one tree, counts its compiler warnings.
build_tree() {
    local name=$1
    shift
    local log=$build/build-$name.log
    if ! BUILD_DIR=$build/$name "$src/scripts/build.sh" "$@" 2>&1 | tee "$log"; then
        echo "test.sh: the $name build failed" >&2
        exit 1
    fi
    echo "test.sh: $name build: $(grep -c 'warning:' "$log" || true) compiler warnings"
}

TALKGATE_SANITIZE=address,undefined TALKGATE_LAB_PORT_BASE=$base build_tree asan-ubsan
# A fuzz target whose compiler went missing must not vanish silently: one test per source.
fuzz_sources=$(find "$src/tests" -path '*/fuzz/*' -name 'fuzz_*.cpp' | wc -l)
fuzz_tests=$(cd "$build/asan-ubsan" && ctest -N -L fuzz | sed -n 's/^Total Tests: //p')
if [ "$fuzz_tests" -lt "$fuzz_sources" ]; then
    echo "test.sh: $fuzz_sources fuzz targets in tests/ but only $fuzz_tests fuzz tests configured" >&2
    failed+=(fuzz-targets)
fi
# The TSan tree builds beside the ASan+UBSan tests, at lower priority: those tests mostly wait on
# the lab and the Docker engine, so on CI's two cores the build costs little wall time of its
# own (a cold run: see README, Timings). Its output is printed once the tests are done.
(
    renice -n 10 -p "$BASHPID" >/dev/null
    TALKGATE_SANITIZE=thread TALKGATE_FUZZ=OFF TALKGATE_LAB_PORT_BASE=$tsan_base \
        build_tree tsan "${tsan_targets[@]}"
) >"$build/build-tsan.out" 2>&1 &
tsan_build=$!
run_ctest asan-ubsan "$build/asan-ubsan" "$@"
if ! wait "$tsan_build"; then
    tail -n 60 "$build/build-tsan.out" >&2
    echo "test.sh: the tsan build failed (whole output: $build/build-tsan.out)" >&2
    exit 1
fi
tail -n 1 "$build/build-tsan.out"
tsan_regex="^($(
    IFS='|'
    echo "${tsan_targets[*]}"
))\\."
run_ctest tsan "$build/tsan" -R "$tsan_regex" "$@"

tsan_files=$(find "$reports" -type f -name 'tsan.*' | sort)
if [ -n "$tsan_files" ]; then
    # shellcheck disable=SC2086 # one argument per file
    python3 "$supp/tsan_triage.py" $tsan_files || failed+=(tsan-reports)
fi
report_files=$(find "$reports" -type f ! -name 'tsan.*' | sort)
if [ -n "$report_files" ]; then
    echo "test.sh: sanitizer reports:" >&2
    for f in $report_files; do
        echo "--- $f" >&2
        cat "$f" >&2
    done
    failed+=(sanitizer-reports)
fi
for s in "${summaries[@]}"; do
    echo
    echo "$s"
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "test.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "test.sh: all runs passed"
