#!/usr/bin/env bash
# Static checks of a built image, for what no emulator can run (the Pi's
# firmware stage) and what must hold on every card:
#
#   image-build/check-image.sh IMAGE.img
#
# Boot partition: config.txt (64-bit, kernel and initramfs named), cmdline.txt
# (read-only root by label), the kernel, initramfs, Pi 3/4 firmware and
# device trees. Root: no account with a usable or empty password, SSH off
# by default and keys only, no host key shipped, the daemon and its units in place, a read-only root in fstab.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=image-build/layout.sh
. "$here/layout.sh"
image=${1:?usage: check-image.sh IMAGE.img}
[ -f "$image" ] || {
    echo "check-image: no image at $image" >&2
    exit 2
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
ok() { echo "  ok   $*"; }
bad() {
    echo "  FAIL $*"
    failures=$((failures + 1))
}
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi
}

echo "boot partition"
read -r boot_off _ < <(partition_offset "$image" 1)
fat="$image@@$boot_off"
mtype -i "$fat" ::config.txt >"$tmp/config.txt" 2>/dev/null || bad "config.txt readable"
mtype -i "$fat" ::cmdline.txt >"$tmp/cmdline.txt" 2>/dev/null || bad "cmdline.txt readable"
mdir -i "$fat" -b :: >"$tmp/files" 2>/dev/null || true
has() { grep -qx "::/$1" "$tmp/files"; }
check "config.txt: arm_64bit=1" grep -qx 'arm_64bit=1' "$tmp/config.txt"
kernel=$(sed -n 's/^kernel=//p' "$tmp/config.txt" | head -n1)
initrd=$(sed -n 's/^initramfs \([^ ]*\).*/\1/p' "$tmp/config.txt" | head -n1)
check "config.txt names a kernel ($kernel) that is there" has "${kernel:-none}"
check "config.txt names an initramfs ($initrd) that is there" has "${initrd:-none}"
cmdline=" $(tr '\n' ' ' <"$tmp/cmdline.txt") "
check "cmdline.txt: root=LABEL=$ROOT_LABEL" grep -q " root=LABEL=$ROOT_LABEL " <<<"$cmdline"
check "cmdline.txt: ro" grep -q " ro " <<<"$cmdline"
check "cmdline.txt: no rw" bash -c "! grep -q ' rw ' <<<'$cmdline'"
check "cmdline.txt: no cma= (raspi-firmware's chroot guess)" bash -c "! grep -q ' cma=' <<<'$cmdline'"
for f in bootcode.bin start.elf fixup.dat start4.elf fixup4.dat \
    bcm2837-rpi-3-b.dtb bcm2837-rpi-3-b-plus.dtb bcm2711-rpi-4-b.dtb; do
    check "$f" has "$f"
done

echo "root partition"
extract_partition "$image" 2 "$tmp/root.part"
dfs() { debugfs -R "$1" "$tmp/root.part" 2>/dev/null; }
in_part() { debugfs -R "stat $2" "$1" 2>&1 | grep -q 'Inode:'; } # in_part PARTITION PATH
dfs "cat /etc/shadow" >"$tmp/shadow"
check "/etc/shadow is there" test -s "$tmp/shadow"
usable=$(awk -F: '$2 !~ /^[!*]/ { print $1 }' "$tmp/shadow" | tr '\n' ' ')
check "no account has a usable or empty password${usable:+ (has: $usable)}" test -z "$usable"
check "no SSH host key in the image" bash -c "! debugfs -R 'ls /etc/ssh' '$tmp/root.part' 2>/dev/null | grep -q ssh_host_"
dfs "cat /etc/ssh/sshd_config.d/warren.conf" >"$tmp/sshd"
check "sshd: no password logins" grep -qx "PasswordAuthentication no" "$tmp/sshd"
dfs "cat /etc/systemd/system/ssh.service.d/warren.conf" >"$tmp/ssh-unit"
check "sshd only when turned on from the boot partition" \
    grep -qx "ConditionPathExists=/boot/firmware/ssh-authorized-keys" "$tmp/ssh-unit"
dfs "cat /etc/fstab" >"$tmp/fstab"
check "fstab: root read-only" grep -Eq "^LABEL=$ROOT_LABEL +/ +ext4 +ro," "$tmp/fstab"
check "fstab: data noatime" grep -Eq "^LABEL=$DATA_LABEL +/data +ext4 +noatime,commit=" "$tmp/fstab"
check "/usr/bin/warren" in_part "$tmp/root.part" /usr/bin/warren
check "warren.service enabled" in_part "$tmp/root.part" /etc/systemd/system/multi-user.target.wants/warren.service
check "empty machine-id" bash -c "[ -z \"\$(debugfs -R 'cat /etc/machine-id' '$tmp/root.part' 2>/dev/null)\" ]"

echo "data partition"
extract_partition "$image" 3 "$tmp/data.part"
check "warren's data folder" in_part "$tmp/data.part" /warren
check "tor's state folder" in_part "$tmp/data.part" /tor

if [ $failures -gt 0 ]; then
    echo "check-image: $failures check(s) failed" >&2
    exit 1
fi
echo "check-image: all checks passed"
