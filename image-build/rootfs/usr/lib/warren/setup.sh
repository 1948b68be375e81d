#!/bin/sh
# Prepares the node's data folder before the daemon starts (every boot;
# only the first one has work to do): the folder, its configuration with
# the memory profile of this board, and the node's identity.
set -eu
. /usr/lib/warren/profile.sh
dir=/data/warren
install -d -m 0700 -o warren -g warren "$dir"
if [ ! -e "$dir/warren.toml" ]; then
    sed "s/@PROFILE@/$WARREN_PROFILE/" /etc/warren/warren.toml > "$dir/warren.toml.new"
    chown warren:warren "$dir/warren.toml.new"
    chmod 0600 "$dir/warren.toml.new"
    mv "$dir/warren.toml.new" "$dir/warren.toml"
    echo "warren-setup: configuration written (memory profile $WARREN_PROFILE)"
fi
# Creates the identity (proof of work) on the first boot; prints the
# node's address on every boot.
runuser -u warren -- /usr/bin/warren --data-dir "$dir" init
