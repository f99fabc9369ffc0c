"""The dependency-graph plugin: every dataset connected to one through parent UUIDs.

Compatible with ``dtool-lookup-server-dependency-graph-plugin`` 0.2
(``GET|POST /graph/lookup/<uuid>``) and ``dserver-dependency-graph-plugin``
(``GET|POST /graph/uuids/<uuid>``): the same list of datasets sorted by UUID,
each with ``derived_from``, paged with ``X-Pagination``. Unlike the originals
it runs on every store and keeps no per-key views: the registrar keeps every
dataset's links (``store.dependencies``) with its record, and a graph is one
walk over them, restricted to the base URIs the caller may search and never
passing through a dataset outside them.

Settings: ``DTOOL_LOOKUP_DEPENDENCY_GRAPH`` switches the routes,
``DTOOL_LOOKUP_DEPENDENCY_KEYS`` (a JSON list, or one key) are the keys a GET
walks, and ``DTOOL_LOOKUP_DYNAMIC_DEPENDENCY_KEYS`` lets a POST name others;
when it is false, a POST naming a key not configured gets a 400 saying so
(the original silently used the configured keys instead).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from lookup_api.plugins import PluginContext, PluginSetting, Route, on_off
from lookup_api.plugins.dependency_graph.operations import EXAMPLES, OPERATIONS, SCHEMAS
from lookup_api.plugins.dependency_graph.resources import GraphResource, KeyPolicy
from lookup_events.store.dependencies import DEFAULT_KEYS, key_problem

VERSION = "0.2.0"
SWITCH = "DTOOL_LOOKUP_DEPENDENCY_GRAPH"
KEYS = "DTOOL_LOOKUP_DEPENDENCY_KEYS"
DYNAMIC = "DTOOL_LOOKUP_DYNAMIC_DEPENDENCY_KEYS"


def parse_keys(text: str) -> tuple[str, ...]:
    """Read the configured keys: a JSON list of keys, or one key as plain text."""
    try:
        value = json.loads(text)
    except ValueError:
        value = [text.strip()]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(k, str) for k in value):
        raise ValueError("expected a JSON list of keys, or one key")
    for key in value:
        problem = key_problem(key)
        if problem is not None:
            raise ValueError(f"key {key!r} {problem}")
    return tuple(dict.fromkeys(value))


class DependencyGraphPlugin:
    """Our own plugin serving the dependency-graph routes of both generations."""

    name = "dtool_lookup_dependency_graph"
    version = VERSION
    settings = (
        PluginSetting(SWITCH, True, parse=on_off, help="Serve the /graph routes (true)."),
        PluginSetting(
            KEYS,
            DEFAULT_KEYS,
            parse=parse_keys,
            help="Keys holding parent UUIDs: a JSON list, or one key.",
        ),
        PluginSetting(
            DYNAMIC,
            True,
            parse=on_off,
            help="Let a POST walk keys other than the configured ones (true).",
        ),
    )
    operations = OPERATIONS
    schemas = SCHEMAS
    examples: Mapping[str, Any] = EXAMPLES

    def enabled(self, config: Mapping[str, Any]) -> bool:
        """Serve the routes unless ``DTOOL_LOOKUP_DEPENDENCY_GRAPH`` is false."""
        return bool(config[SWITCH])

    def routes(self, context: PluginContext) -> Iterable[Route]:
        """Return the 0.18 route and the dserver route, one resource each."""
        policy = KeyPolicy(tuple(context.config[KEYS]), bool(context.config[DYNAMIC]))
        return [
            ("/graph/lookup/{uuid}", GraphResource(context, policy)),
            ("/graph/uuids/{uuid}", GraphResource(context, policy, sort_header=True)),
        ]


plugin = DependencyGraphPlugin()
