#!/usr/bin/env bash
# The deployment run for real (CTest label docker): a private Docker engine
# (scripts/docker-lab.sh), both images built (cached by content), deploy/docker-compose.yml
# up with a generated env file and a site directory whose agent 1002 is a plain UDP endpoint
# with a static contact (a sipp UAS), both health checks healthy, then from the host:
#   - wss listener of site.example's http_tls.conf up, ARI refused there to a non-loopback peer;
#   - after an idle gap longer than Asterisk's HTTP keep-alive (15 s), a Genesys call (sipp)
#     to the containerised Asterisk (module loaded) that the agent answers on NOTIFY talk sent
#     by talkgate in its container; the status API and /metrics;
#   - after another idle gap, a call during which the talkgate container restarts: the call
#     is adopted, and Genesys's BYE ends both legs;
#   - `down`: no container, volume, network or mount left; the engine stops.
#
#   compose_stack_test.sh STATE_DIR
#
# Ports (loopback): TALKGATE_LAB_PORT_BASE+800 .. +899. The talkgate image the stack runs is
# the prebuilt target with a plain Release build of this tree (ccache'd); the full multi-stage
# image is built too (cached by content) and checked with --version and --check-config.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[ -n "${1:-}" ] || { echo "usage: compose_stack_test.sh STATE_DIR" >&2; exit 2; }
mkdir -p "$1"
state=$(cd "$1" && pwd)
lab=$src/scripts/docker-lab.sh
data_root=${TALKGATE_DOCKER_ROOT:-/var/cache/talkgate/docker}

base=$((${TALKGATE_LAB_PORT_BASE:-25060} + 800))
sip_port=$base
http_port=$((base + 1))
ami_port=$((base + 2))
hep_port=$((base + 3))
status_port=$((base + 4))
https_port=$((base + 5))
bridge_port=$((base + 6))
genesys_port=$((base + 10))
agent_port=$((base + 20))
genesys_media=$((base + 30))
agent_media=$((base + 36))
rtp_start=$((base + 40))
rtp_end=$((base + 99))
genesys_ip=127.0.0.2
agent_ip=127.0.0.3
# A peer that is not 127.0.0.1: what the agents' listener must not serve ARI to.
other_ip=127.0.0.5
project=talkgate-test-$base

SECONDS=0
step() { printf '\n== [%4ss] %s\n' "$SECONDS" "$*"; }
fail() {
    echo "compose_stack_test: FAIL: $*" >&2
    exit 1
}
secret() { head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32; }

# wait_until SECONDS WHAT CMD...: CMD every second until it succeeds, at most SECONDS times.
wait_until() {
    local limit=$1 what=$2 i
    shift 2
    for ((i = 0; i < limit; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 1
    done
    fail "$what: not within ${limit}s"
}

pids=()
cleanup() {
    local rc=$? p
    set +e
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    if [ -S "$state/docker.sock" ]; then
        if [ "$rc" -ne 0 ]; then
            compose ps
            compose logs --no-color --tail 80
        fi
        compose down --volumes --timeout 10 >/dev/null 2>&1
        "$lab" stop "$state"
    fi
    [ "$rc" -eq 0 ] || echo "compose_stack_test: failed after ${SECONDS}s; files in $state" >&2
    exit "$rc"
}
trap cleanup EXIT

compose() {
    TALKGATE_ENV_FILE=$state/stack.env docker-compose -p "$project" \
        -f "$src/deploy/docker-compose.yml" --env-file "$state/stack.env" "$@"
}

step "private Docker engine and base image"
rm -rf "$state/site" "$state"/sipp-* "$state/bridge.log"
"$lab" start "$state"
# shellcheck disable=SC1091 # written by docker-lab.sh start
. "$state/docker.env"
export DOCKER_HOST

step "images (each built only when its inputs changed)"
# The full multi-stage build compiles without a compiler cache and starts first: its package
# installs and compiles overlap the plain build, the Asterisk image and the stack test (which
# mostly waits); it is checked at the end.
"$lab" build "$state" talkgate >"$state/full-image.out" 2>"$state/full-image.log" &
full_build_pid=$!
pids+=("$full_build_pid")
# The plain tree is the Debian package's (TALKGATE_PLAIN_BUILD_DIR, shared with
# package.deb_install): one Release build of talkgate per test run, not two.
plain=${TALKGATE_PLAIN_BUILD_DIR:-$state/plain-build}
# At lower priority: the lab tests run beside this one and their Asterisk must not starve.
BUILD_DIR=$plain nice -n 10 "$src/scripts/build-deb.sh" >"$state/plain-build.log" 2>&1 ||
    { tail -n 30 "$state/plain-build.log"; fail "the plain talkgate build failed"; }
asterisk_image=$("$lab" build "$state" asterisk)
talkgate_image=$("$lab" build "$state" talkgate-prebuilt "$plain/app/talkgate")
docker tag "$asterisk_image" talkgate-asterisk:test
docker tag "$talkgate_image" talkgate:test
echo "asterisk: $asterisk_image, talkgate: $talkgate_image"

step "generated env file and site directory"
ari_password=$(secret)
ami_secret=$(secret)
status_token=$(secret)
umask 077
sed -e '/^#/d' -e '/^$/d' "$src/deploy/.env.example" | while IFS='=' read -r key value; do
    case $key in
    ARI_PASSWORD) value=$ari_password ;;
    ASTERISK_AMI_SECRET) value=$ami_secret ;;
    STATUS_TOKEN) value=$status_token ;;
    GRAFANA_ADMIN_PASSWORD) value=$(secret) ;;
    ARI_URL) value=http://127.0.0.1:$http_port ;;
    ASTERISK_AMI_PORT) value=$ami_port ;;
    GENESYS_SIP_HOST) value=$genesys_ip ;;
    BRIDGE_API_URL) value=http://127.0.0.1:$bridge_port ;;
    BRIDGE_API_CONTACT_ALLOW) value=127.0.0.0/8 ;;
    HEP_LISTEN) value=127.0.0.1:$hep_port ;;
    STATUS_LISTEN) value=127.0.0.1:$status_port ;;
    ASTERISK_SIP_BIND) value=127.0.0.1 ;;
    ASTERISK_SIP_PORT) value=$sip_port ;;
    ASTERISK_HTTP_PORT) value=$http_port ;;
    ASTERISK_RTP_START) value=$rtp_start ;;
    ASTERISK_RTP_END) value=$rtp_end ;;
    ASTERISK_SITE_DIR) value=$state/site ;;
    esac
    case $value in CHANGE_ME*) fail "$key keeps its placeholder in the generated env file" ;; esac
    printf '%s=%s\n' "$key" "$value"
done >"$state/stack.env"
printf 'TALKGATE_IMAGE_TAG=test\n' >>"$state/stack.env"
umask 022
mkdir -p "$state/site/keys"
cat >"$state/site/pjsip_agents.conf" <<SITE
; The test's agent: a plain UDP phone (sipp) at a static contact.
[1002]
type = endpoint
context = from-agents
disallow = all
allow = ulaw,alaw
direct_media = no
rtp_symmetric = yes
moh_passthrough = yes
aors = 1002

[1002]
type = aor
contact = sip:1002@$agent_ip:$agent_port
SITE
sed "s|^tlsbindaddr = .*|tlsbindaddr = 127.0.0.1:$https_port|" \
    "$src/deploy/asterisk/site.example/http_tls.conf" >"$state/site/http_tls.conf"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -keyout "$state/site/keys/asterisk.key" -out "$state/site/keys/asterisk.crt" 2>/dev/null
# Generated for this run only; the container's asterisk user must read it.
chmod 644 "$state/site/keys/asterisk.key"

step "fake agent desktop bridge on 127.0.0.1:$bridge_port"
: >"$state/bridge.log"
python3 "$src/tests/docker/fake_bridge.py" "$bridge_port" "$state/bridge.log" &
pids+=($!)

step "stack up"
compose config -q
compose up -d --no-build
health() { [ "$(docker inspect -f '{{.State.Health.Status}}' "$(compose ps -q "$1")")" = healthy ]; }
wait_until 180 "asterisk healthy" health asterisk
wait_until 120 "talkgate healthy" health talkgate
compose ps

status() { curl -fsS --max-time 5 -H "Authorization: Bearer $status_token" "http://127.0.0.1:$status_port$1"; }
status /ready >/dev/null || fail "talkgate is not ready"
status /health >/dev/null

step "wss for agents on the TLS listener; ARI not served there to a non-loopback peer"
ws_headers=$(curl -sk --max-time 3 --interface "$other_ip" -o /dev/null -D - \
    -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Protocol: sip' \
    "https://127.0.0.1:$https_port/ws" || true)
grep -q '^HTTP/1.1 101' <<<"$ws_headers" || fail "no WebSocket upgrade on wss://127.0.0.1:$https_port/ws: $ws_headers"
ari_code() {
    curl -sk --max-time 5 -o /dev/null -w '%{http_code}' -u "talkgate:$ari_password" "$@" || true
}
code=$(ari_code --interface "$other_ip" "https://127.0.0.1:$https_port/ari/asterisk/info")
[ "$code" != 200 ] || fail "ARI answered $other_ip on the agents' TLS listener"
echo "ARI from $other_ip on the TLS listener: HTTP $code"
code=$(ari_code "http://127.0.0.1:$http_port/ari/asterisk/info")
[ "$code" = 200 ] || fail "ARI on 127.0.0.1:$http_port answered $code"

# sipp as the agent (UAS) and as Genesys (UAC); their pids are waited for with a bound.
agent_sipp() {
    sipp -sf "$src/tests/sipp/$1" -i "$agent_ip" -p "$agent_port" -mp "$agent_media" -t u1 -m 1 \
        -timeout 90s -timeout_error -nostdin -trace_err -error_file "$state/sipp-agent-$2-errors.log" \
        -bind_local >"$state/sipp-agent-$2.out" 2>&1 &
    agent_pid=$!
    pids+=("$agent_pid")
}
genesys_sipp() {
    sipp "127.0.0.1:$sip_port" -sf "$src/tests/sipp/$1" -i "$genesys_ip" -p "$genesys_port" \
        -mp "$genesys_media" -t u1 -m 1 -timeout 90s -timeout_error -nostdin -trace_err \
        -error_file "$state/sipp-genesys-$2-errors.log" -bind_local -s 1002 -set uuid "$3" \
        -d "$4" >"$state/sipp-genesys-$2.out" 2>&1 &
    genesys_pid=$!
    pids+=("$genesys_pid")
}
# sipp_ok PID WHAT: sipp exited 0 within 120 s.
sipp_ok() {
    local i
    for ((i = 0; i < 120; i++)); do
        kill -0 "$1" 2>/dev/null || break
        sleep 1
    done
    kill -0 "$1" 2>/dev/null && fail "$2 still runs after 120s"
    wait "$1" || { cat "$state"/sipp-*"$3"*.log 2>/dev/null; fail "$2 failed"; }
}
call_state_is() { status /calls/1002 | python3 -c 'import json, sys; c = json.load(sys.stdin)["calls"]; sys.exit(0 if len(c) == 1 and c[0]["state"] == sys.argv[1] else 1)' "$1"; }
no_calls() { status /calls | python3 -c 'import json, sys; sys.exit(0 if json.load(sys.stdin)["calls"] == [] else 1)'; }
no_channels() { compose exec -T asterisk asterisk -rx 'core show channels count' | grep -q '^0 active channels'; }

# Asterisk closes an HTTP keep-alive connection idle for 15 s (http.conf session_keep_alive).
idle_gap_s=20

step "idle ${idle_gap_s}s, then a Genesys call answered on NOTIFY talk"
sleep "$idle_gap_s"
agent_sipp agent_answer_on_notify.xml first
genesys_sipp genesys_notify_talk.xml first "UUID-DOCKER-FIRST-$base" 2000
sipp_ok "$genesys_pid" "the first call's Genesys" first
sipp_ok "$agent_pid" "the first call's agent" first
grep -q '^POST ' "$state/bridge.log" || fail "talkgate never called the desktop bridge"
wait_until 10 "the first call leaves /calls" no_calls
wait_until 10 "the first call's channels are gone" no_channels

step "status API and /metrics from the host"
metrics=$(status /metrics)
grep -E '^talkgate_connection_up\{peer="ari"\} 1$' <<<"$metrics" || fail "ARI is not up in /metrics"
grep -E '^talkgate_calls_total\{outcome="genesys_hangup"\} [1-9]' <<<"$metrics" ||
    fail "no call ended by Genesys in /metrics: $(grep '^talkgate_calls_total' <<<"$metrics")"
unauthorized=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$status_port/calls")
[ "$unauthorized" = 401 ] || fail "/calls without the token answered $unauthorized"

step "idle ${idle_gap_s}s, then a call during which the talkgate container restarts"
sleep "$idle_gap_s"
agent_sipp agent_answer_on_notify.xml restart
genesys_sipp genesys_notify_talk.xml restart "UUID-DOCKER-RESTART-$base" 30000
wait_until 20 "the second call connected" call_state_is connected
compose restart --timeout 10 talkgate
wait_until 60 "talkgate healthy after its restart" health talkgate
wait_until 20 "the call adopted after the restart" call_state_is connected
sipp_ok "$genesys_pid" "the restarted call's Genesys (BYE after 30 s)" restart
sipp_ok "$agent_pid" "the restarted call's agent (expects the BYE)" restart
wait_until 10 "the restarted call leaves /calls" no_calls
wait_until 10 "the restarted call's channels are gone" no_channels

step "the full multi-stage talkgate image (built only when its inputs changed) runs"
for ((i = 0; i < 3000; i++)); do
    kill -0 "$full_build_pid" 2>/dev/null || break
    sleep 1
done
kill -0 "$full_build_pid" 2>/dev/null && fail "the full talkgate image was not built within 3000s"
wait "$full_build_pid" || { cat "$state/full-image.log"; fail "the full talkgate image did not build"; }
full_image=$(cat "$state/full-image.out")
docker run --rm --network host --env-file "$state/stack.env" "$full_image" --version
docker run --rm --network host --env-file "$state/stack.env" "$full_image" --check-config >/dev/null

step "down: nothing left"
compose down --volumes --timeout 10
of_stack=(--filter "label=com.docker.compose.project=$project")
[ -z "$(docker ps -aq "${of_stack[@]}")" ] || fail "containers left: $(docker ps -a)"
[ -z "$(docker volume ls -q "${of_stack[@]}")" ] || fail "volumes left: $(docker volume ls)"
[ -z "$(docker network ls -q --filter "name=$project")" ] || fail "networks left: $(docker network ls)"
engine_pid=$(cat "$state/dockerd.pid")
mounts=$(nsenter -t "$engine_pid" -m cat /proc/self/mountinfo | grep -c -e "$data_root/" || true)
echo "mounts left in the engine's namespace: $mounts"
[ "$mounts" = 0 ] || fail "mounts left under the engine's data root"
"$lab" stop "$state"
[ ! -S "$state/docker.sock" ] || fail "the engine's socket outlived it"
kill -0 "$engine_pid" 2>/dev/null && fail "dockerd outlived stop"
grep -q "$data_root/" /proc/self/mountinfo && fail "a mount of the engine is visible on the host"
step "passed"
