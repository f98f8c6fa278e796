#!/usr/bin/env bash
# Builds (or reuses) a Debian trixie chroot with LibreOffice from
# trixie-backports, the first Debian LibreOffice with ViewerAppMode. The
# viewer-mode test (test/enforce/viewer-mode-chroot.test.ts) runs the real
# agent enforcer and a real soffice inside it; .ci/run calls this before
# `npm test` because a build (~6.5 min, ~1 GB) is far too slow for a test.
#
# Cached: a finished chroot carries a stamp file (recipe version + package
# versions) and is reused as is. The build happens in DIR.partial and is
# renamed to DIR only after the stamp is written, so an interrupted build is
# never mistaken for a finished one; a leftover DIR.partial, or a DIR without
# a valid stamp, is deleted and rebuilt.
#
# Usage: test/chroot/build-lo-chroot.sh [DIR]
#   DIR defaults to $DEVLIC_LO_CHROOT, else /var/cache/devlic-ci/lo-chroot
#   (outside the clone, so it survives between CI runs on one machine).
#   DEVLIC_DEBIAN_MIRROR overrides the mirror (default http://deb.debian.org/debian).
# Prints the chroot's path on its last line. Needs root and debootstrap.
set -euo pipefail

# Bump when the recipe below changes: a chroot with another recipe is rebuilt.
RECIPE=1
PACKAGES=(libreoffice-core python3-uno libreoffice-writer)
STAMP_NAME=.devlic-lo-chroot-stamp

DIR="${1:-${DEVLIC_LO_CHROOT:-/var/cache/devlic-ci/lo-chroot}}"
MIRROR="${DEVLIC_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
case "$DIR" in
  /*) ;;
  *) echo "build-lo-chroot: DIR must be an absolute path, got '$DIR'" >&2; exit 2 ;;
esac
DIR="${DIR%/}"
if [ "$DIR" = "" ] || [ "$DIR" = "/" ]; then
  echo "build-lo-chroot: refusing to use / as the chroot" >&2; exit 2
fi
PARTIAL="$DIR.partial"
STAMP="$DIR/$STAMP_NAME"

if [ "$(id -u)" != 0 ]; then
  echo "build-lo-chroot: must run as root (debootstrap, chroot)" >&2; exit 2
fi

stamp_ok() {
  [ -f "$1/$STAMP_NAME" ] && grep -qx "recipe=$RECIPE" "$1/$STAMP_NAME" \
    && grep -q '^libreoffice-core=' "$1/$STAMP_NAME"
}

if stamp_ok "$DIR"; then
  echo "build-lo-chroot: reusing $DIR" >&2
  sed 's/^/  /' "$STAMP" >&2
  echo "$DIR"
  exit 0
fi

# Deleting a tree that still has something mounted in it would delete the
# host's files through the mount (a bind-mounted repo, /dev): refuse instead.
refuse_if_mounted() {
  if awk -v d="$1" '$2 == d || index($2, d "/") == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
    echo "build-lo-chroot: something is still mounted under $1; unmount it first:" >&2
    awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print "  " $2 }' /proc/self/mounts >&2
    exit 3
  fi
}
for d in "$DIR" "$PARTIAL"; do
  if [ -e "$d" ]; then
    refuse_if_mounted "$d"
    echo "build-lo-chroot: removing incomplete $d" >&2
    rm -rf --one-file-system "$d"
  fi
done

command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || {
  echo "build-lo-chroot: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 2
}
PATH="$PATH:/usr/sbin:/sbin"

mkdir -p "$(dirname "$DIR")"
started=$(date +%s)
echo "build-lo-chroot: debootstrap trixie into $PARTIAL from $MIRROR" >&2
debootstrap --variant=minbase trixie "$PARTIAL" "$MIRROR" >&2

cleanup_mounts() {
  umount "$PARTIAL/proc" 2>/dev/null || true
}
trap cleanup_mounts EXIT
mount -t proc proc "$PARTIAL/proc"

# No daemons may start inside the chroot while packages are installed.
printf '#!/bin/sh\nexit 101\n' > "$PARTIAL/usr/sbin/policy-rc.d"
chmod 0755 "$PARTIAL/usr/sbin/policy-rc.d"
echo "deb $MIRROR trixie-backports main" > "$PARTIAL/etc/apt/sources.list.d/trixie-backports.list"
cp /etc/resolv.conf "$PARTIAL/etc/resolv.conf" 2>/dev/null || true

in_chroot() { chroot "$PARTIAL" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"; }
in_chroot apt-get update -q >&2
in_chroot apt-get install -y -q --no-install-recommends -t trixie-backports "${PACKAGES[@]}" >&2
in_chroot apt-get clean >&2
rm -f "$PARTIAL/usr/sbin/policy-rc.d"

umount "$PARTIAL/proc"
trap - EXIT

{
  echo "recipe=$RECIPE"
  echo "mirror=$MIRROR"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "seconds=$(( $(date +%s) - started ))"
  in_chroot dpkg-query -W -f='${Package}=${Version}\n' "${PACKAGES[@]}"
} > "$PARTIAL/$STAMP_NAME"
mv "$PARTIAL" "$DIR"
echo "build-lo-chroot: built $DIR in $(( $(date +%s) - started ))s ($(du -sh --one-file-system "$DIR" | cut -f1))" >&2
sed 's/^/  /' "$STAMP" >&2
echo "$DIR"
