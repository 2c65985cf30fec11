#!/usr/bin/env bash
# tools/bazel-offline/setup.sh [WORKSPACE]
#
# Makes the offline Bazel that tools/bazel runs when no Bazel >= 7.1 is
# installed, on a Debian host whose only network access is its Debian mirror
# and the Go module proxy. tools/bazel calls it when needed; running it by hand
# is fine too. Idempotent: what is done is skipped (a rerun takes seconds).
#
#   1. A Debian sid chroot ($STATE/root, see lib.sh) with sid's
#      bazel-bootstrap (Bazel 7.7.1 needs sid's glibc and Java libraries, so
#      it cannot be installed on bookworm itself), a C compiler for rules_cc,
#      and hashcash (an interop test runs it when it is on PATH).
#   2. rules_go and Gazelle from the Go module proxy, as the Go modules they
#      are; Debian's packaged Bazel modules (/etc/bazel/bazelrc of the chroot)
#      cover platforms, rules_cc, rules_java, bazel_skylib, ...; stand-ins for
#      the few modules nobody here provides, needed only for resolution.
#   3. The Go SDK that MODULE.bazel's go_sdk.download(version = ...) names,
#      taken from the Go module proxy as GOTOOLCHAIN takes it, laid out as
#      rules_go's repository rule would have (make_go_sdk.py).
#   4. WORKSPACE/.bazelrc.offline (git-ignored; the committed .bazelrc
#      try-imports it): module overrides, the SDK swapped in with
#      --override_repository, Bazel's downloader blocked, --config=offline.
#
# No host name is written anywhere: the Debian mirror is the one this host's
# apt uses for its own release (DEBIAN_MIRROR overrides it), the Go module
# proxy is `go env GOPROXY`, passed to Bazel through the environment.
# Needs root, and Go on the host (for `go mod download`).
set -Eeuo pipefail
trap 'echo "setup.sh: line $LINENO failed: $BASH_COMMAND" >&2' ERR
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WS=$(cd "${1:-$TOOLS_DIR/../..}" && pwd -P)
[ -e "$WS/MODULE.bazel" ] || die "$WS is not a Bazel workspace (no MODULE.bazel)"
[ "$(id -u)" = 0 ] || die "the offline set-up needs root (chroot, mount)"
command -v go >/dev/null || die "the offline set-up needs Go on the host (go mod download)"

# One set-up at a time (tools/bazel already holds the lock when it calls us).
mkdir -p "$STATE"
if [ -z "${POWTCP_BAZEL_LOCKED:-}" ]; then
  exec 9>"$STATE/lock"
  flock 9
  export POWTCP_BAZEL_LOCKED=1
fi
t_start=$SECONDS
O=$ROOT$OFF   # host path of the chroot's /opt/powtcp-bazel

# The chroot's packages. gcc and libc6-dev: rules_cc's auto-configured C
# toolchain (cgo); bazel-rules-shell: rules_shell, which rules_go and Gazelle
# depend on; python3-minimal: make_go_sdk.py; hashcash: interop test; git:
# deploy/workspace_status.sh, so --config=release stamps real labels;
# valkey-server: the shared spent store's tests (internal/redistest);
# valkey-sentinel: its failover test (redistest.StartSentinelSet);
# valkey-tools (valkey-cli), openssh-server and openssh-client: the real
# programs the gate's end-to-end tests run through it (e2e/gate_test.go);
# prometheus (promtool): the alerting rules' tests (deploy/monitoring);
# systemd (systemd-analyze): the unit's test (deploy/systemd).
PACKAGES=(bazel-bootstrap bazel-rules-shell gcc libc6-dev python3-minimal ca-certificates hashcash git valkey-server
  valkey-sentinel valkey-tools openssh-server openssh-client prometheus systemd)

# --- Go modules, fetched in the background while the chroot is made ----------
# A private module cache outside the chroot; -modcacherw so it can be deleted.
export GOMODCACHE=$STATE/gomodcache GOFLAGS=-modcacherw GOTOOLCHAIN=local
GOHOSTOS=$(go env GOHOSTOS)
GOHOSTARCH=$(go env GOHOSTARCH)
GO_VERSION=$(go_sdk_version "$WS")
TOOLCHAIN_MOD=golang.org/toolchain@v0.0.1-go$GO_VERSION.$GOHOSTOS-$GOHOSTARCH
mkdir -p "$STATE/logs"
download() { # download NAME MODULE@VERSION: go mod download -json > logs/NAME.json
  (cd "$STATE" && go mod download -json "$2") > "$STATE/logs/$1.json" 2>&1
}
# The module's directory (or zip) from the JSON that download wrote.
json_field() { sed -n 's/^\t"'"$2"'": "\(.*\)",\{0,1\}$/\1/p' "$STATE/logs/$1.json"; }
fetch_pids=()
for spec in "rules_go github.com/bazelbuild/rules_go@$RULES_GO_VERSION" \
            "gazelle github.com/bazelbuild/bazel-gazelle@$GAZELLE_VERSION" \
            "gazelle_v2 github.com/bazel-contrib/bazel-gazelle/v2@$GAZELLE_V2_VERSION" \
            "go_sdk $TOOLCHAIN_MOD"; do
  # shellcheck disable=SC2086
  download $spec & fetch_pids+=($!)
done
# buildozer (for `bazel mod tidy`), built from its Go module.
BUILDOZER=$STATE/bin/buildozer-$BUILDOZER_VERSION
if [ ! -x "$BUILDOZER" ]; then
  (GOBIN=$STATE/bin.tmp CGO_ENABLED=0 GOCACHE=$STATE/gocache \
     go install "github.com/bazelbuild/buildtools/buildozer@$BUILDOZER_VERSION" &&
   mkdir -p "$STATE/bin" && mv "$STATE/bin.tmp/buildozer" "$BUILDOZER" && rmdir "$STATE/bin.tmp") \
    > "$STATE/logs/buildozer.log" 2>&1 &
  fetch_pids+=($!)
fi
wait_downloads() {
  local pid ok=1
  for pid in "${fetch_pids[@]}"; do wait "$pid" || ok=0; done
  if [ $ok = 0 ]; then
    cat "$STATE"/logs/{rules_go,gazelle,gazelle_v2,go_sdk}.json "$STATE/logs/buildozer.log" >&2
    die "go mod download failed (see above; is the Go module proxy reachable? go env GOPROXY: $(go env GOPROXY))"
  fi
}

# --- 1. The Debian sid chroot ---------------------------------------------------
# The Debian mirror this host's apt uses for its own release (deb822 .sources
# and one-line .list files alike: apt itself parses them).
debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local codename
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)' 'Created-By: Packages' |
    awk -v rel="$codename" '$2 == rel && $3 == "deb" { sub("/+$", "", $1); print $1; exit }'
}

# no_mounts_under DIR: fails if anything is mounted below DIR (so that a
# `rm -rf` can never reach the host's /dev or the workspace).
no_mounts_under() {
  ! grep -qF " $(readlink -f "$1")/" /proc/mounts
}

if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap on the host"
    apt-get update -qq
    apt-get install -y -qq debootstrap >/dev/null
  fi
  mirror=$(debian_mirror)
  [ -n "$mirror" ] || die "cannot find this host's Debian mirror in its apt sources; set DEBIAN_MIRROR"
  log "debootstrap sid into $ROOT (from this host's Debian mirror)"
  # Made aside and renamed at the end, so an interrupted run starts over.
  no_mounts_under "$ROOT.tmp" || die "something is mounted under $ROOT.tmp; run tools/bazel --teardown"
  rm -rf "$ROOT.tmp"
  debootstrap --variant=minbase sid "$ROOT.tmp" "$mirror" > "$STATE/logs/debootstrap.log" 2>&1 ||
    { tail -n 20 "$STATE/logs/debootstrap.log" >&2; die "debootstrap failed (log: $STATE/logs/debootstrap.log)"; }
  mv "$ROOT.tmp" "$ROOT"
fi
mount_system

# The sid snapshot a mirror serves may be past its Release file's Valid-Until.
cat > "$ROOT/etc/apt/apt.conf.d/90powtcp" <<'EOF'
Acquire::Check-Valid-Until "false";
APT::Install-Recommends "false";
EOF
# No fsync for every unpacked file: a crash mid-install just means setting
# up again (halves the time dpkg takes here).
echo force-unsafe-io > "$ROOT/etc/dpkg/dpkg.cfg.d/90powtcp-unsafe-io"
# Trust the host's extra CAs too (e.g. those of a TLS-inspecting egress
# proxy): `go mod download` in go_deps and Bazel's Java use the chroot's store.
mkdir -p "$ROOT/usr/local/share/ca-certificates"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
fi

if [ "$(cat "$ROOT/var/lib/powtcp-packages" 2>/dev/null)" != "${PACKAGES[*]}" ]; then
  log "installing ${PACKAGES[*]} in the chroot"
  # No package may start a service in the chroot (openssh-server would).
  printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
  chmod 755 "$ROOT/usr/sbin/policy-rc.d"
  in_root apt-get update -qq
  in_root apt-get install -y -qq "${PACKAGES[@]}" > "$STATE/logs/apt.log" 2>&1 ||
    { tail -n 20 "$STATE/logs/apt.log" >&2; die "apt-get install failed in the chroot (log: $STATE/logs/apt.log)"; }
  in_root apt-get clean
  echo "${PACKAGES[*]}" > "$ROOT/var/lib/powtcp-packages"
fi
# sshd, run by root in the gate's tests, wants its privilege separation
# directory, which a booted system makes at start.
mkdir -p "$ROOT/run/sshd"
in_root update-ca-certificates >/dev/null 2>&1
bazel_version=$(in_root bazel --version)
log "chroot ready: $bazel_version"
wait_downloads

# --- 2. rules_go and Gazelle from the Go module proxy --------------------------
mkdir -p "$O/modules" "$O/stubs" "$O/registry" "$O/go_sdk"

# copy_module SRC NAME: SRC (a module cache directory) to modules/NAME.
copy_module() {
  local src=$1 dst=$O/modules/$2
  rm -rf "$dst.tmp"
  cp -a "$src" "$dst.tmp"
  # Go module zips keep no file modes: give scripts (#! files) back their +x.
  # (grep -l lists files with a #! line anywhere; head checks it is the first.)
  { grep -rlZ -m1 '^#!' "$dst.tmp" || true; } |
    while IFS= read -r -d '' f; do
      if [ "$(head -c2 "$f")" = '#!' ]; then chmod +x "$f"; fi
    done
  rm -rf "$dst"
  mv "$dst.tmp" "$dst"
}

if [ ! -e "$O/modules/rules_go/.powtcp-$RULES_GO_VERSION" ]; then
  log "rules_go $RULES_GO_VERSION from the Go module proxy"
  copy_module "$(json_field rules_go Dir)" rules_go
  touch "$O/modules/rules_go/.powtcp-$RULES_GO_VERSION"
fi
if [ ! -e "$O/modules/gazelle/.powtcp-$GAZELLE_VERSION-$GAZELLE_V2_VERSION" ]; then
  log "Gazelle $GAZELLE_VERSION (and its nested v2 module $GAZELLE_V2_VERSION) from the Go module proxy"
  copy_module "$(json_field gazelle Dir)" gazelle
  # Gazelle's Bazel module builds its tools from its own tree, v2/ included
  # (internal/go_repository_tools_srcs.bzl lists v2's files, go.sum too: empty
  # in the git tree, as v2 requires nothing, and absent from the zip).
  grep -q '\./v2' "$O/modules/gazelle/go.work" ||
    die "Gazelle $GAZELLE_VERSION has no ./v2 in go.work any more; update setup.sh"
  cp -a "$(json_field gazelle_v2 Dir)" "$O/modules/gazelle/v2"
  [ -e "$O/modules/gazelle/v2/go.sum" ] || : > "$O/modules/gazelle/v2/go.sum"
  touch "$O/modules/gazelle/.powtcp-$GAZELLE_VERSION-$GAZELLE_V2_VERSION"
fi

# --- 3. Modules Debian does not provide (well enough) -------------------------
# bazel_features: Debian's is 1.11.0; rules_go >= 0.64 also reads
# bazel_features.rules.instrumented_files_info_has_baseline_coverage_files
# (a Bazel 9 feature, so False for Bazel 7).
F=$O/modules/bazel_features
rm -rf "$F"
cp -a "$ROOT/usr/share/bazel/tools/features" "$F"
anchor='    permits_treeartifact_uplevel_symlinks = ge("7.1.0"),'
grep -qF "$anchor" "$F/features.bzl" || die "Debian's bazel_features changed (no '$anchor'); update setup.sh"
if ! grep -q instrumented_files_info_has_baseline_coverage_files "$F/features.bzl"; then
  sed -i "/^${anchor//\//\\/}\$/a\\
    # Added by powtcp's tools/bazel-offline (read by rules_go >= 0.64).\\
    instrumented_files_info_has_baseline_coverage_files = False," "$F/features.bzl"
fi
grep -q 'instrumented_files_info_has_baseline_coverage_files = False' "$F/features.bzl" ||
  die "patching bazel_features failed"

# package_metadata (bazel-contrib/supply-chain): rules_go uses its provider,
# and every repository go_deps generates declares default package metadata.
# (Their BUILD files are written here, so that the work tree has no packages
# of theirs.)
rm -rf "$O/modules/package_metadata"
cp -a "$TOOLS_DIR/stubs/package_metadata" "$O/modules/"
: > "$O/modules/package_metadata/BUILD.bazel"
echo 'exports_files(["package_metadata_info.bzl"])' > "$O/modules/package_metadata/providers/BUILD.bazel"
echo 'exports_files(["package_metadata.bzl"])' > "$O/modules/package_metadata/rules/BUILD.bazel"

# Resolution-only stand-ins: in the module graph (bazel_tools, rules_go,
# Gazelle and Debian's rules_python depend on them) but nothing of theirs is
# loaded when building and testing Go code. buildozer's module extension,
# which bazel_tools declares and `bazel mod` evaluates, provides the
# buildozer built above, so `bazel mod tidy` works.
rm -rf "$O/stubs"
mkdir -p "$O/stubs"
for m in protobuf:29.0 zlib:1.3.1.bcr.3 buildozer:7.1.2 apple_support:1.23.1; do
  n=${m%%:*} v=${m#*:}
  mkdir -p "$O/stubs/$n"
  printf 'module(name = "%s", version = "%s")\n# Offline stand-in: satisfies module resolution only; nothing in it is used.\n' \
    "$n" "$v" > "$O/stubs/$n/MODULE.bazel"
  : > "$O/stubs/$n/BUILD.bazel"
done
cp "$TOOLS_DIR/stubs/buildozer_binary.bzl" "$O/stubs/buildozer/"
mkdir -p "$O/bin"
cp "$BUILDOZER" "$O/bin/buildozer"

# --- 4. The Go SDK --------------------------------------------------------------
# golang.org/toolchain@v0.0.1-goX.Y.Z.OS-ARCH is the very archive that
# GOTOOLCHAIN=goX.Y.Z downloads (checked by `go mod download` against the Go
# checksum database); make_go_sdk.py adds what rules_go's repository rule
# writes, from rules_go's own template.
SDK=$OFF/go_sdk/go$GO_VERSION.$GOHOSTOS-$GOHOSTARCH
if [ ! -e "$ROOT$SDK/.powtcp-rules_go-$RULES_GO_VERSION" ]; then
  log "Go $GO_VERSION SDK ($TOOLCHAIN_MOD) from the Go module proxy"
  zip=$(json_field go_sdk Zip)
  [ -f "$zip" ] || die "no zip for $TOOLCHAIN_MOD: $(cat "$STATE/logs/go_sdk.json")"
  cp "$TOOLS_DIR/make_go_sdk.py" "$zip" "$ROOT/tmp/"
  in_root python3 /tmp/make_go_sdk.py "/tmp/$(basename "$zip")" "$OFF/modules/rules_go" "$SDK" \
    "$GOHOSTOS" "$GOHOSTARCH" "$GO_VERSION"
  rm -f "$ROOT/tmp/make_go_sdk.py" "$ROOT/tmp/$(basename "$zip")"
  touch "$ROOT$SDK/.powtcp-rules_go-$RULES_GO_VERSION"
fi

# --- 5. The offline bazelrc -------------------------------------------------------
# Bazel's own downloader has nothing to fetch offline: all Bazel modules come
# from the overrides below, and the Go modules go_deps needs are fetched by
# Gazelle's fetch_repo with `go mod download`. Blocking it makes any attempt
# fail at once and say why (rules_go's look-up of the Go release list, which
# it tolerates failing, then costs nothing).
cat > "$O/downloader.cfg" <<'EOF'
all_blocked_message Offline Bazel (tools/bazel-offline): Bazel's downloader is disabled. Provide this input as a local override (tools/bazel-offline/setup.sh).
block *
EOF
cat > "$O/bazelrc" <<EOF
# Offline module overrides for Debian sid's bazel-bootstrap ($bazel_version).
# Debian's /etc/bazel/bazelrc already overrides platforms, rules_java,
# rules_cc, bazel_features, bazel_skylib, rules_license, rules_python and
# rules_proto with the modules under /usr/share/bazel.
# An empty local registry: a module that is not overridden fails fast, and
# says which, instead of reaching for the Bazel Central Registry.
common --registry=file://$OFF/registry
# Debian's bazelrc turns on --sandbox_debug, which keeps every sandbox
# directory (hundreds of MiB per build).
build --nosandbox_debug
# A MODULE.bazel.lock would describe the online module graph.
common --lockfile_mode=off
common --experimental_downloader_config=$OFF/downloader.cfg
common --override_module=rules_go=$OFF/modules/rules_go
common --override_module=gazelle=$OFF/modules/gazelle
common --override_module=rules_shell=/usr/share/bazel/rules/shell
common --override_module=bazel_features=$OFF/modules/bazel_features
common --override_module=package_metadata=$OFF/modules/package_metadata
common --override_module=protobuf=$OFF/stubs/protobuf
common --override_module=zlib=$OFF/stubs/zlib
common --override_module=buildozer=$OFF/stubs/buildozer
common --override_module=apple_support=$OFF/stubs/apple_support
# go_deps' fetcher runs \`go mod download\`: hand it the Go module proxy
# settings of the caller's environment (tools/bazel passes them in; the
# values are never written down).
$(for v in "${GO_NET_VARS[@]}"; do echo "common --repo_env=$v"; done)
EOF
# What the workspaces' setup keys depend on (lib.sh): the same set-up gives
# the same content, so several workspaces sharing this state (e.g. git
# worktrees) do not make each other set up again.
{ cat "$O/bazelrc" "$O/downloader.cfg"; ls "$O"/modules/*/.powtcp-* "$ROOT$SDK"/.powtcp-* "$BUILDOZER"; } |
  sha256sum | cut -c1-16 > "$STATE/done"

# --- 6. The workspace's .bazelrc.offline ------------------------------------------
# The project's offline configuration (committed .bazelrc), if any: leaves out
# what needs the dev-only modules the offline graph lacks (rules_oci, //deploy).
offline_config=()
if grep -Eq '^[a-z_]+:offline[[:space:]]' "$WS/.bazelrc" 2>/dev/null; then
  offline_config=(--config=offline)
fi

# The canonical name of the SDK repository rules_go made for this host from
# go_sdk.download (rules_go~~go_sdk~main___download_0_linux_amd64 in Bazel 7),
# asked from Bazel rather than assumed, so it follows rules_go's naming,
# Bazel's canonical-name format and the tags in MODULE.bazel: rules_go's
# //go/tools/bazel_testing package refers to that SDK's ROOT file by it.
# Loading that package needs neither the SDK nor the network. The answer is
# kept for as long as what it depends on stays the same, so a set-up that
# runs again (say, for a new version of these scripts) does not wait for
# the Bazel server to finish a long command first.
sdk_id=$({ echo "$RULES_GO_VERSION $bazel_version"
           sed 's/#.*//' "$WS/MODULE.bazel" | tr '\n' ' ' | grep -oE '(module|go_sdk\.[a-z_]+)\([^)]*\)'
         } | sha256sum | cut -c1-16)
if [ -s "$STATE/sdk-repo-$sdk_id" ]; then
  sdk_repo=$(cat "$STATE/sdk-repo-$sdk_id")
else
  mount_same "$WS"
  mkdir -p "$CACHE"
  mount_same "$CACHE"
  # The offline options go on the command line: the workspace's
  # .bazelrc.offline, which Bazel commands running meanwhile may read, is only
  # replaced when complete.
  mapfile -t flags < <(sed -n 's/^common //p' "$O/bazelrc")
  chroot_bazel_cmd "$WS" query "${flags[@]}" "${offline_config[@]}" \
    --output=build '@rules_go//go/tools/bazel_testing:all'
  # (The Bazel server this starts lives on: it must not keep the lock.)
  if ! out=$(close_extra_fds; exec "${BAZEL_CMD[@]}" 2>"$STATE/logs/sdk-query.log"); then
    tail -n 30 "$STATE/logs/sdk-query.log" >&2
    die "bazel query of rules_go failed (see above)"
  fi
  sdk_repo=$(sed -n 's|.*"@@\([^"/]*\)//:host_compatible_root_file".*|\1|p' <<<"$out" | head -n1)
  [ -n "$sdk_repo" ] || die "cannot find the Go SDK repository in rules_go's bazel_testing package; update setup.sh"
  echo "$sdk_repo" > "$STATE/sdk-repo-$sdk_id"
fi

RC=$WS/.bazelrc.offline
{
  # tools/bazel reads this first line to tell whether to set up again.
  echo "# setup key: $(setup_key "$WS")"
  echo "# Generated by tools/bazel-offline/setup.sh for the offline Bazel in $ROOT; do not edit."
  cat "$O/bazelrc"
  if [ ${#offline_config[@]} -gt 0 ]; then echo "common ${offline_config[*]}"; fi
  echo "# The Go SDK of go_sdk.download(version = \"$GO_VERSION\"), from the Go module proxy."
  echo "common --override_repository=$sdk_repo=$SDK"
} > "$RC.tmp"
mv "$RC.tmp" "$RC"
log "offline Bazel ready in $((SECONDS - t_start))s; wrote $RC (Go SDK: @@$sdk_repo)"
