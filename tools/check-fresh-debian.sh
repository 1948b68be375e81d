#!/usr/bin/env bash
# Shows that the test command's own install steps are enough on a brand-new
# Debian 12, so that a package only a developer's machine has (a Recommends
# that --no-install-recommends leaves out, say) cannot hide behind a green
# run:
#
#   tools/check-fresh-debian.sh
#
# Makes a minimal bookworm root (mmdebstrap, minbase), runs tools/deps.sh
# and image-build/deps.sh --build --boot in it, then starts each tool there
# the way the tests do, and names the package behind any that fails. The
# root is always unmounted and removed. Run as root (tools/test-all.sh does,
# unless WARREN_FRESH_CHECK=0). WARREN_IMAGE_MIRROR and WARREN_IMAGE_SECURITY
# choose the mirrors, as for image-build/build.sh.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "check-fresh-debian: run as root (mmdebstrap --mode=root, chroot, mounts)" >&2
    exit 1
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
mirror=${WARREN_IMAGE_MIRROR:-http://deb.debian.org/debian}
security=${WARREN_IMAGE_SECURITY:-http://deb.debian.org/debian-security}
started=$(date +%s)
step() { echo "==> [$(($(date +%s) - started)) s] $*"; }
fail() {
    echo "check-fresh-debian: $*" >&2
    exit 1
}
export DEBIAN_FRONTEND=noninteractive

# The checks below start qemu as hw-tests/qemu-boot.sh does: these are its
# arguments, so a change there must be made here too.
for arg in "-M virt -cpu cortex-a72 -smp 2 -m 1024" "-device virtio-blk-pci,drive=card" \
    '-netdev "user,id=net,restrict=on,hostfwd=' "-device virtio-net-pci,netdev=net,romfile= " \
    "-display none -monitor none"; do
    grep -qF -- "$arg" "$repo/hw-tests/qemu-boot.sh" ||
        fail "hw-tests/qemu-boot.sh no longer starts qemu with '$arg': update this check's qemu arguments"
done

if ! command -v mmdebstrap >/dev/null; then
    step "installing mmdebstrap"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
fi

root=$(mktemp -d /var/tmp/warren-fresh-debian.XXXXXX)
logs=$(mktemp -d)
binfmt="$root/proc/sys/fs/binfmt_misc"
had_aarch64=1
cleanup() {
    # binfmt_misc is the kernel's, not the root's: if image-build/deps.sh
    # registered qemu-aarch64 from the root, take it back.
    if [ "$had_aarch64" = 0 ] && [ -e "$binfmt/qemu-aarch64" ]; then
        echo -1 >"$binfmt/qemu-aarch64" || true
    fi
    # Innermost first, lazily: a straggler must not keep the host's /dev here.
    findmnt -rn -o TARGET | grep "^$root/" | sort -r | while read -r m; do
        umount -l "$m" || true
    done || true
    if findmnt -rn -o TARGET | grep -q "^$root/"; then
        echo "check-fresh-debian: $root is still mounted; not removing it" >&2
    else
        rm -rf --one-file-system "$root"
    fi
    rm -rf "$logs"
}
trap cleanup EXIT
trap 'exit 1' INT TERM # so that cleanup runs then too

step "a brand-new Debian 12 root (mmdebstrap, minbase) in $root"
sources="deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main"
mmdebstrap --mode=root --variant=minbase bookworm "$root" - <<<"$sources" >"$logs/mmdebstrap.log" 2>&1 || {
    tail -n 40 "$logs/mmdebstrap.log"
    fail "mmdebstrap failed"
}
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev" # unmounting here must not unmount the host's
# Installing tor must not start it: it would join the live Tor network.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
# Whether this machine could run aarch64 programs before (see cleanup).
mount -t binfmt_misc binfmt_misc "$binfmt" || true
[ -e "$binfmt/qemu-aarch64" ] || had_aarch64=0
install -D -m 0755 "$repo/tools/deps.sh" "$root/warren/tools/deps.sh"
install -D -m 0755 "$repo/image-build/deps.sh" "$root/warren/image-build/deps.sh"

# A fresh machine's environment, not this one's (no ~/.cargo/bin, no CARGO_*).
in_root() {
    chroot "$root" env -i HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@" </dev/null
}
install_step() { # install_step NAME COMMAND...: one of the test command's install steps
    local name=$1 t0
    shift
    t0=$(date +%s)
    step "in the root: $*"
    if ! in_root "$@" >"$logs/$name.log" 2>&1; then
        tail -n 40 "$logs/$name.log"
        fail "'$*' failed on a fresh Debian 12"
    fi
    echo "  done in $(($(date +%s) - t0)) s"
}
failed=()
check() { # check WHAT PACKAGE COMMAND...: COMMAND must succeed in the root
    local what=$1 pkg=$2 out
    shift 2
    if out=$(in_root "$@" 2>"$logs/stderr"); then
        printf '  ok   %-44s %s\n' "$what" "$(head -n1 <<<"$out" | cut -c1-60)"
    else
        printf '  FAIL %-44s (package: %s)\n' "$what" "$pkg"
        { [ -z "$out" ] || tail -n 5 <<<"$out"; tail -n 20 "$logs/stderr"; } | sed 's/^/         /'
        failed+=("$what (package: $pkg)")
    fi
}

cat >"$root/tmp/probe.c" <<'EOF'
#include <stdint.h>
#include <stdio.h>
int main(void) { uint32_t x = 42; printf("ran, %u\n", (unsigned)x); return 0; }
EOF
cat >"$root/tmp/probe.cc" <<'EOF'
#include <iostream>
#include <vector>
int main() { std::vector<int> v{4, 2}; std::cout << "ran, " << v.size() << "\n"; }
EOF
# qemu as hw-tests/qemu-boot.sh starts it, paused (-S: no kernel needed);
# still running after two seconds means it accepted every argument.
# $1 is what follows the virtio-net device (",romfile=" as the boot test has).
cat >"$root/tmp/qemu.sh" <<'EOF'
set -u
truncate -s 64M /tmp/card.img
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
qemu-system-aarch64 -S -M virt -cpu cortex-a72 -smp 2 -m 1024 \
    -drive "file=/tmp/card.img,if=none,id=card,format=raw" -device virtio-blk-pci,drive=card \
    -netdev "user,id=net,restrict=on,hostfwd=tcp:127.0.0.1:$port-:7451" \
    -device "virtio-net-pci,netdev=net$1" \
    -display none -monitor none -serial file:/tmp/console.log -no-reboot 2>/tmp/qemu.err &
pid=$!
sleep 2
if kill -0 $pid 2>/dev/null; then
    kill $pid
    wait $pid 2>/dev/null
    echo "started (paused) and was still running after 2 s"
else
    wait $pid
    echo "qemu-system-aarch64 stopped at once (status $?):"
    cat /tmp/qemu.err
    exit 1
fi
EOF

step "the test command's packages (tools/deps.sh)"
install_step tools-deps /warren/tools/deps.sh
# Checked before image-build/deps.sh, which installs some of the same tools.
check "cc compiles, links, runs C" "gcc libc6-dev" sh -c 'cc -o /tmp/probe /tmp/probe.c && /tmp/probe'
check "c++ compiles, links, runs C++ (libFuzzer)" g++ sh -c 'c++ -o /tmp/probe-cc /tmp/probe.cc && /tmp/probe-cc'
check "git" git git --version
check "tor" tor tor --version
check "curl" curl curl --version
check "wget" wget wget --version
check "cargo" cargo-web cargo --version
check "rustc" rustc-web rustc --version
check "chromium" chromium chromium --version
# As node/tests/browser.rs has chromedriver start it.
check "chromium renders a page headless" chromium sh -c "timeout 60 chromium --headless=new \
    --no-sandbox --disable-gpu --disable-dev-shm-usage --dump-dom 'data:text/html,<p>rendered</p>' |
    grep -o '<p>rendered</p>'"
check "chromedriver" chromium-driver chromedriver --version

step "the image tier's packages (image-build/deps.sh --build --boot)"
install_step image-deps /warren/image-build/deps.sh --build --boot
check "aarch64-linux-gnu-gcc: <stdint.h>, links" "gcc-aarch64-linux-gnu libc6-dev-arm64-cross" \
    sh -c 'aarch64-linux-gnu-gcc -O2 -o /tmp/probe-arm64 /tmp/probe.c && echo linked'
check "aarch64 program runs (binfmt, qemu-user)" "gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static" \
    sh -c 'aarch64-linux-gnu-gcc -static -o /tmp/probe-arm64s /tmp/probe.c && /tmp/probe-arm64s'
check "qemu-system-aarch64 with qemu-boot.sh's devices" qemu-system-arm bash /tmp/qemu.sh ",romfile="
check "qemu's virtio-net option ROM" ipxe-qemu bash /tmp/qemu.sh ""
check "mmdebstrap" mmdebstrap mmdebstrap --version
check "mkfs.vfat, mcopy, mtype" "dosfstools mtools" sh -c 'cd /tmp && echo fat >fat.txt &&
    mkfs.vfat -C -F 32 -n WARREN boot.part 262144 >/dev/null &&
    mcopy -i boot.part fat.txt :: && mtype -i boot.part ::fat.txt'
check "mkfs.ext4 -d, debugfs" e2fsprogs sh -c 'cd /tmp && mkdir -p ext && echo ext4 >ext/f &&
    mkfs.ext4 -q -F -d ext root.part 8M >/dev/null && debugfs -R "cat /f" root.part 2>/dev/null'
check "sfdisk, python3 reads its table" "fdisk python3" sh -c 'cd /tmp && truncate -s 64M card.part &&
    echo "2048,,c" | sfdisk -q card.part && sfdisk -J card.part |
    python3 -c "import json, sys; print(json.load(sys.stdin)[\"partitiontable\"][\"partitions\"][0][\"start\"])"'
check "xz" xz-utils sh -c 'cd /tmp && xz -T0 -k -f card.part && xz -dc card.part.xz | cmp - card.part && echo same'
check "python3" python3 python3 --version

step "removing the root"
cleanup
trap - EXIT
total=$(($(date +%s) - started))
if [ ${#failed[@]} -gt 0 ]; then
    printf '%s\n' "${failed[@]/#/  missing or broken on a fresh Debian 12: }" >&2
    fail "${#failed[@]} check(s) failed after ${total} s: add the package(s) named to tools/deps.sh or image-build/deps.sh"
fi
step "a fresh Debian 12 gets everything the tests use (${total} s)"
