# Image layout, sourced by build.sh and the checks: an MBR card with
#   1  boot  FAT32  WARREN-BOOT  firmware, kernel, initramfs, config.txt
#   2  root  ext4   warren-root  the system, mounted read-only
#   3  data  ext4   warren-data  everything that changes; grown at first boot
# Partitions are made as files and placed with dd: no loop devices.

BOOT_START_MIB=4
BOOT_MIB=256
DATA_MIB=64
ROOT_LABEL=warren-root
BOOT_LABEL=WARREN-BOOT
DATA_LABEL=warren-data

# assemble_image ROOTFS WORK IMAGE: moves /boot/firmware's and /data's
# contents out of ROOTFS into their own partitions and writes IMAGE.
assemble_image() {
    local rootfs=$1 work=$2 image=$3
    local fw="$work/firmware" data="$work/data"
    rm -rf "$fw" "$data"
    mv "$rootfs/boot/firmware" "$fw"
    mv "$rootfs/data" "$data"
    mkdir -p "$rootfs/boot/firmware" "$rootfs/data"

    rm -f "$work/boot.part"
    mkfs.vfat -C -F 32 -n "$BOOT_LABEL" "$work/boot.part" $((BOOT_MIB * 1024)) >/dev/null
    mcopy -s -p -i "$work/boot.part" "$fw"/* ::

    local used root_mib
    used=$(du -s --block-size=1M "$rootfs" | cut -f1)
    root_mib=$((used + used / 5 + 64))
    rm -f "$work/root.part" "$work/data.part"
    mkfs.ext4 -q -F -L "$ROOT_LABEL" -m 0 -d "$rootfs" "$work/root.part" "${root_mib}M"
    # Flash-friendly: one inode per 64 KiB (the node keeps a few large
    # files), so growing to the card at first boot writes few inode tables;
    # noatime and the commit interval are mount options (fstab).
    mkfs.ext4 -q -F -L "$DATA_LABEL" -m 1 -i 65536 -d "$data" "$work/data.part" "${DATA_MIB}M"

    local boot_start=$((BOOT_START_MIB * 2048))
    local root_start=$((boot_start + BOOT_MIB * 2048))
    local data_start=$((root_start + root_mib * 2048))
    local total_mib=$((BOOT_START_MIB + BOOT_MIB + root_mib + DATA_MIB + 1))
    rm -f "$image"
    truncate -s "${total_mib}M" "$image"
    sfdisk -q "$image" <<TABLE
label: dos
unit: sectors
start=$boot_start, size=$((BOOT_MIB * 2048)), type=c, bootable
start=$root_start, size=$((root_mib * 2048)), type=83
start=$data_start, size=$((DATA_MIB * 2048)), type=83
TABLE
    dd if="$work/boot.part" of="$image" bs=1M seek=$BOOT_START_MIB conv=notrunc,sparse status=none
    dd if="$work/root.part" of="$image" bs=1M seek=$((root_start / 2048)) conv=notrunc,sparse status=none
    dd if="$work/data.part" of="$image" bs=1M seek=$((data_start / 2048)) conv=notrunc,sparse status=none
}

# partition_offset IMAGE N: byte offset and size of partition N ("OFFSET SIZE").
partition_offset() {
    sfdisk -J "$1" | python3 -c '
import json, sys
p = json.load(sys.stdin)["partitiontable"]["partitions"][int(sys.argv[1]) - 1]
print(p["start"] * 512, p["size"] * 512)' "$2"
}

# extract_partition IMAGE N FILE
extract_partition() {
    local off size
    read -r off size < <(partition_offset "$1" "$2")
    dd if="$1" of="$3" bs=1M iflag=skip_bytes,count_bytes skip="$off" count="$size" status=none
}

# write_manifest ROOTFS IMAGE COMPRESSED BINARY: the image's size and
# every package in it.
write_manifest() {
    local rootfs=$1 image=$2 xz=$3 binary=$4
    echo "Warren Raspberry Pi image: $(basename "$xz")"
    echo "warren $version ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown))"
    echo "built $(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ) (source date)"
    echo "image raw $(stat -c %s "$image") bytes, compressed $(stat -c %s "$xz") bytes"
    echo "kernel $(ls "$rootfs/lib/modules" | tr '\n' ' ')"
    echo "warren binary sha256 $(sha256sum "$binary" | cut -d' ' -f1)"
    echo
    echo "Partitions:"
    sfdisk -l -o Device,Start,Sectors,Size,Type "$image" | sed -n '/^Device/,$p' |
        sed "s|^$image|$(basename "$image")|"
    echo
    echo "Packages ($(dpkg-query --admindir="$rootfs/var/lib/dpkg" -W | wc -l)):"
    dpkg-query --admindir="$rootfs/var/lib/dpkg" -W -f '${Package} ${Version} ${Architecture}\n'
}
