"""The structured-query plugin: ``POST /mongo/query`` and ``POST /mongo/aggregate``.

Compatible with ``dtool-lookup-server-direct-mongo-plugin`` 0.2: the same
routes, bodies (``{"query": {...}}``, ``{"aggregation": [...]}``, beside the
search criteria ``creator_usernames``, ``base_uris``, ``uuids``, ``tags``)
and paging, on every store. Unlike the original, nothing reaches a store as
it was sent: filters are parsed into ``store.structured``'s tree and pipelines
into ``store.aggregation``'s stages, and what leaves the documented subset
(``$where``, ``$lookup``, ``$out``, unknown operators, runaway regular
expressions, ...) gets a 422 naming the part. Results never include a
dataset outside the caller's search permissions: the permission filter comes
first and no supported stage reads other collections or writes.

``DTOOL_LOOKUP_MONGO_QUERY=false`` switches the plugin off;
``DTOOL_LOOKUP_MONGO_AGGREGATE=true`` serves ``/mongo/aggregate`` (off by
default, as in the original).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lookup_api.plugins import PluginContext, PluginSetting, Route, on_off
from lookup_api.plugins.mongo_query.operations import (
    AGGREGATE_OPERATION,
    EXAMPLES,
    QUERY_OPERATION,
    SCHEMAS,
)
from lookup_api.plugins.mongo_query.resources import AggregateResource, QueryResource

# NOTE(dev): the original's version, as the annotation-filter plugin keeps its own.
VERSION = "0.2.0"
QUERY_SWITCH = "DTOOL_LOOKUP_MONGO_QUERY"
AGGREGATE_SWITCH = "DTOOL_LOOKUP_MONGO_AGGREGATE"


class MongoQueryPlugin:
    """Our own plugin serving the direct-mongo routes over every store."""

    name = "dtool_lookup_mongo_query"
    version = VERSION
    settings = (
        PluginSetting(QUERY_SWITCH, True, parse=on_off, help="Serve POST /mongo/query (true)."),
        PluginSetting(
            AGGREGATE_SWITCH, False, parse=on_off, help="Serve POST /mongo/aggregate (false)."
        ),
    )
    operations = (QUERY_OPERATION, AGGREGATE_OPERATION)
    schemas = SCHEMAS
    examples: Mapping[str, Any] = EXAMPLES

    def enabled(self, config: Mapping[str, Any]) -> bool:
        """Serve the routes unless ``DTOOL_LOOKUP_MONGO_QUERY`` is false."""
        return bool(config[QUERY_SWITCH])

    def routes(self, context: PluginContext) -> Iterable[Route]:
        """Return both routes; ``/mongo/aggregate`` answers 404 unless switched on (as 0.2 did)."""
        aggregate = AggregateResource(context, enabled=bool(context.config.get(AGGREGATE_SWITCH)))
        return [("/mongo/query", QueryResource(context)), ("/mongo/aggregate", aggregate)]


plugin = MongoQueryPlugin()
