#!/usr/bin/env bash
# Shows that check-image.sh refuses broken images: from a good IMAGE it
# makes copies with one fault each — a read-write root on cmdline.txt, a
# password on root, a missing Pi 4 device tree — and expects the matching
# FAIL line from each.
#
#   image-build/check-image-selftest.sh IMAGE.img
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=image-build/layout.sh
. "$here/layout.sh"
image=${1:?usage: check-image-selftest.sh IMAGE.img}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

expect_refused() { # expect_refused WHAT FAIL_TEXT COPY
    if "$here/check-image.sh" "$3" >"$tmp/out" 2>&1; then
        echo "  FAIL check-image accepted an image with $1"
        failures=$((failures + 1))
    elif grep -q "FAIL .*$2" "$tmp/out"; then
        echo "  ok   refused: $1"
    else
        echo "  FAIL refused an image with $1, but not for that:"
        grep FAIL "$tmp/out" | sed 's/^/       /'
        failures=$((failures + 1))
    fi
}

copy="$tmp/copy.img"
read -r boot_off _ < <(partition_offset "$image" 1)

cp --sparse=always "$image" "$copy"
mtype -i "$copy@@$boot_off" ::cmdline.txt | sed -E 's/(^| )ro( |$)/\1rw\2/' >"$tmp/cmdline.txt"
mcopy -o -i "$copy@@$boot_off" "$tmp/cmdline.txt" ::cmdline.txt
expect_refused "a read-write root" "cmdline.txt: ro" "$copy"

cp --sparse=always "$image" "$copy"
mdel -i "$copy@@$boot_off" ::bcm2711-rpi-4-b.dtb
expect_refused "no Pi 4 device tree" "bcm2711-rpi-4-b.dtb" "$copy"

cp --sparse=always "$image" "$copy"
extract_partition "$copy" 2 "$tmp/root.part"
debugfs -R "cat /etc/shadow" "$tmp/root.part" 2>/dev/null |
    sed 's/^root:[^:]*:/root:$y$j9T$salt$hash:/' >"$tmp/shadow"
debugfs -w -R "rm /etc/shadow" "$tmp/root.part" >/dev/null 2>&1
debugfs -w -R "write $tmp/shadow /etc/shadow" "$tmp/root.part" >/dev/null 2>&1
read -r root_off _ < <(partition_offset "$copy" 2)
dd if="$tmp/root.part" of="$copy" bs=1M oflag=seek_bytes seek="$root_off" conv=notrunc status=none
expect_refused "a password on root" "no account has a usable or empty password" "$copy"

if [ $failures -gt 0 ]; then
    echo "check-image-selftest: $failures case(s) wrong" >&2
    exit 1
fi
echo "check-image-selftest: every broken image refused"
