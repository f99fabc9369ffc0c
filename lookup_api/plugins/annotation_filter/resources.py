"""The annotation-filter routes: thin resources over the catalog."""

from __future__ import annotations

from typing import Any

import falcon

from lookup_api import schemas
from lookup_api.paging import page_request, paginate
from lookup_api.plugins import PluginContext
from lookup_api.validation import validated_body
from lookup_events.store.annotations import labelled
from lookup_events.store.protocols import PageRequest


class FilterResource:
    """Base of the routes: the caller, and the filter body they sent."""

    def __init__(self, context: PluginContext) -> None:
        self._access = context.access
        self._catalog = context.catalog

    def _criteria(self, req: falcon.Request) -> dict[str, Any]:
        """Return the validated filter body (``{}`` when there is none)."""
        body: dict[str, Any] = validated_body(req, schemas.SEARCH)
        return body


class VersionResource(FilterResource):
    """``GET /annotation_filter_plugin/version``: the plugin's version string."""

    def __init__(self, context: PluginContext, version: str) -> None:
        super().__init__(context)
        self._version = version

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the version to a registered user."""
        self._access.user(req)
        resp.media = self._version


class KeysResource(FilterResource):
    """``POST /annotation_filter_plugin/annotation_keys``: datasets per key."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return ``{key: datasets}`` over the datasets matching the filter."""
        criteria = self._criteria(req)
        resp.media = self._catalog.annotation_keys(self._access.user(req), criteria)


class ValuesResource(FilterResource):
    """``POST /annotation_filter_plugin/annotation_values``: datasets per value."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return ``{key: {value: datasets}}`` for the keys the filter names."""
        criteria = self._criteria(req)
        values = self._catalog.annotation_values(self._access.user(req), criteria)
        resp.media = labelled(values)


class NumDatasetsResource(FilterResource):
    """``POST /annotation_filter_plugin/num_datasets``: how many datasets match."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the number of datasets matching the filter."""
        criteria = self._criteria(req)
        result = self._catalog.search(self._access.user(req), criteria, PageRequest(1, 1))
        resp.media = result.total


class DatasetsResource(FilterResource):
    """``POST /annotation_filter_plugin/datasets``: the matching datasets, paged."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return one page of datasets matching the filter, as search hits."""
        criteria = self._criteria(req)
        page = page_request(req)
        result = self._catalog.search(self._access.user(req), criteria, page)
        paginate(resp, page, result)
        resp.data = self._catalog.body(result, search=True)
