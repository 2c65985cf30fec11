#!/usr/bin/env bash
# tools/bazel-offline/teardown.sh [--purge]   (also: tools/bazel --teardown)
#
# Stops what the offline Bazel left running (its Bazel servers stay up for
# hours between commands, and `tools/bazel run` may have started programs)
# and unmounts what tools/bazel mounted in its chroot. Only processes whose
# root directory is the chroot are stopped, each by its PID.
# --purge then deletes the whole state directory (chroot, caches, logs); the
# next tools/bazel sets everything up again.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
purge=0
case ${1:-} in
  --purge) purge=1 ;;
  "") ;;
  *) die "usage: tools/bazel --teardown [--purge]" ;;
esac
[ -d "$ROOT" ] || { [ $purge = 0 ] || rm -rf "$STATE"; exit 0; }
root=$(readlink -f "$ROOT")

# chroot_pids: PIDs of the processes running inside the chroot.
chroot_pids() {
  local d
  for d in /proc/[0-9]*; do
    if [ "$(readlink "$d/root" 2>/dev/null)" = "$root" ]; then echo "${d#/proc/}"; fi
  done
}

# First ask politely (Bazel servers shut down cleanly on SIGTERM), then, after
# 20 s, insist.
for sig in TERM KILL; do
  pids=$(chroot_pids)
  [ -n "$pids" ] || break
  for pid in $pids; do
    echo "stopping $pid ($sig): $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | cut -c1-70)"
    kill -s "$sig" "$pid" 2>/dev/null || true
  done
  for _ in $(seq 200); do
    [ -n "$(chroot_pids)" ] || break
    sleep 0.1
  done
done
[ -z "$(chroot_pids)" ] || die "processes still running in $root: $(chroot_pids | tr '\n' ' ')"

# Unmount, deepest mount point first (also what an interrupted debootstrap
# may have left in root.tmp).
grep -F " $(readlink -f "$STATE")/" /proc/mounts | awk '{ print $2 }' | sort -r | while read -r m; do
  umount "$m" || umount -l "$m"
done

if [ $purge = 1 ]; then
  # Never delete through a mount point (the host's /dev, the workspace).
  if grep -qF " $(readlink -f "$STATE")/" /proc/mounts; then
    die "still mounted under $STATE; not deleting"
  fi
  rm -rf "$STATE"
  echo "deleted $STATE"
fi
