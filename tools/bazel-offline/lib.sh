# shellcheck shell=bash disable=SC2034  # (variables used by the scripts sourcing this)
# lib.sh: settings and helpers shared by tools/bazel, setup.sh and teardown.sh.
# Sourced, not run.
#
# Everything the offline Bazel needs lives outside the work tree, in one state
# directory (POWTCP_BAZEL_STATE, default /var/cache/powtcp-bazel):
#   root/    a Debian sid chroot with Debian's bazel-bootstrap (Bazel 7.7.1);
#            its /opt/powtcp-bazel holds rules_go, Gazelle, stand-in modules,
#            the Go SDK and the offline bazelrc (see setup.sh)
#   cache/   Bazel's --output_user_root, bind-mounted into the chroot at the
#            same path, so the bazel-* links in the workspace work outside too
#   done     a fingerprint of the finished set-up, written by setup.sh;
#            part of every workspace's setup key
#   lock     serialises set-up and mounting between concurrent calls

STATE=${POWTCP_BAZEL_STATE:-/var/cache/powtcp-bazel}
ROOT=$STATE/root
CACHE=$STATE/cache
OFF=/opt/powtcp-bazel   # inside the chroot
TOOLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# Go's default install location, in case PATH lacks it (e.g. CI as root).
case :$PATH: in
  *:/usr/local/go/bin:*) ;;
  *) PATH=$PATH:/usr/local/go/bin ;;
esac

log() { printf '=== %s  %s\n' "$(date +%T)" "$*" >&2; }
die() { printf 'tools/bazel: %s\n' "$*" >&2; exit 1; }

# bazel_dep_version NAME: the version of NAME's bazel_dep in MODULE.bazel
# (the one place it is written).
bazel_dep_version() {
  local v
  v=$(sed 's/#.*//' "$TOOLS_DIR/../../MODULE.bazel" |
      sed -nE 's/.*bazel_dep\(name = "'"$1"'", version = "([^"]+)".*/\1/p')
  [ -n "$v" ] && [ "$(wc -l <<<"$v")" = 1 ] || die "MODULE.bazel: expected one bazel_dep(name = \"$1\", version = ...)"
  echo "$v"
}
# What setup.sh takes from the Go module proxy: the rules_go and Gazelle
# versions MODULE.bazel pins (both published in the Bazel Central Registry
# and served by the Go module proxy; tools/check-registry checks the first).
RULES_GO_VERSION=v$(bazel_dep_version rules_go)
GAZELLE_VERSION=v$(bazel_dep_version gazelle)
# Gazelle >= 0.50 keeps part of its code in the nested Go module
# github.com/bazel-contrib/bazel-gazelle/v2 (directory v2/), which the module
# zip of Gazelle leaves out; this is the version Gazelle 0.53.0 requires.
GAZELLE_V2_VERSION=v2.0.0-3
# buildozer, which `bazel mod tidy` runs to fix use_repo: the buildtools
# version Gazelle 0.53.0 itself requires.
BUILDOZER_VERSION=v0.0.0-20250930140053-2eb4fccefb52


# The Go environment variables that reach `go mod download` inside the chroot
# (Gazelle's go_deps fetcher) and that setup.sh uses on the host. Their values
# are read at run time and never written to a file.
GO_NET_VARS=(GOPROXY GOSUMDB GONOSUMDB GOPRIVATE GONOPROXY GOINSECURE)
PROXY_VARS=(http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY)
# Test settings passed through to Bazel too: POWTCP_REQUIRE_REDIS turns a
# missing Redis server into a test failure, the others a missing gate peer,
# promtool or systemd-analyze (.bazelrc's --test_env forwards them to the
# tests).
TEST_VARS=(POWTCP_REQUIRE_REDIS POWTCP_REQUIRE_GATE_PEERS POWTCP_REQUIRE_PROMTOOL POWTCP_REQUIRE_SYSTEMD_ANALYZE)

# go_net_env: prints NAME=VALUE lines for the GO_NET_VARS that are set, in
# the environment or else in Go's configuration (`go env`, which also sees
# `go env -w` settings and Go's defaults).
go_net_env() {
  local vals=() i v
  if command -v go >/dev/null; then mapfile -t vals < <(go env "${GO_NET_VARS[@]}" 2>/dev/null || true); fi
  for i in "${!GO_NET_VARS[@]}"; do
    v=${GO_NET_VARS[$i]}
    v="$v=${!v:-${vals[$i]:-}}"
    if [ -n "${v#*=}" ]; then printf '%s\n' "$v"; fi
  done
}

# go_sdk_version WS: the version of WS/MODULE.bazel's go_sdk.download(...).
go_sdk_version() {
  local vs
  vs=$(sed 's/#.*//' "$1/MODULE.bazel" | tr '\n' ' ' |
       grep -oE 'go_sdk\.download\([^)]*\)' | grep -oE 'version *= *"[^"]+"' |
       sed -E 's/.*"(.*)"/\1/' | sort -u)
  if [ -z "$vs" ] || [ "$(wc -l <<<"$vs")" != 1 ]; then
    die "$1/MODULE.bazel: expected one go_sdk.download(version = \"...\"), found: ${vs:-none}"
  fi
  echo "$vs"
}

# setup_key WS: a fingerprint of everything WS/.bazelrc.offline depends on.
# tools/bazel compares it with the first line of that file and reruns
# setup.sh when it differs, so a change to these scripts, to the Go SDK
# version, or a wiped state directory triggers the set-up again; the check
# costs a few milliseconds.
setup_key() {
  {
    find "$TOOLS_DIR" -type f ! -name '*.md' -print0 | LC_ALL=C sort -z | xargs -0 cat
    sed 's/#.*//' "$1/MODULE.bazel" | tr '\n' ' ' | grep -oE 'go_sdk\.[a-z_]+\([^)]*\)' || true
    echo "$RULES_GO_VERSION $GAZELLE_VERSION"
    grep -E '^[a-z_]+:offline[[:space:]]' "$1/.bazelrc" 2>/dev/null || true
    cat "$STATE/done" 2>/dev/null || echo "no set-up"
  } | sha256sum | cut -c1-16
}

# mnt TARGET MOUNT-ARGS...: mount unless TARGET already is a mount point.
mnt() {
  local t=$1; shift
  mkdir -p "$t"
  mountpoint -q "$t" || mount "$@" "$t"
}

# mount_system: the pseudo file systems the chroot needs.
mount_system() {
  mnt "$ROOT/proc" -t proc proc
  mnt "$ROOT/sys" -t sysfs sysfs
  mnt "$ROOT/dev" --bind /dev
  mnt "$ROOT/dev/pts" --bind /dev/pts
  mnt "$ROOT/dev/shm" -t tmpfs shm
  # Name resolution as on the host (the chroot has no resolver of its own).
  cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
}

# mount_same DIR: bind-mount host DIR into the chroot at the same path. A
# mount left by an earlier run whose DIR was since deleted and made again (CI
# clones afresh into the same path) still shows the old, deleted directory:
# Bazel's client then fails in getcwd(). Such a stale mount is detached first.
mount_same() {
  local t=$ROOT$1
  if mountpoint -q "$t"; then
    if [ "$(stat -c %d:%i "$t")" != "$(stat -c %d:%i "$1")" ] ||
       findmnt -n -o FSROOT --mountpoint "$t" | grep -q '//deleted$'; then
      umount -l "$t"
    fi
  fi
  mnt "$t" --bind "$1"
}

# in_root CMD...: run CMD in the chroot with a clean environment.
in_root() {
  chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# with_lock CMD...: run CMD holding $STATE/lock (set-up, mounting), on file
# descriptor 9. Whatever CMD starts that outlives it (a Bazel server) must
# not inherit that descriptor (close_extra_fds).
with_lock() {
  mkdir -p "$STATE"
  (
    flock 9
    "$@"
  ) 9>"$STATE/lock"
}

# chroot_bazel_cmd CWD ARGS...: sets BAZEL_CMD to the command that runs the
# chroot's Bazel in CWD (a path that is the same inside and outside) with a
# clean environment: only the Go module proxy and HTTP proxy settings of the
# caller pass through, so Gazelle's go_deps fetcher (`go mod download` in a
# repository rule) sees them.
chroot_bazel_cmd() {
  local cwd=$1 line v; shift
  local envs=(HOME=/root USER=root LANG=C.UTF-8 "TERM=${TERM:-dumb}"
              PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
  while IFS= read -r line; do envs+=("$line"); done < <(go_net_env)
  for v in "${PROXY_VARS[@]}" "${TEST_VARS[@]}"; do
    if [ -n "${!v:-}" ]; then envs+=("$v=${!v}"); fi
  done
  BAZEL_CMD=(chroot "$ROOT" /usr/bin/env -i "${envs[@]}" /bin/sh -c 'cd "$1" && shift && exec bazel "$@"'
             sh "$cwd" --output_user_root="$CACHE" "$@")
}

# close_extra_fds: closes the inherited file descriptors above 2 (not bash's
# own 255). Call it before starting Bazel: the server it may start lives on
# for hours and would keep them open, e.g. the write end of a CI log pipe
# (the CI job then never ends) or the set-up lock.
close_extra_fds() {
  local fd
  for fd in "/proc/$BASHPID/fd/"*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ] && [ "$fd" != 255 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}
