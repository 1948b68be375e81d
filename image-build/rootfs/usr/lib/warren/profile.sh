# The box's memory profile from its RAM, shared by first boot (the node's
# limits.profile) and the unit generator (the daemon's MemoryMax).
# Sets WARREN_PROFILE (small | desktop) and WARREN_MEMORY_MAX.
mem_kib=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
if [ "${mem_kib:-0}" -lt 1572864 ]; then
    # Pi 3 / Zero 2 W class: 512 MB – 1 GB.
    WARREN_PROFILE=small
    WARREN_MEMORY_MAX=256M
else
    # Pi 4 / 5 with 2 GB or more.
    WARREN_PROFILE=desktop
    WARREN_MEMORY_MAX=768M
fi
