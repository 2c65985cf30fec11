"""powtcp_image: the container image of one of powtcp's programs.

One call makes, for the go_binary `binary` named NAME:

  NAME                      the binary without cgo, hence static (pure_go_binary)
  NAME_layer                a gzipped tar layer holding it at /NAME
  NAME_image                the image for one platform (the index picks which)
  NAME_index                the image index over `platforms`
  NAME_image_load_platform  NAME_image for `load_platform`
  NAME_load                 `bazel run` loads it into docker/podman as powtcp/NAME:latest
  NAME_push                 `bazel run` pushes the index to `repository`, tag latest

The server and the client differ only in what they expose, so everything
else is said here once.
"""

load("@aspect_bazel_lib//lib:transitions.bzl", "platform_transition_filegroup")
load("@rules_oci//oci:defs.bzl", "oci_image", "oci_image_index", "oci_load", "oci_push")
load("@tar.bzl", "mutate", "tar")
load(":pure_go_binary.bzl", "pure_go_binary")

# distroless's "nonroot"; no /etc/passwd needed for a numeric user.
_USER = "65532:65532"

def powtcp_image(name, binary, platforms, load_platform, repository, labels, env = None, exposed_ports = None):
    """Declares the image targets of one program (see the file's doc).

    Args:
      name: the program's name: the entrypoint is /NAME.
      binary: the go_binary to put in the image.
      platforms: the platforms of the index.
      load_platform: the platform NAME_load loads.
      repository: where NAME_push pushes.
      labels: a file of OCI labels, one name=value a line.
      env: the image's environment, if any.
      exposed_ports: the ports the image declares, if any.
    """
    pure_go_binary(
        name = name,
        binary = binary,
    )

    tar(
        name = name + "_layer",
        srcs = [":" + name],
        # Layers are stored and pushed as they are built: gzip halves them
        # (the server binary: 14.5 MB, 7.6 MB gzipped); oci_image reads the
        # compression from the file.
        compress = "gzip",
        # A static Go binary needs no runfiles tree.
        include_runfiles = False,
        # deploy/NAME_/NAME -> /NAME, owned by root, mode 0755.
        mutate = mutate(strip_prefix = native.package_name() + "/" + name + "_"),
    )

    # Only what the caller gave: an empty env or port list is left out.
    extra = {}
    if env:
        extra["env"] = env
    if exposed_ports:
        extra["exposed_ports"] = exposed_ports
    oci_image(
        name = name + "_image",
        architecture = select({
            "@platforms//cpu:aarch64": "arm64",
            "@platforms//cpu:x86_64": "amd64",
        }),
        entrypoint = ["/" + name],
        labels = labels,
        os = "linux",
        tags = ["manual"],
        tars = [":" + name + "_layer"],
        user = _USER,
        **extra
    )

    oci_image_index(
        name = name + "_index",
        images = [":" + name + "_image"],
        platforms = platforms,
    )

    platform_transition_filegroup(
        name = name + "_image_load_platform",
        srcs = [":" + name + "_image"],
        target_platform = load_platform,
    )

    oci_load(
        name = name + "_load",
        image = ":" + name + "_image_load_platform",
        repo_tags = ["powtcp/%s:latest" % name],
    )

    oci_push(
        name = name + "_push",
        image = ":" + name + "_index",
        remote_tags = ["latest"],
        repository = repository,
    )
