#!/usr/bin/env bash
# Bazel's --workspace_status_command for release builds (.bazelrc:
# --config=release): the keys deploy/BUILD.bazel stamps into the images'
# OCI labels. Bazel runs it from the workspace root. Outside a git checkout
# (or without git) the labels keep their placeholders, and this says so.
set -uo pipefail
if commit=$(git rev-parse HEAD 2>/dev/null); then
  version=$(git describe --tags --always --dirty)
else
  echo "workspace_status.sh: not a git checkout (or no git): unstamped labels" >&2
  commit=unknown-revision version=0.0.0-dev
fi
echo "STABLE_GIT_COMMIT $commit"
echo "STABLE_VERSION $version"
