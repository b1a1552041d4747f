#!/usr/bin/env bash
# Runs talkgate against a local Asterisk 22 lab: installs what is needed, builds, starts the
# lab (scripts/lab.sh, ports from TALKGATE_LAB_PORT_BASE, default 26060) and runs talkgate in
# the foreground with settings generated for that lab. Ctrl-C stops both.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$src/build}
export TALKGATE_LAB_PORT_BASE=${TALKGATE_LAB_PORT_BASE:-26060}
state=$build/local-lab

"$src/scripts/install-deps.sh"
BUILD_DIR=$build "$src/scripts/build.sh"
"$src/scripts/lab.sh" start "$state"
trap '"$src/scripts/lab.sh" stop "$state"' EXIT
# shellcheck disable=SC1091
. "$state/lab.env"

umask 077
token=$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)
"$src/scripts/lab.sh" talkgate-env "$state" >"$state/talkgate.env"
cat >>"$state/talkgate.env" <<ENV
STATUS_LISTEN=127.0.0.1:$((LAB_PORT_BASE + 5))
STATUS_TOKEN=$token
LOG_LEVEL=${LOG_LEVEL:-info}
ENV
echo "run-local: talkgate settings in $state/talkgate.env (status API on 127.0.0.1:$((LAB_PORT_BASE + 5)))"
"$build/app/talkgate" --config "$state/talkgate.env"
