"""Dataset routes of dserver: ``/uris``, ``/uuids`` and the per-dataset metadata."""

from __future__ import annotations

import json
from typing import Any

import falcon

from lookup_api import schemas, sorting
from lookup_api.access import Access
from lookup_api.bodies import list_item
from lookup_api.catalog import Catalog
from lookup_api.dserver.paths import path_value, uri_from_path
from lookup_api.errors import APIError
from lookup_api.paging import page_request, paginate
from lookup_api.uris import normalised_body
from lookup_api.validation import check, check_search_size, storable, validated_body
from lookup_events.model import DatasetCard

_LIST_KEYS = ("creator_usernames", "base_uris", "uuids", "tags", "annotation_keys")
_UNSTORABLE = "text must not contain NUL characters or unpaired surrogates"


def query_criteria(req: falcon.Request) -> dict[str, Any]:
    """Return the search criteria of a query string (lists as repeated keys).

    Raises:
        APIError: 422 with ``errors.query`` for values the search schema rejects.
    """
    criteria: dict[str, Any] = {}
    for name in ("free_text", *_LIST_KEYS):
        raw = req.params.get(name)
        if raw is None:
            continue
        values = raw if isinstance(raw, list) else [raw]
        criteria[name] = values if name in _LIST_KEYS else values[0]
    raw = req.params.get("annotations")
    if raw is not None:
        criteria["annotations"] = query_annotations(raw if isinstance(raw, list) else [raw])
    check_search_size(criteria, "query")
    check(criteria, schemas.SEARCH, "query")
    if not storable(criteria):
        raise APIError(422, errors={"query": ["Invalid value."]}, message=_UNSTORABLE)
    return dict(normalised_body(criteria, "query"))


def query_annotations(pairs: list[str]) -> dict[str, Any]:
    """Return the annotation filter of repeated ``annotations=key=value`` parameters.

    A value that is a JSON number, ``true``, ``false`` or a quoted string
    is read as JSON (``count=3`` is the number 3, ``count="3"`` the string);
    anything else is the string as written (``species=apple``).

    Raises:
        APIError: 422 for a parameter without ``=``.
    """
    found: dict[str, Any] = {}
    for pair in pairs:
        key, equals, text = pair.partition("=")
        if not equals:
            message = f"annotations={pair!r} is not key=value"
            raise APIError(422, errors={"query": {"annotations": [message]}}, message=message)
        found[key] = _scalar(text)
    return found


def _scalar(text: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, str | int | float | bool) else text


class DatasetResource:
    """Base of the dataset resources: the caller and the catalog."""

    def __init__(self, access: Access, catalog: Catalog) -> None:
        self._access = access
        self._catalog = catalog

    def _search(
        self, req: falcon.Request, resp: falcon.Response, criteria: dict[str, Any]
    ) -> None:
        page = page_request(req)
        order = sorting.sort_order(req, sorting.DATASETS)
        user = self._access.user(req)
        result = self._catalog.search(user, criteria, page, sorting.sort_keys(order))
        paginate(resp, page, result)
        sorting.set_sort_header(resp, order)
        resp.data = self._catalog.body(result)

    def _card(self, req: falcon.Request, uri: str) -> DatasetCard:
        dataset_uri = uri_from_path(uri)
        return self._catalog.card(self._access.user(req), dataset_uri)


class URIsResource(DatasetResource):
    """``GET|POST /uris``: the datasets the caller may see, filtered, sorted, paged."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return one page of datasets matching the query string."""
        self._search(req, resp, query_criteria(req))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return one page of datasets matching the JSON body."""
        self._search(req, resp, normalised_body(validated_body(req, schemas.SEARCH)))


class URIResource(DatasetResource):
    """``GET|PUT|DELETE /uris/{uri}``: one dataset."""

    takes_dataset_bodies = True  # PUT's body: the register limit applies (lookup_api/limits.py)

    def on_get(self, req: falcon.Request, resp: falcon.Response, uri: str) -> None:
        """Return the dataset's entry."""
        resp.media = list_item(self._card(req, uri).entry)

    def on_put(self, req: falcon.Request, resp: falcon.Response, uri: str) -> None:
        """Register the body as the dataset at ``uri``: 201 if new, else 200."""
        info = normalised_body(validated_body(req, schemas.REGISTER))
        dataset_uri = uri_from_path(uri)
        registered = self._catalog.put(self._access.user(req), dataset_uri, info)
        resp.status = falcon.HTTP_201 if registered.created else falcon.HTTP_200
        resp.media = list_item(registered.record.entry)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, uri: str) -> None:
        """Forget the dataset (idempotent)."""
        dataset_uri = uri_from_path(uri)
        self._catalog.delete(self._access.user(req), dataset_uri)
        resp.media = {}


class UUIDResource(DatasetResource):
    """``GET /uuids/{uuid}``: every copy of one dataset the caller may see."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
        """Return one page of the dataset's copies."""
        path_value("uuid", uuid)
        page = page_request(req)
        order = sorting.sort_order(req, sorting.DATASETS)
        user = self._access.user(req)
        result = self._catalog.lookup(user, uuid, page, sorting.sort_keys(order))
        paginate(resp, page, result)
        sorting.set_sort_header(resp, order)
        resp.data = self._catalog.body(result)


class ReadmeResource(DatasetResource):
    """``GET /readmes/{uri}``: the README text, as ``{"readme": ...}``."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, uri: str) -> None:
        """Return the README."""
        resp.media = {"readme": self._card(req, uri).readme}


class ManifestResource(DatasetResource):
    """``GET /manifests/{uri}``: the manifest object."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, uri: str) -> None:
        """Return the manifest."""
        dataset_uri = uri_from_path(uri)
        resp.data = self._catalog.manifest_json(self._access.user(req), dataset_uri)


class AnnotationsResource(DatasetResource):
    """``GET /annotations/{uri}``: ``{"annotations": ...}`` with the values' own JSON types."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, uri: str) -> None:
        """Return the annotations."""
        resp.media = {"annotations": self._card(req, uri).annotations}


class TagsResource(DatasetResource):
    """``GET /tags/{uri}``: ``{"tags": [...]}``."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, uri: str) -> None:
        """Return the tags."""
        resp.media = {"tags": list(self._card(req, uri).entry.tags)}
