#!/usr/bin/env bash
# Installs Asterisk 22 from Debian sid on a Debian 12 image (the lab's Asterisk, see
# scripts/lab.sh provision): sid is pinned low, so only Asterisk and what it needs come from it.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# The mirror this system's apt already uses, found as scripts/lab.sh finds it.
mirror=$( (cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true) |
    awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }')
[ -n "$mirror" ] || { echo "install-asterisk: no Debian mirror in /etc/apt/sources.list.d" >&2; exit 1; }

cat >/etc/apt/sources.list.d/sid.sources <<SOURCES
Types: deb
URIs: $mirror
Suites: sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
cat >/etc/apt/preferences.d/talkgate-sid <<PIN
Package: *
Pin: release n=sid
Pin-Priority: 100
PIN

# A mirror that serves a dated snapshot of sid has a Release file past its Valid-Until date,
# which apt refuses unless told not to check it.
apt-get -o Acquire::Check-Valid-Until=false update -qq
apt-get -o Acquire::Check-Valid-Until=false install -y -qq --no-install-recommends -t sid \
    asterisk asterisk-modules ca-certificates
asterisk -V

# The stock files the lab copies too; the rest of /etc/asterisk is rendered at every start.
mkdir -p /usr/share/talkgate-asterisk/stock
cp /etc/asterisk/indications.conf /usr/share/talkgate-asterisk/stock/
find /etc/asterisk -mindepth 1 -maxdepth 1 ! -name keys -exec rm -rf {} +
rm -rf /var/lib/apt/lists/*
