"""The structured-query routes: thin resources over the catalog."""

from __future__ import annotations

import falcon

from lookup_api import sorting
from lookup_api.paging import page_request, paginate
from lookup_api.plugins import PluginContext
from lookup_api.plugins.mongo_query.operations import AGGREGATE_BODY, QUERY_BODY
from lookup_api.validation import validated_body
from lookup_events.store.protocols import SortKey


class QueryResource:
    """``POST /mongo/query``: the datasets a MongoDB filter matches, paged and sorted like search.

    Without ``sort`` the order is registration order, as the 0.18 plugin's.
    """

    def __init__(self, context: PluginContext) -> None:
        self._access = context.access
        self._catalog = context.catalog

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return one page of the matching datasets the caller may search, as search hits."""
        user = self._access.user(req)
        body = validated_body(req, QUERY_BODY)
        page = page_request(req)
        sort: tuple[SortKey, ...] = ()
        if sorting.PARAM in req.params:
            # NOTE(dev): dtool-lookup-api >= 0.8 always sends one (+uri by default).
            order = sorting.sort_order(req, sorting.DATASETS)
            sorting.set_sort_header(resp, order)
            sort = sorting.sort_keys(order)
        result = self._catalog.structured_search(user, body, page, sort)
        paginate(resp, page, result)
        resp.data = self._catalog.body(result, search=True)


class AggregateResource:
    """``POST /mongo/aggregate``: a pipeline over the datasets the caller may search.

    The pipeline orders its output; a ``sort`` parameter (clients send one) is ignored.
    """

    def __init__(self, context: PluginContext, enabled: bool) -> None:
        self._access = context.access
        self._catalog = context.catalog
        self._enabled = enabled

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return one page of the pipeline's output documents."""
        if not self._enabled:
            raise falcon.HTTPNotFound(
                description="aggregations are switched off (DTOOL_LOOKUP_MONGO_AGGREGATE)"
            )
        user = self._access.user(req)
        body = validated_body(req, AGGREGATE_BODY)
        page = page_request(req)
        result = self._catalog.aggregate(user, body, page)
        paginate(resp, page, result)
        resp.media = result.items
