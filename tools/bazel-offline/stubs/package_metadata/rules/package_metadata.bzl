"""Offline stand-in for @package_metadata//rules:package_metadata.bzl."""

load("//providers:package_metadata_info.bzl", "PackageMetadataInfo")

def _package_metadata_impl(ctx):
    out = ctx.actions.declare_file("{}.package-metadata.json".format(ctx.attr.name))
    ctx.actions.write(
        output = out,
        content = json.encode({
            "label": str(ctx.label),
            "purl": ctx.attr.purl,
            "attributes": {},
        }),
    )
    return [
        DefaultInfo(files = depset([out])),
        PackageMetadataInfo(metadata = out, files = [out]),
    ]

_package_metadata = rule(
    implementation = _package_metadata_impl,
    attrs = {
        "purl": attr.string(mandatory = True),
        "attributes": attr.label_list(),
    },
)

def package_metadata(name, purl, attributes = [], visibility = None, **kwargs):
    _package_metadata(
        name = name,
        purl = purl,
        attributes = attributes,
        visibility = visibility,
        applicable_licenses = [],
        **kwargs
    )
