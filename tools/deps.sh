#!/usr/bin/env bash
# Installs the Debian packages the tests need (tools/test-all.sh runs it
# first), skipping what is already there. Runs as root, or through sudo.
# tools/check-fresh-debian.sh runs it in a brand-new Debian 12 root to show
# that this list alone is enough.
set -euo pipefail

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "need root to run: $*" >&2
        exit 1
    fi
}

apt_missing=()
command -v cc >/dev/null || apt_missing+=(gcc libc6-dev)
command -v c++ >/dev/null || apt_missing+=(g++)   # libFuzzer is C++
command -v git >/dev/null || apt_missing+=(git)
command -v tor >/dev/null || apt_missing+=(tor)   # the private Tor network
command -v curl >/dev/null || apt_missing+=(curl ca-certificates)   # gateway tests: a real HTTP client
command -v wget >/dev/null || apt_missing+=(wget)
command -v chromium >/dev/null || apt_missing+=(chromium)   # the panel's real-browser tests
command -v chromedriver >/dev/null || apt_missing+=(chromium-driver)
# The relay's UPnP test: a real UPnP-IGD router (miniupnpd, on nftables) in
# a network namespace.
command -v miniupnpd >/dev/null || apt_missing+=(miniupnpd-nftables)
command -v nft >/dev/null || apt_missing+=(nftables)
if ! command -v cargo >/dev/null; then
    # No rustup toolchain: Debian's newer Rust (bookworm's rustc-web).
    apt_missing+=(rustc-web cargo-web)
fi
if [ ${#apt_missing[@]} -gt 0 ]; then
    printf '\n==> %s\n' "installing Debian packages: ${apt_missing[*]}"
    new_tor=0
    if [[ " ${apt_missing[*]} " == *" tor "* || " ${apt_missing[*]} " == *" miniupnpd-nftables "* ]] \
        && [ ! -e /usr/sbin/policy-rc.d ]; then
        # Debian starts (and enables) its tor and miniupnpd services on
        # install: tor would join the live Tor network, miniupnpd answer on
        # this machine's network. The tests start their own, in isolation.
        new_tor=1
        as_root sh -c 'printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d'
        trap 'as_root rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${apt_missing[@]}"
    if [ $new_tor = 1 ] && command -v deb-systemd-helper >/dev/null; then
        as_root deb-systemd-helper disable tor.service >/dev/null 2>&1 || true
        as_root deb-systemd-helper disable miniupnpd.service >/dev/null 2>&1 || true
    fi
fi
