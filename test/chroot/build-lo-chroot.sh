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
# Usage: test/chroot/build-lo-chroot.sh [--status] [DIR]
#   DIR defaults to $DEVLIC_LO_CHROOT, else /var/cache/devlic-ci/lo-chroot
#   (outside the clone, so it survives between CI runs on one machine).
#   DEVLIC_DEBIAN_MIRROR overrides the mirror (default http://deb.debian.org/debian).
# Prints the chroot's path on its last line. Needs root and debootstrap.
# --status changes nothing: prints "ready", "missing" or "incomplete" and
# exits 0 only for "ready". Two builds of one DIR at once wait for each
# other (flock on DIR.lock).
set -euo pipefail

STATUS_ONLY=0
if [ "${1:-}" = "--status" ]; then STATUS_ONLY=1; shift; fi

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

stamp_ok() {
  [ -f "$1/$STAMP_NAME" ] && grep -qx "recipe=$RECIPE" "$1/$STAMP_NAME" \
    && grep -q '^libreoffice-core=' "$1/$STAMP_NAME"
}

if [ "$STATUS_ONLY" = 1 ]; then
  if stamp_ok "$DIR"; then echo ready; exit 0; fi
  if [ -e "$DIR" ] || [ -e "$PARTIAL" ]; then echo incomplete; else echo missing; fi
  exit 1
fi

if [ "$(id -u)" != 0 ]; then
  echo "build-lo-chroot: must run as root (debootstrap, chroot)" >&2; exit 2
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
mkdir -p "$(dirname "$DIR")"
exec 9>"$DIR.lock"
flock 9

if stamp_ok "$DIR"; then
  # A build interrupted while this one was in use (e.g. a recipe change
  # that could not finish) leaves DIR.partial: not needed, not trusted.
  if [ -e "$PARTIAL" ] && (refuse_if_mounted "$PARTIAL"); then rm -rf --one-file-system "$PARTIAL"; fi
  echo "build-lo-chroot: reusing $DIR" >&2
  sed 's/^/  /' "$STAMP" >&2
  echo "$DIR"
  exit 0
fi

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

started=$(date +%s)
echo "build-lo-chroot: debootstrap trixie into $PARTIAL from $MIRROR" >&2
# In a mount namespace of its own, like in_chroot below: the mounts
# debootstrap makes in the target go with it, even if it is killed.
unshare --mount --propagation private -- debootstrap --variant=minbase trixie "$PARTIAL" "$MIRROR" >&2

# No daemons may start inside the chroot while packages are installed.
printf '#!/bin/sh\nexit 101\n' > "$PARTIAL/usr/sbin/policy-rc.d"
chmod 0755 "$PARTIAL/usr/sbin/policy-rc.d"
echo "deb $MIRROR trixie-backports main" > "$PARTIAL/etc/apt/sources.list.d/trixie-backports.list"
cp /etc/resolv.conf "$PARTIAL/etc/resolv.conf" 2>/dev/null || true

# /proc for the package scripts, mounted in a private mount namespace: it
# vanishes with the command even if this build is killed, so an interrupted
# build never leaves a mount that would block deleting DIR.partial.
in_chroot() {
  unshare --mount --propagation private -- /bin/sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' \
    "$PARTIAL" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"
}
in_chroot apt-get update -q >&2
in_chroot apt-get install -y -q --no-install-recommends -t trixie-backports "${PACKAGES[@]}" >&2
in_chroot apt-get clean >&2
rm -f "$PARTIAL/usr/sbin/policy-rc.d"

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
