#!/usr/bin/env bash
# The image's boot test (see hw-tests/README.md):
#
#   hw-tests/qemu-boot.sh IMAGE [--idle SECONDS]
#
# IMAGE is warren-VERSION-rpi-arm64.img (or .img.xz) from
# image-build/build.sh, with its .qemu-vmlinuz and .qemu-initrd beside it.
# Checks the image statically (image-build/check-image.sh), then boots it
# under qemu-system-aarch64 (-M virt, TCG; the image's own kernel and
# initramfs given directly, the card on a 4 GiB virtual disk, networking
# restricted to a forwarded port: the guest reaches nothing outside) and
# checks: the panel answers on the forwarded port and an owner can pair
# with the code printed on the serial console; the pairing file is on the
# boot partition with that code; the root is read-only and the data
# partition writable and grown to the disk; no systemd unit failed.
# --idle SECONDS keeps the box running idle that long and reports the bytes
# written to the data partition. Prints boot-to-panel time and the daemon's
# memory.
set -euo pipefail

image=""
idle=0
while [ $# -gt 0 ]; do
    case "$1" in
    --idle)
        idle=${2:?--idle needs SECONDS}
        shift 2
        ;;
    -*)
        echo "usage: $0 IMAGE [--idle SECONDS]" >&2
        exit 2
        ;;
    *)
        image=$1
        shift
        ;;
    esac
done
[ -n "$image" ] || {
    echo "usage: $0 IMAGE [--idle SECONDS]" >&2
    exit 2
}
[ -f "$image" ] || {
    echo "qemu-boot: no image at $image" >&2
    exit 2
}
base=${image%.xz}
base=${base%.img}
kernel="$base.qemu-vmlinuz"
initrd="$base.qemu-initrd"
for f in "$kernel" "$initrd"; do
    [ -f "$f" ] || {
        echo "qemu-boot: $f is missing (image-build/build.sh writes it next to the image)" >&2
        exit 2
    }
done
# shellcheck source=hw-tests/boot-lib.sh
. "$(dirname "$0")/boot-lib.sh"

card "$image"
echo "== static checks"
"$repo/image-build/check-image.sh" "$raw"
port=$(free_port)
console="$tmp/console.log"
report_every=$((idle > 0 ? 60 : 0))
append="root=LABEL=warren-root ro rootwait console=ttyAMA0"
[ $report_every -gt 0 ] && append="$append warren.report=$report_every"

echo "== booting under qemu (TCG); panel forwarded to 127.0.0.1:$port"
started=$(date +%s.%N)
qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 1024 \
    -kernel "$kernel" -initrd "$initrd" -append "$append" \
    -drive "file=$raw,if=none,id=card,format=raw" -device virtio-blk-pci,drive=card \
    -netdev "user,id=net,restrict=on,hostfwd=tcp:127.0.0.1:$port-:7451" \
    -device virtio-net-pci,netdev=net,romfile= \
    -display none -monitor none -serial "file:$console" -no-reboot &
qemu_pid=$!

elapsed() { python3 -c "import time; print(f'{time.time() - $started:.0f}')"; }
jar="$tmp/cookies"
panel_at=""
deadline=$(($(date +%s) + 900))
while [ "$(date +%s)" -lt $deadline ]; do
    kill -0 "$qemu_pid" 2>/dev/null || break
    if [ -z "$panel_at" ] &&
        curl -s -m 5 -c "$jar" -o "$tmp/pair.html" "http://127.0.0.1:$port/pair" &&
        grep -q "Pair with your node" "$tmp/pair.html"; then
        panel_at=$(elapsed)
        echo "  panel answered after ${panel_at} s"
    fi
    if [ -n "$panel_at" ] && grep -q "warren-report: uptime_s=" "$console"; then
        break
    fi
    sleep 2
done
if [ -z "$panel_at" ] || ! grep -q "warren-report: uptime_s=" "$console"; then
    echo "qemu-boot: no panel or no boot report within 900 s; the console said:" >&2
    tail -n 60 "$console" | tr -d '\r' >&2
    exit 1
fi
tr -d '\r' <"$console" | tr -d '\000' >"$tmp/console.txt"
echo "== the box's report"
grep "warren-report:" "$tmp/console.txt" | sed 's/^/  /'

echo "== checks"
[ -n "$panel_at" ] && ok "the panel answers on the forwarded port (${panel_at} s after power-on)"
report_checks
mounts=$(report root)
grep -q "root ro " <<<"$mounts" && ok "root mounted read-only" || bad "root: $mounts"
grep -q " data rw " <<<"$mounts" && ok "data partition writable" || bad "data: $mounts"
data_mib=$(sed -n 's/.*data_size_mib=\([0-9]*\).*/\1/p' <<<"$mounts")
# ext4 keeps a little of the partition for itself: within 2 %.
[ "${data_mib:-0}" -ge $((grown_mib * 98 / 100)) ] &&
    ok "data partition grown to the card (${data_mib} of ${grown_mib} MiB)" ||
    bad "data partition not grown (${data_mib:-?} MiB, the card leaves ${grown_mib} MiB)"
grep -q "ssh inactive" <<<"$(report warren)" && ok "SSH off (no keys on the boot partition)" || bad "$(report warren)"
# qemu's user network gives the guest this address.
pairing_checks 10.0.2.15 "$port"

code=$(sed -n '/One-time pairing code:/{n;s/^ *//;p;q}' "$tmp/console.txt")
onion=$(sed -n '/Open this address in Tor Browser:/{n;s/^ *//;p;q}' "$tmp/console.txt")
[ -n "$code" ] && ok "pairing code on the serial console" || bad "no pairing code on the serial console"
[ -n "$onion" ] && ok "admin onion address on the serial console: ${onion%% *}" ||
    bad "no admin onion address on the serial console"

# Pair as the owner would, through the forwarded port, with the console's code.
csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$tmp/pair.html" | head -n1)
status=$(curl -s -m 30 -b "$jar" -c "$jar" -o /dev/null -w '%{http_code} %{redirect_url}' \
    --data-urlencode "csrf=$csrf" --data-urlencode "code=$code" \
    --data-urlencode "passphrase=a passphrase for the boot test" \
    --data-urlencode "confirm=a passphrase for the boot test" \
    "http://127.0.0.1:$port/pair")
dash=$(curl -s -m 30 -b "$jar" -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/dashboard")
[ "${status%% *}" = 303 ] && [ "$dash" = 200 ] && ok "paired with that code; the dashboard opens" ||
    bad "pairing with the console's code: POST /pair $status, dashboard $dash"

if [ "$idle" -gt 0 ]; then
    echo "== idle for $idle s"
    sleep "$idle"
    grep "warren-report: uptime_s=" <(tr -d '\r' <"$console") | sed 's/^/  /'
fi
tr -d '\r' <"$console" | tr -d '\000' >"$tmp/console.txt"
last=$(grep "warren-report: uptime_s=" "$tmp/console.txt" | tail -n1)
rss=$(figure warren_rss_kib)
tor_rss=$(figure tor_rss_kib)
restarts=$(figure warren_restarts)
[ "$restarts" = 0 ] && ok "the daemon never restarted (systemd's watchdog kept being fed)" ||
    bad "the daemon restarted ${restarts:-?} time(s)"
written=$(sed -n 's/.*uptime_s=\([0-9.]*\).*data_written_kib=\([0-9.]*\).*/\2 KiB in \1 s of uptime/p' <<<"$last")

# Power off, then read the card as a computer would.
power_off_file_checks
grep -q "${onion%% *}" "$tmp/pairing.txt" 2>/dev/null && ok "it holds the admin onion's address" ||
    bad "warren-pairing.txt lacks the admin onion's address"

echo "== figures"
echo "  boot to panel: ${panel_at} s (qemu TCG, 2 vCPU, 1 GiB)"
echo "  RSS: warren ${rss:-?} KiB, tor ${tor_rss:-?} KiB"
echo "  written to the data partition: ${written:-?}"
if [ $failures -gt 0 ]; then
    echo "qemu-boot: $failures check(s) failed" >&2
    exit 1
fi
echo "qemu-boot: all checks passed"
