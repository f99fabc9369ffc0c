"""Dataset routes of dtool-lookup-server 0.18: ``/dataset/*``."""

from __future__ import annotations

import falcon

from lookup_api import schemas
from lookup_api.access import Access
from lookup_api.catalog import Catalog
from lookup_api.paging import page_request, paginate
from lookup_api.uris import normalised_body
from lookup_api.validation import validated_body


class DatasetResource:
    """Base of the dataset resources: the caller and the catalog."""

    def __init__(self, access: Access, catalog: Catalog) -> None:
        self._access = access
        self._catalog = catalog


class SummaryResource(DatasetResource):
    """``GET /dataset/summary``: facet counts over the datasets the caller may see."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the summary."""
        user = self._access.user(req)
        resp.data = self._catalog.summary_json(user, sized=False)


class ListResource(DatasetResource):
    """``GET /dataset/list``: every dataset the caller may see, a page at a time."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return one page of datasets."""
        page = page_request(req)
        user = self._access.user(req)
        result = self._catalog.search(user, {}, page)
        paginate(resp, page, result)
        resp.data = self._catalog.body(result)


class LookupResource(DatasetResource):
    """``GET /dataset/lookup/{uuid}``: every copy of one dataset."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
        """Return one page of the dataset's copies."""
        page = page_request(req)
        user = self._access.user(req)
        result = self._catalog.lookup(user, uuid, page)
        paginate(resp, page, result)
        resp.data = self._catalog.body(result)


class SearchResource(DatasetResource):
    """``POST /dataset/search``: datasets matching a query body."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return one page of matching datasets."""
        criteria = normalised_body(validated_body(req, schemas.SEARCH))
        page = page_request(req)
        user = self._access.user(req)
        result = self._catalog.search(user, criteria, page)
        paginate(resp, page, result)
        resp.data = self._catalog.body(result, search=True)


class RegisterResource(DatasetResource):
    """``POST /dataset/register``: store a dataset's metadata."""

    takes_dataset_bodies = True  # the register limit applies (lookup_api/limits.py)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Register the dataset described by the body."""
        info = normalised_body(validated_body(req, schemas.REGISTER))
        user = self._access.user(req)
        registered = self._catalog.register(user, info)
        resp.status = falcon.HTTP_201
        resp.media = {"uri": registered.record.uri}


class ReadmeResource(DatasetResource):
    """``POST /dataset/readme``: the README text of one dataset."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the README as a JSON string."""
        body = normalised_body(validated_body(req, schemas.URI))
        user = self._access.user(req)
        resp.media = self._catalog.card(user, body.get("uri")).readme


class ManifestResource(DatasetResource):
    """``POST /dataset/manifest``: the manifest of one dataset."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the manifest object."""
        body = normalised_body(validated_body(req, schemas.URI))
        user = self._access.user(req)
        resp.data = self._catalog.manifest_json(user, body.get("uri"))


class AnnotationsResource(DatasetResource):
    """``POST /dataset/annotations``: the annotations of one dataset."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the annotations object."""
        body = normalised_body(validated_body(req, schemas.URI))
        user = self._access.user(req)
        resp.media = self._catalog.card(user, body.get("uri")).annotations
