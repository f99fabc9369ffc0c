"""URIs inside URL paths: ``/uris/s3/bucket/uuid`` or ``/uris/s3:%2F%2Fbucket%2Fuuid``.

dservercore accepted both spellings: the percent-encoded URI (which the WSGI
server decodes before routing) and the "URL suffix", whose first ``/``
stands for ``://``. Either way the URI is then normalised as it is for
registration, so one dataset has one spelling.
"""

from __future__ import annotations

from lookup_api import schemas
from lookup_api.errors import APIError
from lookup_api.uris import request_uri
from lookup_api.validation import check

_SEPARATOR = "://"
# Each parameter's schema as the one-field object ``path_value`` checks: built
# once, so the validator compiled for it is reused.
_OBJECTS: dict[str, schemas.Schema] = {
    name: {"type": "object", "properties": {name: schema}}
    for name, schema in schemas.PATH_PARAMETERS.items()
}
_PLAIN_KEYS = frozenset({"type", "maxLength", "description"})
# The longest value of each parameter whose schema is a string of at most so
# many characters and nothing else (all of them today): a path value is a
# string, so its length is the whole check.
_MAX_LENGTHS: dict[str, float] = {
    name: schema.get("maxLength", float("inf"))
    for name, schema in schemas.PATH_PARAMETERS.items()
    if schema.get("type") == "string" and schema.keys() <= _PLAIN_KEYS
}


def path_value(name: str, value: str) -> str:
    """Return a path parameter after checking it against its documented schema.

    Raises:
        APIError: 422 for a value the schema rejects (too long to be stored).
    """
    limit = _MAX_LENGTHS.get(name)
    if limit is None or len(value) > limit:  # NOTE(dev): the schema words the refusal
        check({name: value}, _OBJECTS[name], "path")
    return value


def uri_from_path(suffix: str, name: str = "uri") -> str:
    """Return the URI a path parameter names (either spelling), normalised.

    ``s3/bucket/x`` is ``s3://bucket/x``; ``/abs/path`` is a local path
    (``file://<host>/abs/path``); a value without any ``/`` is taken as it is.

    Raises:
        APIError: 404 for an empty parameter, 422 for one longer than documented
            or that is no URI.
    """
    path_value(name, suffix)
    if not suffix:
        raise APIError(404, message="no URI in the path")
    if _SEPARATOR in suffix or suffix.startswith("/"):
        return request_uri(suffix, "path", name)
    if "/" in suffix:
        return request_uri(suffix.replace("/", _SEPARATOR, 1), "path", name)
    return suffix
