#!/bin/sh
# Prints to the box's consoles (serial and screen), once the boot has
# finished: how to pair while no owner has (the pairing file on the boot
# partition), then a health report. With warren.report=SECONDS on the kernel
# command line it repeats the report's figures that often.
set -u
pairing=/boot/firmware/warren-pairing.txt

say() {
    for tty in $(cat /sys/class/tty/console/active 2>/dev/null); do
        [ -w "/dev/$tty" ] && printf '%s\r\n' "$@" > "/dev/$tty"
    done
    printf '%s\n' "$@"
}

data_part=$(basename "$(readlink -f /dev/disk/by-label/warren-data)")
rss_of() { # rss_of UNIT: the resident memory of its main process, KiB
    pid=$(systemctl show -p MainPID --value "$1")
    awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null
}
figures() {
    written=$(awk '{ print $7 / 2 }' "/sys/class/block/$data_part/stat")
    up=$(cut -d' ' -f1 /proc/uptime)
    restarts=$(systemctl show -p NRestarts --value warren.service)
    say "warren-report: uptime_s=$up warren_rss_kib=$(rss_of warren.service || echo none) tor_rss_kib=$(rss_of tor@default.service || echo none) warren_restarts=$restarts data_written_kib=$written"
}

state=$(timeout 600 systemctl is-system-running --wait)
i=0
while [ ! -s "$pairing" ] && [ $i -lt 120 ]; do
    sleep 1
    i=$((i + 1))
done
# A box that gets its network address after the daemon started: the
# daemon adds it to the file within seconds; wait a little for it.
i=0
while grep -q "no address on a network yet" "$pairing" 2>/dev/null && [ $i -lt 90 ]; do
    sleep 1
    i=$((i + 1))
done
if grep -q "pairing code" "$pairing" 2>/dev/null; then
    say "" "==== Warren: pair this box ====" ""
    while IFS= read -r line; do say "$line"; done < "$pairing"
    say "" "(also in warren-pairing.txt on the card's boot partition)" ""
fi

failed=$(systemctl list-units --failed --plain --no-legend | awk '{ print $1 }' | tr '\n' ' ')
root=$(findmnt -no OPTIONS / | tr ',' '\n' | grep -x -m1 'ro\|rw')
data=$(findmnt -no OPTIONS /data | tr ',' '\n' | grep -x -m1 'ro\|rw')
say "warren-report: system $state"
say "warren-report: failed units: ${failed:-none}"
say "warren-report: root ${root:-unmounted} data ${data:-unmounted} data_size_mib=$(($(cat /sys/class/block/$data_part/size) / 2048))"
say "warren-report: warren $(systemctl is-active warren.service) tor $(systemctl is-active tor@default.service) ssh $(systemctl is-active ssh.service)"
say "warren-report: $(runuser -u warren -- /usr/bin/warren --data-dir /data/warren status 2>&1 | grep -m1 '^board' || echo 'board: none')"
profile=$(sed -n 's/^profile *= *"\(.*\)"/\1/p' /data/warren/warren.toml 2>/dev/null | head -n1)
say "warren-report: memory_mib=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024)) profile=${profile:-none} memory_max=$(systemctl show -p MemoryMax --value warren.service) board=$(tr -d '\0' </proc/device-tree/model 2>/dev/null | tr ' ' '_')"
figures
every=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^warren\.report=//p')
if [ -n "$every" ]; then
    while sleep "$every"; do figures; done
fi
