"""Offline stand-in for @package_metadata//providers:package_metadata_info.bzl."""

PackageMetadataInfo = provider(
    doc = "Metadata about a package (a JSON file with at least a 'purl' key).",
    fields = {
        "metadata": "File: JSON document describing the package.",
        "files": "list of File: all files making up the metadata.",
    },
)
