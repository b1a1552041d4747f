#!/usr/bin/env bash
# A private Docker engine for the deploy test (tests/docker): Debian's docker.io, no registry.
#
#   docker-lab.sh start STATE_DIR              start the engine (one at a time on a machine,
#                                              waits for the one running), import the base
#                                              image, write STATE_DIR/docker.env (DOCKER_HOST)
#   docker-lab.sh build STATE_DIR IMAGE [BIN]  build an image unless one with the same inputs
#                                              exists; prints its tag. IMAGE: asterisk,
#                                              talkgate (the full multi-stage build) or
#                                              talkgate-prebuilt (needs BIN, a talkgate binary)
#   docker-lab.sh stop STATE_DIR               remove every container, stop the engine
#
# The engine runs as root with vfs storage, no iptables and no bridge (containers use the
# host's network), in its own mount namespace so nothing it mounts outlives it. Its data root
# is the image cache: /var/cache/talkgate/docker (TALKGATE_DOCKER_ROOT). Images are tagged by
# a hash of their inputs, so an unchanged image is not built again. The base images
# debian:bookworm and debian:bookworm-slim come from debootstrap with this machine's apt
# sources, cached as a tarball beside the data root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
DATA=${TALKGATE_DOCKER_ROOT:-/var/cache/talkgate/docker}
# Bounds: waiting for another run's engine, the engine's start and stop.
LOCK_WAIT_S=${TALKGATE_DOCKER_LOCK_WAIT_S:-2400}
ENGINE_START_S=60
ENGINE_STOP_S=60

log() { printf 'docker-lab: %s\n' "$*" >&2; }
die() {
    printf 'docker-lab: error: %s\n' "$*" >&2
    exit 1
}

[ "$(id -u)" = 0 ] || die "the private Docker engine needs root"

# shellcheck source=scripts/lib/apt-mirror.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt-mirror.sh"

need_state() {
    [ -n "${1:-}" ] || die "missing STATE_DIR"
    mkdir -p "$1"
    STATE=$(cd "$1" && pwd)
    export DOCKER_HOST=unix://$STATE/docker.sock
}

# dockerd and a client are Debian's docker.io; install it when missing (root only).
need_engine_package() {
    command -v dockerd >/dev/null && command -v docker >/dev/null && return 0
    log "installing Debian's docker.io"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends docker.io >/dev/null || die "could not install docker.io"
}

engine_up() { docker info >/dev/null 2>&1; }

# content_hash DIR EXTRA FILES...: sha256 of the files' paths (relative to DIR) and contents,
# plus the words EXTRA.
content_hash() {
    local dir=$1 extra=$2
    shift 2
    {
        printf '%s\n' "$extra"
        (cd "$dir" && sha256sum -- "$@")
    } | sha256sum | cut -c1-16
}

# Every file the repository-root build context holds (what .dockerignore lets through is a
# subset of these, except ignored build trees).
repo_files() {
    (cd "$src" && if git rev-parse --git-dir >/dev/null 2>&1; then
        git ls-files -co --exclude-standard
    else
        find . -path ./build -prune -o -path './build-*' -prune -o -path ./.git -prune -o -type f -print | sed 's|^\./||'
    fi) | grep -v -e '^deploy/asterisk/site/' -e '^deploy/\.env$' | LC_ALL=C sort
}

import_base() {
    engine_up || die "no engine: run start first"
    if docker image inspect debian:bookworm >/dev/null 2>&1 &&
        docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
        return 0
    fi
    local tarball=$DATA.base-bookworm.tar mirror root
    if [ ! -s "$tarball" ]; then
        command -v debootstrap >/dev/null || die "debootstrap is missing: run scripts/install-deps.sh"
        mirror=$(apt_mirror)
        root=$DATA.base-bookworm.tmp
        rm -rf "$root"
        log "debootstrapping the base image (bookworm, minbase, mirror from apt: $mirror)"
        debootstrap --variant=minbase bookworm "$root" "$mirror" >"$DATA.base-bookworm.log" 2>&1 ||
            die "debootstrap failed, see $DATA.base-bookworm.log"
        # As the official image has it: deb822 sources, no sources.list, no package lists.
        mkdir -p "$root/etc/apt/sources.list.d"
        rm -f "$root/etc/apt/sources.list"
        printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            "$mirror" >"$root/etc/apt/sources.list.d/debian.sources"
        rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
        tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
        rm -rf "$root"
    fi
    docker import "$tarball" debian:bookworm >/dev/null
    docker tag debian:bookworm debian:bookworm-slim
    log "base image imported: $(docker image inspect -f '{{.Id}}' debian:bookworm)"
}

start() {
    need_state "$1"
    need_engine_package
    mkdir -p "$(dirname "$DATA")"
    if engine_up; then
        log "engine already running for $STATE"
        return 0
    fi
    # One engine per data root: the lock is inherited by dockerd and held while it runs.
    exec 9>"$DATA.lock"
    local waited=0
    until flock -n 9; do
        [ "$waited" -lt "$LOCK_WAIT_S" ] || die "another run's Docker engine held $DATA.lock for ${LOCK_WAIT_S}s"
        [ $((waited % 60)) -eq 0 ] && log "waiting for another run's Docker engine ($DATA.lock)"
        sleep 5
        waited=$((waited + 5))
    done
    local exec_root=/run/talkgate-docker
    rm -f "$STATE/docker.sock" "$STATE/dockerd.pid"
    mkdir -p "$DATA" "$exec_root"
    setsid unshare --mount --propagation private \
        dockerd --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none \
        --data-root="$DATA" --exec-root="$exec_root" --host="$DOCKER_HOST" \
        --pidfile="$STATE/dockerd.pid" >"$STATE/dockerd.log" 2>&1 </dev/null &
    echo $! >"$STATE/unshare.pid"
    exec 9>&-
    local i
    for ((i = 0; i < ENGINE_START_S * 2; i++)); do
        engine_up && break
        kill -0 "$(cat "$STATE/unshare.pid")" 2>/dev/null || die "dockerd exited, see $STATE/dockerd.log"
        sleep 0.5
    done
    engine_up || die "dockerd did not answer within ${ENGINE_START_S}s, see $STATE/dockerd.log"
    # Containers a killed run left in the data root (a cancelled build's, a stack's).
    local ids
    ids=$(docker ps -aq)
    # shellcheck disable=SC2086 # one argument per id
    [ -z "$ids" ] || timeout 300 docker rm -f $ids >/dev/null 2>&1 || log "could not remove every leftover container: $ids"
    # A multi-stage build leaves its build stages as untagged images (1.6 GB each on vfs; the
    # cache once grew to 32 GB). They go here, before any build: builds may run side by side
    # (the compose test starts the full image first), a prune must not take a running build's
    # newest intermediate image, and deleting gigabytes on vfs takes minutes that a run which
    # just built them (a cold one) should not wait for.
    timeout 600 docker image prune -f >/dev/null 2>&1 || log "could not prune the last run's build stages"
    printf 'DOCKER_HOST=%s\n' "$DOCKER_HOST" >"$STATE/docker.env"
    log "engine up ($DOCKER_HOST, data root $DATA)"
    import_base
}

stop() {
    need_state "$1"
    if engine_up; then
        local ids
        ids=$(docker ps -aq)
        # One already being removed (a cancelled build's) is not an error: the engine stops anyway.
        # shellcheck disable=SC2086 # one argument per id
        [ -z "$ids" ] || timeout 300 docker rm -f $ids >/dev/null 2>&1 || log "some containers were already going: $ids"
    fi
    local pid=
    [ -f "$STATE/dockerd.pid" ] && pid=$(cat "$STATE/dockerd.pid")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        local i
        for ((i = 0; i < ENGINE_STOP_S * 2; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -0 "$pid" 2>/dev/null && { log "dockerd did not stop in ${ENGINE_STOP_S}s: killing it"; kill -KILL "$pid"; }
    fi
    # The namespace's own processes (containerd and shims) end with it.
    if [ -f "$STATE/unshare.pid" ]; then
        pid=$(cat "$STATE/unshare.pid")
        local i
        for ((i = 0; i < 20; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        rm -f "$STATE/unshare.pid"
    fi
    rm -f "$STATE/docker.sock" "$STATE/docker.env"
    log "engine stopped"
}

# build_cached REPO KIND HASH DOCKER_BUILD_ARGS...: builds REPO:KIND-HASH unless it exists,
# then drops REPO's older KIND-* tags (their layers would only fill the cache; start prunes).
build_cached() {
    local repo=$1 kind=$2 tag=$2-$3 old
    shift 3
    if docker image inspect "$repo:$tag" >/dev/null 2>&1; then
        log "$repo:$tag is cached"
    else
        log "building $repo:$tag"
        DOCKER_BUILDKIT=0 docker build --force-rm --network host -t "$repo:$tag" "$@" >"$STATE/build-$repo-$tag.log" 2>&1 ||
            {
                tail -n 40 "$STATE/build-$repo-$tag.log" >&2
                die "building $repo:$tag failed, see $STATE/build-$repo-$tag.log"
            }
    fi
    for old in $(docker images "$repo" --format '{{.Tag}}'); do
        case $old in
        "$tag") ;;
        "$kind"-*) docker rmi "$repo:$old" >/dev/null 2>&1 || true ;;
        esac
    done
    printf '%s:%s\n' "$repo" "$tag"
}

build() {
    need_state "$1"
    engine_up || die "no engine: run start first"
    local what=${2:-} base
    base=$(docker image inspect -f '{{.Id}}' debian:bookworm)
    case $what in
    asterisk)
        local files
        mapfile -t files < <(repo_files | grep -e '^deploy/asterisk/' -e '^tests/lab/asterisk/' -e '^dialplan/')
        build_cached talkgate-asterisk full "$(content_hash "$src" "$base" "${files[@]}")" \
            -f "$src/deploy/asterisk/Dockerfile" "$src"
        ;;
    talkgate)
        local files
        mapfile -t files < <(repo_files)
        build_cached talkgate full "$(content_hash "$src" "$base" "${files[@]}")" \
            -f "$src/deploy/talkgate/Dockerfile" "$src"
        ;;
    talkgate-prebuilt)
        local bin=${3:-} ctx pre
        [ -x "$bin" ] || die "talkgate-prebuilt needs the path of a talkgate binary"
        # A context of its own, laid out as the repository's (deploy/talkgate/prebuilt/README.md):
        # the stripped binary and the Debian packages that own what it links.
        ctx=$STATE/prebuilt-context
        pre=$ctx/deploy/talkgate/prebuilt
        rm -rf "$ctx"
        mkdir -p "$pre"
        cp "$src/deploy/talkgate/Dockerfile" "$ctx/Dockerfile"
        install -s -m 0755 "$bin" "$pre/talkgate"
        "$src/deploy/talkgate/runtime-packages.sh" "$pre/talkgate" >"$pre/runtime-packages"
        build_cached talkgate prebuilt "$(content_hash "$ctx" "$base" Dockerfile \
            deploy/talkgate/prebuilt/talkgate deploy/talkgate/prebuilt/runtime-packages)" \
            --target prebuilt -f "$ctx/Dockerfile" "$ctx"
        ;;
    *) die "unknown image '$what' (asterisk | talkgate | talkgate-prebuilt BIN)" ;;
    esac
}

cmd=${1:-}
shift || true
case $cmd in
start) start "$@" ;;
stop) stop "$@" ;;
build) build "$@" ;;
*)
    sed -n '2,19p' "$0" >&2
    exit 2
    ;;
esac
