#!/usr/bin/env bash
# Installs what building the image (--build) and booting it under qemu
# (--boot) need on Debian 12, skipping what is already there, and lets this
# machine run aarch64 programs (binfmt_misc), which mmdebstrap needs to
# configure an arm64 root. Run as root.
set -euo pipefail

want_build=0
want_boot=0
for a in "$@"; do
    case "$a" in
    --build) want_build=1 ;;
    --boot) want_boot=1 ;;
    *)
        echo "usage: $0 [--build] [--boot]" >&2
        exit 2
        ;;
    esac
done

if [ "$(id -u)" != 0 ]; then
    echo "image-build/deps.sh: run as root (it installs packages)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
missing=()
need() { # need PACKAGE PROBE...: PACKAGE unless every probe exists
    local pkg=$1
    shift
    for probe in "$@"; do
        [ -e "$probe" ] || command -v "$probe" >/dev/null 2>&1 || {
            missing+=("$pkg")
            return
        }
    done
}

if [ $want_build = 1 ]; then
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        dpkg --add-architecture arm64
    fi
    need rustc-web /usr/bin/rustc
    need libstd-rust-web-dev:arm64 /usr/lib/rustlib/aarch64-unknown-linux-gnu
    need gcc-aarch64-linux-gnu aarch64-linux-gnu-gcc
    # The cross C library's headers, which gcc only recommends: ring's C
    # code includes <stdint.h>.
    need libc6-dev-arm64-cross /usr/aarch64-linux-gnu/include/bits/libc-header-start.h
    need qemu-user-static qemu-aarch64-static
    need mmdebstrap mmdebstrap
    need dosfstools mkfs.vfat
    need mtools mcopy
    need fdisk sfdisk
    need e2fsprogs mkfs.ext4
    need xz-utils xz
    need arch-test arch-test
    need python3 python3
fi
if [ $want_boot = 1 ]; then
    need e2fsprogs debugfs
    need mtools mtype
    need curl curl
    need python3 python3
    # The NICs' option ROMs, which qemu only recommends: without them qemu
    # refuses a virtio-net-pci device that does not say romfile=.
    need ipxe-qemu /usr/lib/ipxe/qemu/efi-virtio.rom
fi
backports=()
if [ $want_boot = 1 ] && ! command -v qemu-system-aarch64 >/dev/null 2>&1; then
    # bookworm's qemu-system 7.2 conflicts with the qemu-utils 10.x that
    # Debian 12 machines often carry; bookworm-backports has 10.x.
    list=/etc/apt/sources.list.d/warren-bookworm-backports.sources
    if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
        cat >"$list" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    fi
    backports=(qemu-system-arm)
fi

if [ ${#missing[@]} -gt 0 ] || [ ${#backports[@]} -gt 0 ]; then
    echo "image-build: installing ${missing[*]} ${backports[*]}"
    apt-get update -qq
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    if [ ${#backports[@]} -gt 0 ]; then
        apt-get install -y -qq --no-install-recommends -t bookworm-backports \
            "${backports[@]}" >/dev/null
    fi
fi

if [ $want_build = 1 ]; then
    binfmt=/proc/sys/fs/binfmt_misc
    if [ ! -e "$binfmt/register" ]; then
        mount -t binfmt_misc binfmt_misc "$binfmt"
    fi
    if [ ! -e "$binfmt/qemu-aarch64" ]; then
        conf=/usr/lib/binfmt.d/qemu-aarch64.conf
        if [ ! -e "$conf" ]; then
            echo "image-build: $conf is missing (qemu-user-static)" >&2
            exit 1
        fi
        grep -v '^#' "$conf" | grep . >"$binfmt/register"
    fi
    if ! arch-test arm64 >/dev/null 2>&1; then
        echo "image-build: this machine cannot run arm64 programs through binfmt_misc" >&2
        exit 1
    fi
fi
