"""Offline stand-in for @buildozer//:buildozer_binary.bzl.

bazel_tools declares this module extension; `bazel mod tidy` runs
@buildozer_binary//:buildozer.exe to fix use_repo calls. Here that is the
buildozer tools/bazel-offline/setup.sh builds from its Go module into the
chroot.
"""

_BUILDOZER = "/opt/powtcp-bazel/bin/buildozer"

def _buildozer_binary_repo_impl(rctx):
    rctx.symlink(_BUILDOZER, "buildozer.exe")
    rctx.file("BUILD.bazel", 'exports_files(["buildozer.exe"])\n')

_buildozer_binary_repo = repository_rule(implementation = _buildozer_binary_repo_impl)

def _buildozer_binary_impl(module_ctx):
    _buildozer_binary_repo(name = "buildozer_binary")

buildozer_binary = module_extension(implementation = _buildozer_binary_impl)
