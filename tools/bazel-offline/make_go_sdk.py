#!/usr/bin/env python3
"""make_go_sdk.py ZIP RULES_GO_DIR OUTDIR GOOS GOARCH VERSION

Turns a golang.org/toolchain module zip (the archive `GOTOOLCHAIN=goVERSION`
downloads from the Go module proxy; `go mod download` has checked it against
the checksum database) into a directory that can replace the repository
rules_go's go_sdk.download(version = VERSION) generates, via Bazel's
--override_repository: the SDK files plus what rules_go's _sdk_build_file()
writes (ROOT, version.bzl and BUILD.bazel from rules_go's own
go/private/BUILD.sdk.bazel template, filled in the same way), and an empty
REPO.bazel, which --override_repository requires.

Fails loudly if the rules_go in RULES_GO_DIR fills the template differently
from what this script knows, so a rules_go upgrade cannot silently produce a
wrong BUILD file.

tools/bazel-offline/setup.sh runs it inside the chroot, with sid's python3.
"""
import os
import re
import shutil
import sys
import zipfile

zip_path, rules_go, out, goos, goarch, version = sys.argv[1:7]

# --- how rules_go's _sdk_build_file() works (checked before any work) -------
sdk_bzl = open(os.path.join(rules_go, "go/private/sdk.bzl")).read()
m = re.search(r"\ndef _sdk_build_file\(.*?\n(?=def )", sdk_bzl, re.S)
if not m:
    sys.exit("rules_go: no _sdk_build_file() in go/private/sdk.bzl; update " + sys.argv[0])
body = m.group(0)
keys = set(re.findall(r'"\{(\w+)\}":', body))
known = {"goos", "goarch", "exe", "version", "experiments", "exec_compatible_with"}
files = set(re.findall(r'ctx\.file\(\s*"([^"]+)"', body)) | set(re.findall(r'ctx\.template\(\s*"([^"]+)"', body))
if keys != known or files != {"ROOT", "BUILD.bazel", "version.bzl"}:
    sys.exit("rules_go's _sdk_build_file() changed (substitutions %s, files %s); update %s"
             % (sorted(keys), sorted(files), sys.argv[0]))

platforms_bzl = open(os.path.join(rules_go, "go/private/platforms.bzl")).read()

def constraints(table):
    body = re.search(table + r" = \{(.*?)\n\}", platforms_bzl, re.S).group(1)
    return dict(re.findall(r'"([^"]+)": "([^"]+)"', body))

subs = {
    "{goos}": goos,
    "{goarch}": goarch,
    "{exe}": ".exe" if goos == "windows" else "",
    "{version}": version,
    "{experiments}": "[]",
    "{exec_compatible_with}": '["%s", "%s"]' % (
        constraints("BAZEL_GOARCH_CONSTRAINTS")[goarch],
        constraints("BAZEL_GOOS_CONSTRAINTS")[goos],
    ),
}

# --- the SDK files -----------------------------------------------------------
tmp = out + ".tmp"
shutil.rmtree(tmp, ignore_errors=True)
os.makedirs(tmp)
prefix = None
with zipfile.ZipFile(zip_path) as z:
    for info in z.infolist():
        # Entries are "golang.org/toolchain@v0.0.1-goVERSION.GOOS-GOARCH/<path>".
        cut = info.filename.index("/", info.filename.index("@"))
        top, rel = info.filename[:cut], info.filename[cut + 1:]
        prefix = prefix or top
        if top != prefix:
            sys.exit("unexpected zip entry " + info.filename)
        if not rel or rel.endswith("/"):
            continue
        dst = os.path.join(tmp, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with z.open(info) as src, open(dst, "wb") as f:
            shutil.copyfileobj(src, f)
        mode = (info.external_attr >> 16) & 0o777
        os.chmod(dst, mode or 0o644)
# The toolchain zips carry file modes; make sure anyway that the go command
# and the compiler tools are executable (cmd/go does the same after download).
for d in ("bin", os.path.join("pkg", "tool", goos + "_" + goarch)):
    for n in os.listdir(os.path.join(tmp, d)):
        os.chmod(os.path.join(tmp, d, n), 0o755)
first = open(os.path.join(tmp, "VERSION")).read().splitlines()[0]
if first != "go" + version:
    sys.exit("%s contains %s, expected go%s" % (zip_path, first, version))

# --- what rules_go's _sdk_build_file() adds ----------------------------------
build = open(os.path.join(rules_go, "go/private/BUILD.sdk.bazel")).read()
for k, v in subs.items():
    build = build.replace(k, v)
left = re.findall(r"\{[a-z_]+\}", build)
if left:
    sys.exit("unfilled placeholders %s in rules_go's BUILD.sdk.bazel; update %s" % (left, sys.argv[0]))
with open(os.path.join(tmp, "BUILD.bazel"), "w") as f:
    f.write(build)
open(os.path.join(tmp, "ROOT"), "w").close()
m = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?(.*)", version)
with open(os.path.join(tmp, "version.bzl"), "w") as f:
    f.write('\nMAJOR_VERSION = "%s"\nMINOR_VERSION = "%s"\nPATCH_VERSION = "%s"\nPRERELEASE_SUFFIX = "%s"\n'
            % (m.group(1), m.group(2), m.group(3) or "0", m.group(4)))

# --override_repository (like local_repository) wants a repository boundary
# marker in the directory.
open(os.path.join(tmp, "REPO.bazel"), "w").close()

shutil.rmtree(out, ignore_errors=True)
os.rename(tmp, out)
