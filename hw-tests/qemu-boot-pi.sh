#!/usr/bin/env bash
# The image booted on qemu's own Raspberry Pi machine models:
#
#   hw-tests/qemu-boot-pi.sh IMAGE [raspi3b|raspi3ap]
#
# No emulator runs the Pi's firmware stage, so qemu is given what the
# firmware would: the kernel, initramfs and device tree from the card's
# boot partition and its cmdline.txt. The card (4 GiB, a power of two) is
# on the Pi's SD host; a USB network adapter on qemu's user network
# (restricted: the guest reaches nothing outside) gets the box an address,
# with the pairing port forwarded. The console is the mini UART (ttyS1).
#
# Added to the kernel command line, because of the emulator only:
# - modprobe.blacklist=bcm2835_wdt: qemu's BCM2835 watchdog model resets
#   the machine as soon as the driver arms it (it writes the reset register
#   on start), so the box would reset within a second of the daemon opening
#   /dev/watchdog. A real Pi's watchdog counts its 15 s (the daemon reads
#   the timeout back from sysfs and pets it every 5 s).
# - raspi3ap, initcall_blacklist=bcm2835_power_driver_init: qemu's 3A+
#   model answers the power-domain driver's first register read with an
#   external abort, and Debian's kernel panics at boot.
#
# Checks: the boot report (system running, no failed unit, warren and tor
# active, the daemon never restarted, the board model and memory profile);
# the pairing text on the console names the box's address on its network
# and its warren-xxxx.local name, and how long pairing stays open in words;
# the pairing page answers there; after power-off the card's pairing file
# says the same. Prints boot time and the RSS of warren and tor.
#
# qemu's usb-net prints "usbnet: failed control transaction" a few times
# while the kernel probes the adapter; the link comes up regardless.
#
# qemu's raspi4b does not boot Debian's kernel: it aborts in
# brcmstb_l2_intc_of_init (the Pi 4's second-level interrupt controller
# is not modelled), and its Ethernet is not modelled either.
set -euo pipefail

image=${1:?usage: $0 IMAGE [raspi3b|raspi3ap]}
machine=${2:-raspi3b}
[ -f "$image" ] || {
    echo "qemu-boot-pi: no image at $image" >&2
    exit 2
}
extra="modprobe.blacklist=bcm2835_wdt"
case "$machine" in
raspi3b) dtb=bcm2837-rpi-3-b.dtb ;;
raspi3ap)
    dtb=bcm2837-rpi-3-a-plus.dtb
    extra="$extra initcall_blacklist=bcm2835_power_driver_init"
    ;;
*)
    echo "qemu-boot-pi: machine $machine: raspi3b or raspi3ap" >&2
    exit 2
    ;;
esac
# shellcheck source=hw-tests/boot-lib.sh
. "$(dirname "$0")/boot-lib.sh"

card "$image"
read -r boot_off _ < <(partition_offset "$raw" 1)
kernel=$(mdir -b -i "$raw@@$boot_off" :: | sed -n 's|^::/\(vmlinuz-.*\)|\1|p' | head -n1)
initrd=$(mdir -b -i "$raw@@$boot_off" :: | sed -n 's|^::/\(initrd.img-.*\)|\1|p' | head -n1)
for f in "$kernel" "$initrd" "$dtb" cmdline.txt; do
    mcopy -n -i "$raw@@$boot_off" "::$f" "$tmp/$f" ||
        { echo "qemu-boot-pi: $f is not on the boot partition" >&2; exit 1; }
done
port=$(free_port)
console="$tmp/console.log"

echo "== booting on qemu's $machine (TCG); pairing port forwarded to 127.0.0.1:$port"
started=$(date +%s)
qemu-system-aarch64 -M "$machine" \
    -kernel "$tmp/$kernel" -initrd "$tmp/$initrd" -dtb "$tmp/$dtb" \
    -append "$(cat "$tmp/cmdline.txt") $extra" \
    -drive "file=$raw,if=sd,format=raw" \
    -netdev "user,id=net,restrict=on,hostfwd=tcp:127.0.0.1:$port-:7451" \
    -device usb-net,netdev=net \
    -serial null -serial "file:$console" -display none -monitor none -no-reboot &
qemu_pid=$!
wait_boot "$console" 900
booted=$(($(date +%s) - started))

echo "== checks"
report_checks
restarts=$(figure warren_restarts)
[ "$restarts" = 0 ] && ok "the daemon never restarted" || bad "the daemon restarted ${restarts:-?} time(s)"
board=$(report memory_mib)
echo "  box: $board"
mem=$(sed -n 's/.*memory_mib=\([0-9]*\).*/\1/p' <<<"$board")
grep -q "profile=small" <<<"$board" && grep -q "memory_max=268435456" <<<"$board" &&
    ok "small memory profile, MemoryMax 256 MiB (${mem} MiB of RAM)" ||
    bad "memory profile: $board"
grep -q "board=Raspberry_Pi" <<<"$board" && ok "the device tree says Raspberry Pi" || bad "board: $board"
line=$(report board)
grep -q "board *Raspberry Pi.*: LED [a-z]" <<<"$line" && ok "warren status names the board and its LED: ${line#warren-report: }" ||
    bad "warren status's board line: ${line:-none}"
# qemu's user network gives the guest this address.
pairing_checks 10.0.2.15 "$port"
warren_rss=$(figure warren_rss_kib)
tor_rss=$(figure tor_rss_kib)
power_off_file_checks unpaired

echo "== figures ($machine)"
echo "  power-on to the boot report: ${booted} s (qemu TCG)"
echo "  RSS: warren ${warren_rss:-?} KiB, tor ${tor_rss:-?} KiB"
if [ $failures -gt 0 ]; then
    echo "qemu-boot-pi: $failures check(s) failed on $machine" >&2
    exit 1
fi
echo "qemu-boot-pi: all checks passed on $machine"
