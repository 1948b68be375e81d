#!/bin/sh
# mmdebstrap customize hook: turns the installed packages into a Warren box.
#   customize.sh ROOT OVERLAY WARREN_BINARY
set -eu
root=$1
overlay=$2
binary=$3
in_root() { chroot "$root" "$@"; }

# The daemon and its user (no password, no shell, no home of its own).
install -m 0755 "$binary" "$root/usr/bin/warren"
in_root useradd --system --user-group --home-dir /data/warren --no-create-home \
    --shell /usr/sbin/nologin warren

# Configuration, units, scripts.
cp -a --no-preserve=ownership "$overlay/." "$root/"
chmod 0644 "$root/etc/fstab" "$root/etc/warren/warren.toml"
echo warren >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\twarren\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
    >"$root/etc/hosts"

# Mount points on the read-only root.
mkdir -p "$root/data" "$root/boot/firmware"

# Everything that changes lives on the data partition: its first contents
# are made here (with the image's own user ids) and moved there by the
# assembly; the root keeps empty mount points.
install -d -m 0700 -o "$(in_root id -u warren)" -g "$(in_root id -g warren)" "$root/data/warren"
cp -a "$root/var/lib/tor" "$root/data/tor"
cp -a "$root/var/lib/systemd" "$root/data/systemd"
mkdir -p "$root/data/systemd/timesync"
timesync_uid=$(in_root id -u systemd-timesync 2>/dev/null || echo 0)
chown "$timesync_uid:$timesync_uid" "$root/data/systemd/timesync"
find "$root/var/lib/tor" "$root/var/lib/systemd" -mindepth 1 -delete

# No password anywhere: root and every other account locked; SSH takes
# keys only, is off until the owner turns it on, and each box makes its own
# host key (none ships in the image). The machine id is made at each boot.
in_root passwd --lock root >/dev/null
rm -f "$root"/etc/ssh/ssh_host_*
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"

# Units.
in_root systemctl enable --quiet warren.service warren-setup.service \
    warren-console.service systemd-networkd.service \
    systemd-resolved.service systemd-timesyncd.service tor.service
# Timers that write to the root (package lists, dpkg backups) have nothing
# to do on a read-only appliance.
in_root systemctl mask --quiet apt-daily.timer apt-daily-upgrade.timer \
    dpkg-db-backup.timer

# The kernel's initramfs, once (the essential hook diverted it), and the
# boot partition's contents from it: raspi-firmware's hook copies kernel,
# initramfs and device trees to /boot/firmware and writes config.txt and
# cmdline.txt from /etc/default/raspi-firmware.
rm -f "$root/usr/sbin/update-initramfs"
in_root dpkg-divert --quiet --local --rename \
    --divert /usr/sbin/update-initramfs.warren --remove /usr/sbin/update-initramfs
for version in $(ls "$root/lib/modules"); do
    in_root update-initramfs -c -k "$version"
    in_root /etc/kernel/postinst.d/z50-raspi-firmware "$version"
done
# raspi-firmware always writes "rw"; the extra "ro" would win, but one
# clear word is better.
sed -i 's/ rw / /; s/  */ /g; s/^ //' "$root/boot/firmware/cmdline.txt"

# Nothing left to update at boot (ldconfig, systemd-update-done).
touch "$root/etc/.updated" "$root/var/.updated"
rm -rf "$root/var/cache/apt/"*.bin "$root/var/lib/apt/lists/"*
