#!/usr/bin/env bash
# Builds the Warren Raspberry Pi image (see image-build/README.md):
#
#   image-build/build.sh OUTDIR
#
# OUTDIR receives warren-VERSION-rpi-arm64.img.xz with its .sha256, the raw
# .img, the manifest, and the qemu variant's kernel and initrd. Run as root
# on Debian 12 (x86_64 or arm64); what is missing is installed first.
#
# Environment:
#   WARREN_IMAGE_MIRROR    Debian mirror (default http://deb.debian.org/debian)
#   WARREN_IMAGE_SECURITY  security mirror (default http://deb.debian.org/debian-security)
#   WARREN_IMAGE_XZ        xz options (default -6)
#   WARREN_IMAGE_KEEP=1    keep the work folder (OUTDIR/work)
#   CARGO_TARGET_DIR       where cargo builds (default: the workspace's target/)
set -euo pipefail

if [ $# -ne 1 ] || [ "${1#-}" != "$1" ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
if [ "$(id -u)" != 0 ]; then
    echo "image-build: run as root (mmdebstrap --mode=root, chroot, file ownership)" >&2
    exit 1
fi

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
mkdir -p "$1"
out=$(cd "$1" && pwd)
work="$out/work"
mirror=${WARREN_IMAGE_MIRROR:-http://deb.debian.org/debian}
security=${WARREN_IMAGE_SECURITY:-http://deb.debian.org/debian-security}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n1)
name="warren-$version-rpi-arm64"
started=$(date +%s)

step() { echo "==> [$(($(date +%s) - started)) s] $*"; }
fail() {
    echo "image-build: $*" >&2
    exit 1
}

# shellcheck source=image-build/layout.sh
. "$here/layout.sh"

step "tools"
"$here/deps.sh" --build

step "warren for aarch64 (release)"
target_dir=${CARGO_TARGET_DIR:-$repo/target}
(
    cd "$repo"
    RUSTC=/usr/bin/rustc \
        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
        CARGO_TARGET_DIR="$target_dir" \
        cargo build --release --locked --target aarch64-unknown-linux-gnu \
        -p warren-node --bin warren
)
binary="$target_dir/aarch64-unknown-linux-gnu/release/warren"
[ -x "$binary" ] || fail "no binary at $binary"

step "root filesystem (mmdebstrap, arm64)"
rm -rf "$work"
mkdir -p "$work"
rootfs="$work/rootfs"
install -D -m 0755 "$binary" "$work/warren"
aarch64-linux-gnu-strip "$work/warren"
packages=(
    systemd-sysv udev kmod initramfs-tools zstd linux-image-arm64
    raspi-firmware tor e2fsprogs dosfstools fdisk iproute2 netbase
    systemd-timesyncd systemd-resolved procps openssh-server
)
sources="deb $mirror bookworm main non-free-firmware
deb $mirror bookworm-updates main non-free-firmware
deb $security bookworm-security main non-free-firmware"
SOURCE_DATE_EPOCH=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH
mmdebstrap --mode=root --arch=arm64 --variant=minbase \
    --include="$(
        IFS=,
        echo "${packages[*]}"
    )" \
    --aptopt='APT::Install-Recommends "false"' \
    --essential-hook="$here/hooks/essential.sh \"\$1\"" \
    --customize-hook="$here/hooks/customize.sh \"\$1\" \"$here/rootfs\" \"$work/warren\"" \
    bookworm "$rootfs" - <<<"$sources"

step "image"
assemble_image "$rootfs" "$work" "$out/$name.img"

step "static checks of the image"
"$here/check-image.sh" "$out/$name.img"

step "qemu variant: the image's own kernel and initrd"
kernel=$(find "$rootfs/boot" -maxdepth 1 -name 'vmlinuz-*' | sort | tail -n1)
initrd=$(find "$rootfs/boot" -maxdepth 1 -name 'initrd.img-*' | sort | tail -n1)
[ -n "$kernel" ] && [ -n "$initrd" ] || fail "no kernel or initrd in /boot"
install -m 0644 "$kernel" "$out/$name.qemu-vmlinuz"
install -m 0644 "$initrd" "$out/$name.qemu-initrd"

step "compress"
rm -f "$out/$name.img.xz"
# shellcheck disable=SC2086
xz -T0 ${WARREN_IMAGE_XZ:--6} -k -c "$out/$name.img" >"$out/$name.img.xz"
(cd "$out" && sha256sum "$name.img.xz" >"$name.img.xz.sha256")

step "manifest"
write_manifest "$rootfs" "$out/$name.img" "$out/$name.img.xz" "$work/warren" \
    >"$out/$name.manifest.txt"

if [ "${WARREN_IMAGE_KEEP:-0}" != 1 ]; then
    rm -rf "$work"
fi
step "done: $out/$name.img.xz ($(du -h --apparent-size "$out/$name.img.xz" | cut -f1)," \
    "raw $(du -h --apparent-size "$out/$name.img" | cut -f1))"
