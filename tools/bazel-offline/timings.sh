#!/usr/bin/env bash
# tools/bazel-offline/timings.sh [--keep]: measures the offline Bazel from
# scratch, the figures quoted in docs/offline-build.md:
#   set-up + cold `tools/bazel test //...`, then warm no-op reruns.
# It works on a copy of the work tree (the files git tracks or would track,
# i.e. what a fresh clone has, plus uncommitted work) with a state directory
# of its own, both deleted first and, unless --keep, after; the everyday
# state of tools/bazel is not touched. Needs the network the set-up needs
# (Debian mirror, Go module proxy); nothing from earlier runs is reused
# except debootstrap, if already installed on the host.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
base=${POWTCP_TIMINGS_DIR:-/var/cache/powtcp-bazel-timings}
ws=$base/ws
export POWTCP_BAZEL=offline POWTCP_BAZEL_STATE=$base/state

# step NAME CMD...: runs CMD in the copy, prints its wall time.
step() {
  local name=$1 log t0 rc=0; shift
  log=$base/${name//[^a-z]/_}.log
  t0=$EPOCHREALTIME
  (cd "$ws" && "$@") > "$log" 2>&1 || rc=$?
  printf '%-26s %7.1f s   rc=%d  log: %s\n' "$name" \
    "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')" "$rc" "$log"
  return $rc
}
clean() {
  if [ -x "$ws/tools/bazel" ]; then "$ws/tools/bazel" --teardown --purge >/dev/null; fi
  rm -rf "$ws"
}

clean
mkdir -p "$ws"
(cd "$src" && git ls-files -z --cached --others --exclude-standard |
   xargs -0 -I{} sh -c 'test ! -e "$1" || cp --parents -a "$1" "$2"' sh {} "$ws")
echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, $(. /etc/os-release && echo "$PRETTY_NAME")"
step "cold (set-up + test)" tools/bazel test //...
sed -n 's/^=== [0-9:]*  offline Bazel ready in \([0-9]*\)s.*/  of which set-up          \1 s/p' "$base"/cold*.log
step "warm no-op test" tools/bazel test //...
step "warm no-op test, again" tools/bazel test //...
if [ "${1:-}" != --keep ]; then clean; fi
