#!/bin/sh
# Runs one command inside the LibreOffice test chroot (build-lo-chroot.sh)
# the way a program runs on a real trixie machine: /proc, /dev/pts and
# /dev/shm mounted, and this repository bind-mounted read-only at /devlic
# (so the agent's code and its pinned node, /devlic/node_modules/.bin/node,
# run inside). Used by test/enforce/viewer-mode-chroot.test.ts.
#
# The mounts are made in a private mount namespace of this command alone
# (unshare --mount): they are never visible on the host and vanish when the
# command's last process exits, even when a test is killed, so nothing is
# ever left mounted inside the cached chroot (which build-lo-chroot.sh would
# then refuse to delete).
#
# Usage: in-chroot.sh CHROOT REPO COMMAND [ARG...]
# COMMAND runs with an empty environment plus PATH and LANG; pass more with
# /usr/bin/env NAME=VALUE ... as the command.
set -eu
if [ "$#" -lt 3 ]; then
  echo "usage: in-chroot.sh CHROOT REPO COMMAND [ARG...]" >&2; exit 2
fi
if [ "${DEVLIC_IN_CHROOT_NS:-}" != 1 ]; then
  DEVLIC_IN_CHROOT_NS=1 exec unshare --mount --propagation private -- "$0" "$@"
fi
root=$1 repo=$2
shift 2
[ -d "$root/usr/lib/libreoffice" ] || { echo "in-chroot: $root is not the LibreOffice chroot" >&2; exit 2; }
mkdir -p "$root/devlic"
mount -t proc proc "$root/proc"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
mount -t tmpfs -o mode=1777,size=256m tmpfs "$root/dev/shm"
mount --bind "$repo" "$root/devlic"
mount -o remount,bind,ro "$root/devlic"
exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
