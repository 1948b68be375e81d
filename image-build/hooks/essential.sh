#!/bin/sh
# mmdebstrap essential hook: runs before the image's packages are
# installed. Diverts update-initramfs so that installing the kernel does
# not build an initramfs under emulation; customize.sh builds it once.
set -eu
root=$1
chroot "$root" dpkg-divert --quiet --local --rename \
    --divert /usr/sbin/update-initramfs.warren --add /usr/sbin/update-initramfs
printf '#!/bin/sh\n# The image build makes the initramfs once, at the end.\nexit 0\n' \
    >"$root/usr/sbin/update-initramfs"
chmod 0755 "$root/usr/sbin/update-initramfs"
