# Shared by the image's boot tests (qemu-boot.sh on qemu's virt machine,
# qemu-boot-pi.sh on its Raspberry Pi models). Source it; it sets up a
# scratch folder (removed on exit, with the emulator), ok/bad counters, the
# card, and checks of what the box prints on its serial console.
# shellcheck shell=bash

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=image-build/layout.sh
. "$repo/image-build/layout.sh"

if ! command -v qemu-system-aarch64 >/dev/null || ! command -v mtype >/dev/null ||
    ! command -v debugfs >/dev/null || ! command -v curl >/dev/null; then
    "$repo/image-build/deps.sh" --boot
fi

tmp=$(mktemp -d)
qemu_pid=""
cleanup() {
    if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
        kill "$qemu_pid" 2>/dev/null || true
        wait "$qemu_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
ok() { echo "  ok   $*"; }
bad() {
    echo "  FAIL $*"
    failures=$((failures + 1))
}

# card IMAGE: a copy of the image (decompressed) as a 4 GiB card in
# $tmp/card.img (a power of two, as qemu's SD card wants; first boot grows
# the data partition to it); sets raw and grown_mib.
card() {
    raw="$tmp/card.img"
    if [ "${1%.xz}" != "$1" ]; then
        echo "== decompressing"
        xz -dc "$1" >"$raw"
    else
        cp --sparse=always "$1" "$raw"
    fi
    truncate -s 4G "$raw"
    local data_off
    read -r data_off _ < <(partition_offset "$raw" 3)
    grown_mib=$(((4096 * 1048576 - data_off) / 1048576))
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_boot CONSOLE SECONDS: until the box's first report (or qemu ends);
# then $tmp/console.txt holds the console without carriage returns.
wait_boot() {
    local deadline=$(($(date +%s) + $2))
    while [ "$(date +%s)" -lt $deadline ] && kill -0 "$qemu_pid" 2>/dev/null; do
        grep -aqs "warren-report: uptime_s=" "$1" && break
        sleep 2
    done
    tr -d '\r' <"$1" | tr -d '\000' >"$tmp/console.txt"
    if ! grep -q "warren-report: uptime_s=" "$tmp/console.txt"; then
        echo "boot test: no boot report within $2 s; the console said:" >&2
        tail -n 60 "$tmp/console.txt" >&2
        exit 1
    fi
}

report() { grep -m1 "warren-report: $1" "$tmp/console.txt" || true; }

# report_checks: what the box's boot report says about the system.
report_checks() {
    case "$(report system)" in
    *"system running"*) ok "systemd: system running" ;;
    *) bad "systemd: $(report system)" ;;
    esac
    case "$(report "failed units")" in
    *"failed units: none"*) ok "no unit failed" ;;
    *) bad "$(report "failed units")" ;;
    esac
    local w
    w=$(report warren)
    grep -q "warren active" <<<"$w" && ok "warren.service active" || bad "$w"
    grep -q "tor active" <<<"$w" && ok "tor active" || bad "$w"
}

# pairing_checks GUEST_IP PORT: the pairing text on the console names an
# address a person can open (the box's on its network, not 0.0.0.0) and
# a .local name, for how long in words; the page answers at that address
# (forwarded to PORT here). Sets pairing_url and local_name.
pairing_checks() {
    local guest_ip=$1 port=$2 block
    block=$(sed -n '/==== Warren: pair this box ====/,/also in warren-pairing.txt/p' "$tmp/console.txt")
    pairing_url=$(grep -o "http://$guest_ip:[0-9]*/pair" <<<"$block" | head -n1)
    local_name=$(grep -o 'http://warren-[a-z2-7]*\.local:[0-9]*/pair' <<<"$block" | head -n1)
    [ -n "$pairing_url" ] && ok "the console names the box's address on its network: $pairing_url" ||
        bad "no pairing address on the console (wanted http://$guest_ip:…/pair): $(grep -A3 'Pair from' <<<"$block" | tr '\n' ' ')"
    [ -n "$local_name" ] && ok "and its .local name: $local_name" || bad "no .local name on the console"
    grep -q "Pairing mode is open for [0-9]* more minutes" <<<"$block" &&
        ok "how long pairing stays open, in minutes" || bad "no pairing duration a person reads"
    if grep -q "0\.0\.0\.0\|unix time" <<<"$block"; then bad "the pairing text names 0.0.0.0 or a unix time"; fi
    if curl -s -m 20 "http://127.0.0.1:$port/pair" | grep -q "Pair with your node"; then
        ok "the pairing page answers at that address (forwarded to 127.0.0.1:$port)"
    else
        bad "the pairing page does not answer at ${pairing_url:-its address}"
    fi
}

# power_off_file_checks [unpaired]: after the emulator is gone, the pairing
# file is on the card's boot partition with the client key; while the box
# is unpaired, with the addresses the console named too.
power_off_file_checks() {
    if [ -n "$qemu_pid" ]; then
        kill "$qemu_pid"
        wait "$qemu_pid" 2>/dev/null || true
        qemu_pid=""
    fi
    local boot_off
    read -r boot_off _ < <(partition_offset "$raw" 1)
    if mtype -i "$raw@@$boot_off" ::warren-pairing.txt >"$tmp/pairing.txt" 2>/dev/null; then
        ok "warren-pairing.txt on the boot partition"
        grep -q "auth_private" "$tmp/pairing.txt" && ok "it holds the admin onion's client key" ||
            bad "warren-pairing.txt lacks the client key"
        if [ "${1:-}" = unpaired ] && [ -n "${pairing_url:-}" ]; then
            grep -qF "$pairing_url" "$tmp/pairing.txt" && grep -qF "$local_name" "$tmp/pairing.txt" &&
                ok "and the same addresses as the console" ||
                bad "warren-pairing.txt does not name $pairing_url and $local_name"
        fi
    else
        bad "no warren-pairing.txt on the boot partition"
    fi
}

# figure KEY: a value from the box's last report line.
figure() {
    grep "warren-report: uptime_s=" "$tmp/console.txt" | tail -n1 | sed -n "s/.*$1=\\([^ ]*\\).*/\\1/p"
}
