"""Request body limits: 413 before a worker reads, parses or stores a huge body.

Register bodies carry a whole manifest and README, so their limit is a
setting (``DTOOL_LOOKUP_MAX_REGISTER_BYTES``, 16 MiB like 0.18's document
limit); every other JSON body is a query or an admin change and gets
``MAX_BODY_BYTES``. ``BodyLimit`` refuses a declared ``Content-Length``
over the limit at once; ``read_body`` counts a chunked body while reading
it, so an undeclared length cannot get past either.
"""

from __future__ import annotations

from typing import Any

import falcon

from lookup_api.errors import APIError

MAX_BODY_BYTES = 1024 * 1024
# The attribute a resource sets (True) when its bodies are whole datasets.
DATASET_BODIES = "takes_dataset_bodies"


def too_large(limit: int) -> APIError:
    """Return the 413 refusing a body over ``limit`` bytes."""
    return APIError(413, message=f"the body of this request is limited to {limit} bytes")


class BodyLimit:
    """Middleware: picks a request's body limit and refuses a declared length over it."""

    def __init__(self, register_bytes: int, other_bytes: int = MAX_BODY_BYTES) -> None:
        self._register_bytes = register_bytes
        self._other_bytes = other_bytes

    def process_resource(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        resource: object,
        params: dict[str, Any],
    ) -> None:
        """Remember the route's limit; 413 for a ``Content-Length`` over it."""
        register = getattr(resource, DATASET_BODIES, False) is True
        limit = self._register_bytes if register else self._other_bytes
        req.context.body_limit = limit
        if (req.content_length or 0) > limit:
            raise too_large(limit)


def read_body(req: falcon.Request) -> bytes:
    """Return the request body, at most the route's limit.

    A chunked body has no ``Content-Length``; Falcon's ``bounded_stream``
    then reads nothing, but a server that ends the stream at the body's end
    (``wsgi.input_terminated``, as gunicorn does) lets it be read, counted.

    Raises:
        APIError: 413 for a body over the limit.
    """
    limit: int = req.context.get("body_limit") or MAX_BODY_BYTES
    chunked = req.content_length is None and req.env.get("wsgi.input_terminated")
    stream = req.stream if chunked else req.bounded_stream
    raw: bytes = stream.read(limit + 1)
    if len(raw) > limit:
        raise too_large(limit)
    return raw
