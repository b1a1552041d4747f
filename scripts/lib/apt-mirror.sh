# shellcheck shell=bash
# Sourced by the lab and module scripts: the Debian mirror this machine's apt already uses
# (deb822 *.sources first, then sources.list), never a host name of our own. Needs `die`.
apt_mirror() {
    local uri
    uri=$( (cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true) |
        awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }')
    if [ -z "$uri" ]; then
        uri=$( (cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true) |
            awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) { print $i; exit } }')
    fi
    [ -n "$uri" ] || die "no Debian mirror found in /etc/apt (sources.list or *.sources)"
    printf '%s\n' "$uri"
}
