"""The base URIs and dataset URIs a request names, spelled as the stores spell them.

Every route that reads a URI from a body or a query string passes it
through here, so ``file:///data`` (what 0.18 servers stored),
``file://<host>/data``, ``file://<host>/data/`` and ``/data`` name one base
URI on every route, exactly as ``lookup_events.uris.normalise_uri`` makes
them for the stores, the registrar and the migration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lookup_api.errors import APIError
from lookup_events.uris import normalise_uri

# Body and query keys that hold one URI, and those that hold a list of them.
URI_KEYS = ("uri", "base_uri")
URI_LIST_KEYS = ("base_uris",)


def request_uri(text: str, location: str = "json", name: str = "uri") -> str:
    """Return a URI of a request in the stores' spelling.

    Raises:
        APIError: 422 naming ``location`` and ``name`` for text no URI parser
            reads (``s3://[x``: an unclosed IPv6 host), which no store could hold.
    """
    try:
        return normalise_uri(text)
    except ValueError:
        raise APIError(
            422, errors={location: {name: ["Not a valid URI."]}}, message=f"{text!r} is not a URI"
        ) from None


def normalise_request_uri(value: Any, location: str = "json", name: str = "uri") -> Any:
    """Return ``request_uri(value)`` for a non-empty string; other values unchanged.

    Empty strings and non-strings are left for validation to refuse.
    """
    if isinstance(value, str) and value:
        return request_uri(value, location, name)
    return value


def normalised_uris(values: Iterable[Any], location: str = "json", name: str = "uri") -> list[Any]:
    """Return a list of URIs, each in the stores' spelling."""
    return [normalise_request_uri(value, location, name) for value in values]


def normalised_body(body: Any, location: str = "json") -> Any:
    """Return a (validated) body whose URI fields are in the stores' spelling.

    ``uri``, ``base_uri`` and each of ``base_uris`` are normalised; a body
    that is not an object is returned as it is.
    """
    if not isinstance(body, Mapping):
        return body
    result = dict(body)
    for key in URI_KEYS:
        if key in result:
            result[key] = normalise_request_uri(result[key], location, key)
    for key in URI_LIST_KEYS:
        if isinstance(result.get(key), list):
            result[key] = normalised_uris(result[key], location, key)
    return result
