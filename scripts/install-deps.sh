#!/usr/bin/env bash
# Installs every build and test dependency of talkgate from Debian 12's packages. Idempotent:
# when everything is installed already it only checks, and touches nothing.
set -euo pipefail

packages=(
    build-essential cmake ninja-build pkg-config git ccache
    libcpprest-dev libwebsocketpp-dev libboost-dev libboost-system-dev libssl-dev
    nlohmann-json3-dev libspdlog-dev libfmt-dev
    libgtest-dev libgmock-dev libbenchmark-dev
    clang libclang-rt-14-dev clang-format
    sip-tester debootstrap openssl curl python3 procps util-linux iproute2
    docker-compose
    shellcheck systemd lintian help2man
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages present"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing ${missing[*]}; run as root to install them" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
