"""Curation routes of dserver: write tags, annotations and README back to a dataset.

``/tags/<uri>/<tag>`` and ``/annotations/<uri>/<name>`` share their path
pattern with ``/tags/<uri>`` and ``/annotations/<uri>`` (a URI holds ``/``,
so Falcon routes both to one resource): POST and DELETE always name an item
in the last segment, PUT on annotations says by its body which it means.
"""

from __future__ import annotations

from typing import Any

import falcon

from lookup_api import schemas
from lookup_api.access import Access
from lookup_api.catalog import Catalog
from lookup_api.curation import Curation
from lookup_api.dserver.datasets import AnnotationsResource, ReadmeResource, TagsResource
from lookup_api.dserver.paths import path_value, uri_from_path
from lookup_api.errors import APIError
from lookup_api.validation import storable, validated_body
from lookup_events.model import DatasetRecord

_UNSTORABLE = "text must not contain NUL characters or unpaired surrogates"


def split_item(suffix: str, name: str) -> tuple[str, str]:
    """Return the dataset URI and the item named by the last segment of ``suffix``.

    Raises:
        APIError: 404 when there is no segment before the item.
    """
    head, slash, item = suffix.rpartition("/")
    if not slash or not head:
        raise APIError(404, message=f"the path names no dataset before the {name}")
    return uri_from_path(head), path_value(name, item)


def curation_body(req: falcon.Request, schema: schemas.Schema) -> Any:
    """Return a curation body checked against ``schema`` and storable as text.

    Raises:
        APIError: 400 malformed JSON, 422 a body the schema or the stores refuse.
    """
    body = validated_body(req, schema)
    if not storable(body):
        raise APIError(422, errors={"json": ["Invalid value."]}, message=_UNSTORABLE)
    return body


class _Curated:
    """Mixin: the caller, the curation service, and the replies."""

    _access: Access

    def __init__(self, access: Access, catalog: Catalog, curation: Curation) -> None:
        super().__init__(access, catalog)  # type: ignore[call-arg]
        self._curation = curation


class CuratedTagsResource(_Curated, TagsResource):
    """``GET|PUT /tags/{uri}``, ``POST|DELETE /tags/{uri}/{tag}``."""

    def on_put(self, req: falcon.Request, resp: falcon.Response, uri: str) -> None:
        """Replace the dataset's tags with the body's ``tags``."""
        tags = curation_body(req, schemas.TAGS_UPDATE)["tags"]
        record = self._curation.set_tags(self._access.user(req), uri_from_path(uri), tags)
        resp.media = tags_body(record)

    def on_post(self, req: falcon.Request, resp: falcon.Response, uri: str) -> None:
        """Add the tag the last segment names."""
        dataset_uri, tag = split_item(uri, "tag")
        resp.media = tags_body(self._curation.add_tag(self._access.user(req), dataset_uri, tag))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, uri: str) -> None:
        """Remove the tag the last segment names."""
        dataset_uri, tag = split_item(uri, "tag")
        record = self._curation.remove_tag(self._access.user(req), dataset_uri, tag)
        resp.media = tags_body(record)


class CuratedAnnotationsResource(_Curated, AnnotationsResource):
    """``GET|PUT /annotations/{uri}``, ``PUT|DELETE /annotations/{uri}/{name}``."""

    def on_put(self, req: falcon.Request, resp: falcon.Response, uri: str) -> None:
        """Replace every annotation (``{"annotations"}``) or set one (``{"value"}``)."""
        body = curation_body(req, schemas.ANNOTATIONS_UPDATE)
        user = self._access.user(req)
        if "annotations" in body:
            record = self._curation.set_annotations(user, uri_from_path(uri), body["annotations"])
        else:
            dataset_uri, name = split_item(uri, "name")
            record = self._curation.put_annotation(user, dataset_uri, name, body["value"])
        resp.media = annotations_body(record)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, uri: str) -> None:
        """Delete the annotation the last segment names."""
        dataset_uri, name = split_item(uri, "name")
        record = self._curation.delete_annotation(self._access.user(req), dataset_uri, name)
        resp.media = annotations_body(record)


class CuratedReadmeResource(_Curated, ReadmeResource):
    """``GET|PUT /readmes/{uri}``."""

    def on_put(self, req: falcon.Request, resp: falcon.Response, uri: str) -> None:
        """Replace the README with the body's ``readme``, kept as written."""
        text = curation_body(req, schemas.README_UPDATE)["readme"]
        self._curation.put_readme(self._access.user(req), uri_from_path(uri), text)
        resp.media = {"readme": text}  # as dservercore: the text written, byte for byte


def tags_body(record: DatasetRecord) -> dict[str, Any]:
    """Return ``{"tags": [...]}`` of a record."""
    return {"tags": list(record.entry.tags)}


def annotations_body(record: DatasetRecord) -> dict[str, Any]:
    """Return ``{"annotations": {...}}`` of a record."""
    return {"annotations": record.annotations}
