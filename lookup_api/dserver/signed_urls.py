"""Signed-URL routes (dserver-signed-url-plugin's read routes) and our download route.

``/signed-urls/dataset/<uri>`` and ``/signed-urls/item/<uri>/<identifier>``
answer as the successor's plugin does; ``/signed-urls/content/<token>``
streams a disk dataset's file to whoever holds a valid, unexpired token.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import falcon

from lookup_api.access import Access
from lookup_api.dserver.curation import split_item
from lookup_api.dserver.paths import path_value, uri_from_path
from lookup_api.errors import APIError
from lookup_api.signed_urls import NotConfigured, SignedURLs
from lookup_api.signing import BadSignature, Expired


class DatasetLinksResource:
    """``GET /signed-urls/dataset/{uri}``: links to every component of a dataset."""

    def __init__(self, access: Access, links: SignedURLs) -> None:
        self._access = access
        self._links = links

    def on_get(self, req: falcon.Request, resp: falcon.Response, uri: str) -> None:
        """Return the links, valid for the configured expiry."""
        user = self._access.user(req)
        with _configured():
            resp.media = self._links.dataset(user, uri_from_path(uri), req.prefix)


class ItemLinkResource:
    """``GET /signed-urls/item/{uri}/{identifier}``: a link to one item."""

    def __init__(self, access: Access, links: SignedURLs) -> None:
        self._access = access
        self._links = links

    def on_get(self, req: falcon.Request, resp: falcon.Response, uri: str) -> None:
        """Return the item's link."""
        dataset_uri, identifier = split_item(uri, "identifier")
        user = self._access.user(req)
        with _configured():
            resp.media = self._links.item(user, dataset_uri, identifier, req.prefix)


class ContentResource:
    """``GET /signed-urls/content/{token}``: a disk dataset's file, streamed."""

    def __init__(self, links: SignedURLs) -> None:
        self._links = links

    def on_get(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        """Stream the file the token grants: 403 if forged or changed, 410 if expired."""
        path_value("token", token)
        with _configured():
            try:
                found = self._links.download(token)
            except BadSignature as ex:
                raise APIError(403, message=str(ex)) from ex
            except Expired as ex:
                raise APIError(410, message=str(ex)) from ex
        # NOTE(dev): the WSGI server reads the file in blocks (wsgi.file_wrapper
        # where it has one): an item is never read into memory whole.
        resp.set_stream(open(found.path, "rb"), found.size)  # noqa: SIM115
        resp.content_type = found.media_type
        resp.downloadable_as = found.filename
        resp.cache_control = ["private", "no-store"]
        resp.set_header("X-Content-Type-Options", "nosniff")


@contextlib.contextmanager
def _configured() -> Iterator[None]:
    """Turn a missing secret into a 503 that says which setting to set."""
    try:
        yield
    except NotConfigured as ex:
        raise APIError(503, message=str(ex)) from ex
