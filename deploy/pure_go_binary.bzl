"""pure_go_binary: a Go binary rebuilt without cgo, hence static.

The gazelle-generated go_binary targets (//server, //client) are built as
they are, with `--@rules_go//go/config:pure` set by an incoming transition:
the same as `pure = "on"` on them, without touching generated BUILD files or
their private main-package libraries. The platform comes from the caller
(here oci_image_index's platform transition).
"""

def _pure_transition_impl(_settings, _attr):
    return {"@rules_go//go/config:pure": True}

_pure_transition = transition(
    implementation = _pure_transition_impl,
    inputs = [],
    outputs = ["@rules_go//go/config:pure"],
)

def _pure_go_binary_impl(ctx):
    binary = ctx.attr.binary[0][DefaultInfo].files_to_run.executable
    out = ctx.actions.declare_file("{name}_/{name}".format(name = ctx.label.name))
    ctx.actions.symlink(output = out, target_file = binary, is_executable = True)
    return [DefaultInfo(files = depset([out]), executable = out)]

pure_go_binary = rule(
    implementation = _pure_go_binary_impl,
    doc = "The go_binary `binary`, built with pure = on, as NAME_/NAME.",
    attrs = {
        "binary": attr.label(
            mandatory = True,
            executable = True,
            cfg = _pure_transition,
            doc = "a go_binary target",
        ),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
    executable = True,
)
