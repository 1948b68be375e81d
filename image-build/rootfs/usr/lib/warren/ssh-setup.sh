#!/bin/sh
# Before sshd starts (only when SSH is turned on): this box's own host key
# on the data partition, made once; the owner's keys from the boot
# partition, for root.
set -eu
install -d -m 0700 /data/ssh /run/warren-ssh
if [ ! -s /data/ssh/ssh_host_ed25519_key ]; then
    ssh-keygen -q -t ed25519 -N '' -C "warren box" -f /data/ssh/ssh_host_ed25519_key
fi
install -m 0600 /boot/firmware/ssh-authorized-keys /run/warren-ssh/root
