#!/usr/bin/env bash
# A newcomer's demo: installs what is needed, builds, starts a local Asterisk 22 lab and
# talkgate with a loopback bridge API stand-in, places one Genesys-style call (sipp as Genesys
# sending NOTIFY Event: talk, sipp as a WebRTC agent that answers only on that NOTIFY), and
# prints what happened. Everything it starts is stopped on exit.
#   scripts/demo.sh            (BUILD_DIR default ./build, TALKGATE_LAB_PORT_BASE default 27560)
#   DEMO_SKIP_SETUP=1          skip install-deps.sh and build.sh (already done)
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$src/build}
export TALKGATE_LAB_PORT_BASE=${TALKGATE_LAB_PORT_BASE:-27560}
state=$build/demo-lab
dn=${DEMO_DN:-1002}
uuid=DEMO-$(date +%s)
call_ms=${DEMO_CALL_MS:-6000}

say() { printf '\n== %s\n' "$*"; }

if [ -z "${DEMO_SKIP_SETUP:-}" ]; then
    say "installing dependencies (scripts/install-deps.sh)"
    "$src/scripts/install-deps.sh"
    say "building (scripts/build.sh into $build)"
    BUILD_DIR=$build "$src/scripts/build.sh"
fi
[ -x "$build/app/talkgate" ] || { echo "demo: $build/app/talkgate is missing" >&2; exit 1; }

work=$(mktemp -d /tmp/talkgate-demo.XXXXXX)
pids=()
lab_started=
cleanup() {
    local rc=$?
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "$lab_started" ]; then "$src/scripts/lab.sh" stop "$state" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "starting the Asterisk 22 lab (port base $TALKGATE_LAB_PORT_BASE, state in $state)"
lab_started=1
"$src/scripts/lab.sh" start "$state" >"$work/lab.log" 2>&1 || { cat "$work/lab.log"; exit 1; }
# shellcheck disable=SC1091
. "$state/lab.env"

# The bridge API stand-in: records every request as one JSON line, answers 200 {}.
cat >"$work/bridge.py" <<'PY'
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
log = open(sys.argv[1], "a", buffering=1)
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode("utf-8", "replace")
        try: body = json.loads(raw) if raw else None
        except ValueError: body = raw
        log.write(json.dumps({"method": "POST", "path": self.path, "json": body}) + "\n")
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"{}")
    def log_message(self, *a): pass
srv = HTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
PY
python3 "$work/bridge.py" "$work/bridge-requests.jsonl" >"$work/bridge.port" 2>"$work/bridge.err" &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/bridge.port" ] && break; sleep 0.1; done
bridge_port=$(cat "$work/bridge.port")
[ -n "$bridge_port" ] || { echo "demo: bridge API stand-in did not start" >&2; cat "$work/bridge.err"; exit 1; }

status_port=$((LAB_PORT_BASE + 5))
token=$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)
umask 077
"$src/scripts/lab.sh" talkgate-env "$state" >"$work/talkgate.env"
cat >>"$work/talkgate.env" <<ENV
STATUS_LISTEN=127.0.0.1:$status_port
STATUS_TOKEN=$token
BRIDGE_API_URL=http://127.0.0.1:$bridge_port
LOG_LEVEL=info
ENV
say "starting talkgate (status API on 127.0.0.1:$status_port, bridge API stand-in on :$bridge_port)"
"$build/app/talkgate" --config "$work/talkgate.env" >"$work/talkgate.log" 2>&1 &
pids+=($!)
api() { curl -sS -m 5 -H "Authorization: Bearer $token" "$@"; }
ready=
for _ in $(seq 100); do
    if [ "$(api -o /dev/null -w '%{http_code}' "http://127.0.0.1:$status_port/ready" 2>/dev/null)" = 200 ]; then
        ready=1; break
    fi
    sleep 0.2
done
[ -n "$ready" ] || { echo "demo: talkgate never became ready" >&2; cat "$work/talkgate.log"; exit 1; }
echo "ready: $(api "http://127.0.0.1:$status_port/ready")"

say "placing one call: Genesys ($LAB_GENESYS_IP) -> DN $dn, CallUUID $uuid, agent at $LAB_AGENT_IP"
sipp_common=(-t u1 -m 1 -timeout 30s -timeout_error -nostdin -bind_local)
sipp -sf "$src/tests/sipp/agent_answer_on_notify.xml" "${sipp_common[@]}" -i "$LAB_AGENT_IP" \
    -p $((LAB_AGENT_PORT_BASE + dn - 1000)) -d 1000 >"$work/agent.out" 2>&1 &
agent_pid=$!
pids+=("$agent_pid")
sleep 0.5
sipp "$LAB_SIP_HOST:$LAB_SIP_PORT" -sf "$src/tests/sipp/genesys_notify_talk.xml" "${sipp_common[@]}" \
    -i "$LAB_GENESYS_IP" -p "$LAB_SIPP_PORT_BASE" -s "$dn" -set uuid "$uuid" -d "$call_ms" \
    >"$work/genesys.out" 2>&1 &
genesys_pid=$!
pids+=("$genesys_pid")

say "the call as GET /calls shows it mid-call"
shown=
for _ in $(seq 50); do
    calls=$(api "http://127.0.0.1:$status_port/calls")
    if python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["count"] and d["calls"][0]["state"]=="connected" else 1)' <<<"$calls"; then
        shown=1; break
    fi
    sleep 0.2
done
python3 -m json.tool <<<"$calls"
[ -n "$shown" ] || echo "demo: the call never showed as connected"

rc_g=0; rc_a=0
wait "$genesys_pid" || rc_g=$?
wait "$agent_pid" || rc_a=$?
echo "sipp Genesys exit $rc_g (0: got 200 OK, hung up), sipp agent exit $rc_a (0: answered on NOTIFY talk)"

say "bridge API requests received"
python3 - "$work/bridge-requests.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(f'{r["method"]} {r["path"]}  {json.dumps(r["json"])}')
PY

say "timings from /metrics"
api "http://127.0.0.1:$status_port/metrics" | python3 -c '
import sys
v = {}
for line in sys.stdin:
    if line.startswith("#") or not line.strip(): continue
    name, _, value = line.rpartition(" ")
    v[name] = float(value)
for h, what in (("talkgate_notify_to_answer_command_seconds", "NOTIFY talk -> answer command sent"),
                ("talkgate_notify_to_genesys_answered_seconds", "NOTIFY talk -> Genesys leg answered")):
    s, c = v.get(h + "_sum", 0), v.get(h + "_count", 0)
    print(f"{what}: " + (f"{1000 * s / c:.2f} ms (mean of {int(c)})" if c else "no sample"))
for k in sorted(v):
    if k.startswith(("talkgate_notify_received_total", "talkgate_answer_actions_total")) and v[k]:
        print(f"{k} {v[k]:g}")
'

say "talkgate log lines for this call"
grep -F "CallUUID=$uuid" "$work/talkgate.log" || true
[ "$rc_g" = 0 ] && [ "$rc_a" = 0 ] && [ -n "$shown" ]
say "demo done: stopping talkgate, the bridge API stand-in and the lab"
