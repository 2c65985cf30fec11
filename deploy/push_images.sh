#!/usr/bin/env bash
# push_images.sh [--default-registry=PREFIX] [--registry=PREFIX] [--tag=TAG]... [CRANE_FLAG]... NAME=PUSH:DIGEST...
#
# What `bazel run //:push_images` runs (deploy/BUILD.bazel). For each
# NAME=PUSH:DIGEST (runfiles paths of an oci_push script and of its index's
# digest file) it pushes the image index to PREFIX/NAME, tags it, and prints
# "PREFIX/NAME@sha256:..." on stdout, one line per image.
#
#   --registry=PREFIX  repository prefix, e.g. 127.0.0.1:5000/powtcp (also:
#                      $REGISTRY); default: BUILD.bazel's --default-registry
#   --tag=TAG          an extra tag (repeatable) besides the push's own
#   other --flags      passed to every oci_push (e.g. --insecure)

# --- begin runfiles.bash initialization v3 ---
# Copy-pasted from the Bazel Bash runfiles library v3.
set -uo pipefail; set +e; f=bazel_tools/tools/bash/runfiles/runfiles.bash
# shellcheck disable=SC1090
source "${RUNFILES_DIR:-/dev/null}/$f" 2>/dev/null || \
  source "$(grep -sm1 "^$f " "${RUNFILES_MANIFEST_FILE:-/dev/null}" | cut -f2- -d' ')" 2>/dev/null || \
  source "$0.runfiles/$f" 2>/dev/null || \
  source "$(grep -sm1 "^$f " "$0.runfiles_manifest" | cut -f2- -d' ')" 2>/dev/null || \
  source "$(grep -sm1 "^$f " "$0.exe.runfiles_manifest" | cut -f2- -d' ')" 2>/dev/null || \
  { echo>&2 "ERROR: cannot find $f"; exit 1; }; f=; set -e
# --- end runfiles.bash initialization v3 ---

usage() {
  echo "usage: $0 [--registry=PREFIX] [--tag=TAG]... [CRANE_FLAG]... NAME=PUSH:DIGEST..." >&2
  exit 2
}

# The oci_push scripts find their own runfiles (crane, jq, the image) through
# these variables.
runfiles_export_envvars

default_registry=
flag_registry=
images=()
push_args=()
for arg in "$@"; do
  case $arg in
    --default-registry=*) default_registry=${arg#--default-registry=} ;;
    --registry=*) flag_registry=${arg#--registry=} ;;
    --tag=*) push_args+=(--tag "${arg#--tag=}") ;;
    -*) push_args+=("$arg") ;;
    *=*:*) images+=("$arg") ;;
    *) usage ;;
  esac
done
# --registry beats $REGISTRY, which beats BUILD.bazel's --default-registry.
registry=${flag_registry:-${REGISTRY:-$default_registry}}
[ -n "$registry" ] && [ ${#images[@]} -gt 0 ] || usage

pushed=()
for spec in "${images[@]}"; do
  name=${spec%%=*}
  paths=${spec#*=}
  push=$(rlocation "${paths%%:*}")
  digest=$(tr -d '[:space:]' <"$(rlocation "${paths#*:}")")
  repository=${registry%/}/$name
  echo "== pushing $name to $repository" >&2
  # crane's own output goes to stderr: stdout is the digest list below.
  "$push" --repository "$repository" ${push_args[@]+"${push_args[@]}"} >&2
  pushed+=("$repository@$digest")
done
printf '%s\n' "${pushed[@]}"
