"""URI normalisation: one spelling per dataset and base URI."""

import os
import socket
from urllib.parse import urlsplit


def normalise_uri(uri: str, hostname: str | None = None) -> str:
    """Return the canonical spelling of a dataset or base URI.

    A bare path becomes ``file://<hostname><abspath>`` (as dtoolcore's
    ``sanitise_uri`` does) and so does ``file:///abs/path``; a trailing
    slash is dropped, so ``s3://bucket/`` and ``s3://bucket`` are one URI.
    Other schemes are kept as given.
    """
    host = hostname if hostname is not None else socket.gethostname()
    parts = urlsplit(uri)
    if not parts.scheme or len(parts.scheme) == 1:  # a path, or a Windows drive letter
        uri = f"file://{host}{os.path.abspath(uri)}"
    elif parts.scheme == "file" and not parts.netloc:
        uri = f"file://{host}{parts.path}"
    return strip_trailing_slash(uri)


def strip_trailing_slash(uri: str) -> str:
    """Drop trailing slashes, but never the ``//`` of ``scheme://``."""
    stripped = uri.rstrip("/")
    return uri if stripped.endswith(":") else stripped


def base_uri_of(uri: str) -> str:
    """Return the base URI of a dataset URI: everything before the last ``/``."""
    return uri.rsplit("/", 1)[0]


def is_local(uri: str) -> bool:
    """Tell whether the URI names a file-system location."""
    return urlsplit(uri).scheme == "file"


def local_path(uri: str) -> str:
    """Return the file-system path of a ``file://`` URI."""
    return urlsplit(uri).path


def on_this_host(uri: str, hostname: str | None = None) -> bool:
    """Tell whether a ``file://`` URI names this machine (no host, ours, or localhost)."""
    host = urlsplit(uri).netloc
    return host in ("", "localhost", hostname if hostname is not None else socket.gethostname())
