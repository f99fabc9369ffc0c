"""Component versions, as ``/config/versions`` and ``config versions`` report them."""

from __future__ import annotations

from importlib import metadata

# NOTE(dev): clients of dtool-lookup-server read this key to pick the API they speak;
# we implement the 0.18 contract, so that is the version we announce there.
COMPATIBLE_SERVER_VERSION = "0.18.0"


def component_versions() -> dict[str, str | None]:
    """Return the server contract version and the versions of our packages."""
    return {
        "dtool_lookup_server": COMPATIBLE_SERVER_VERSION,
        "dtool_lookup": _installed("dtool-lookup"),
        "dtoolcore": _installed("dtoolcore"),
    }


def _installed(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
