#!/usr/bin/env bash
# Installs every build and test dependency of talkgate from Debian 12's packages. Idempotent:
# when everything is installed already it only checks, and touches nothing.
#   install-deps.sh          what the build, the tests and the benchmarks need
#   install-deps.sh --build  only what building the talkgate binary needs (the image's build
#                            stage: a third of the size, and on Docker's vfs every build step
#                            copies the whole stage)
set -euo pipefail
build_only=no
[ "${1:-}" = --build ] && build_only=yes

build_packages=(
    build-essential cmake ninja-build pkg-config
    libcpprest-dev libwebsocketpp-dev libboost-dev libboost-system-dev libssl-dev
    nlohmann-json3-dev libspdlog-dev libfmt-dev libhiredis-dev
)
if [ $build_only = yes ]; then
    packages=("${build_packages[@]}")
else
    packages=("${build_packages[@]}" git ccache libgtest-dev libgmock-dev libbenchmark-dev
    clang libclang-rt-14-dev clang-format
    sip-tester debootstrap openssl curl python3 procps util-linux iproute2
    docker-compose
    shellcheck systemd lintian help2man)
fi
browser_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/browser"
# The browser tests' tools, only where their tests are and the tests are wanted.
[ $build_only = yes ] && browser_dir=/nonexistent
if [ -d "$browser_dir" ]; then
    packages+=(chromium nodejs)
fi
# The failover tests' real Redis (tests/ha), likewise only where the tests are.
if [ -d "$(dirname "$browser_dir")/ha" ]; then
    packages+=(redis-server)
fi

# The browser tests' node packages (tests/browser/package-lock.json: JsSIP, playwright-core,
# esbuild) go into tests/browser/node_modules, from the registry npm is configured for. The
# browser is Debian's chromium: playwright-core never downloads one.
browser_node_modules() {
    local dir=$browser_dir
    [ -d "$dir" ] || return 0
    # The lock file as of the last npm ci here: unchanged means nothing to do.
    if cmp -s "$dir/package-lock.json" "$dir/node_modules/.talkgate-installed-lock"; then
        return 0
    fi
    command -v npm >/dev/null || { echo "install-deps: npm is missing (Debian: apt-get install npm)" >&2; return 1; }
    echo "install-deps: npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$dir/package-lock.json" "$dir/node_modules/.talkgate-installed-lock"
}

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages present"
    browser_node_modules
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
# Debian's nodejs comes without npm; other builds of nodejs (NodeSource) bring their own.
command -v npm >/dev/null || apt-get install -y -qq --no-install-recommends npm >/dev/null
browser_node_modules
echo "install-deps: done"
