#!/bin/sh
# Grows the data partition (labelled warren-data, the card's last) to the
# end of the card. Runs in the initramfs, before anything on the card is
# mounted; does nothing once the partition reaches the end.
set -eu
part=$(blkid -L warren-data 2>/dev/null) || {
    echo "warren-grow: no partition labelled warren-data"
    exit 0
}
# Shell built-ins only for paths: the initramfs has no basename or dirname.
name=${part##*/}
sys=$(cd "/sys/class/block/$name" && pwd -P)
disk=${sys%/*}
disk=${disk##*/}
num=$(cat "$sys/partition")
disk_sectors=$(cat "/sys/class/block/$disk/size")
start=$(cat "$sys/start")
size=$(cat "$sys/size")
free=$((disk_sectors - start - size))
# Less than 2 MiB to gain: already grown.
if [ "$free" -le 4096 ]; then
    exit 0
fi
echo "warren-grow: growing $part by $((free / 2048)) MiB to the end of /dev/$disk"
echo ", +" | sfdisk --no-reread --no-tell-kernel -q -N "$num" "/dev/$disk"
partx -u -n "$num" "/dev/$disk"
