"""The annotation-filter plugin: facets over annotation keys and values.

Compatible with ``dtool-lookup-server-annotation-filter-plugin`` 0.2: the
same routes under ``/annotation_filter_plugin`` and the same answers, on
every store, counted in the database (``DatasetStore.annotation_keys`` and
``annotation_values``) and limited to the base URIs the caller may search.
Its bodies are our search bodies (``annotations``, ``annotation_keys``,
``base_uris`` and the other search criteria), validated as ours are: a body
that is no object, annotations that are no mapping or hold no scalar value,
keys that are no strings and lists over 100 entries get a 422 that names
the field, where the original answered 500 or read a string letter by
letter. Switched off by ``DTOOL_LOOKUP_ANNOTATION_FILTER=false``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lookup_api.plugins import PluginContext, PluginSetting, Route, on_off
from lookup_api.plugins.annotation_filter.operations import EXAMPLES, OPERATIONS, SCHEMAS
from lookup_api.plugins.annotation_filter.resources import (
    DatasetsResource,
    KeysResource,
    NumDatasetsResource,
    ValuesResource,
    VersionResource,
)

PREFIX = "/annotation_filter_plugin"
# NOTE(dev): the original's version; its clients read it from /version.
VERSION = "0.2.1"


class AnnotationFilterPlugin:
    """Our own plugin serving the annotation-filter routes."""

    name = "dtool_lookup_annotation_filter"
    version = VERSION
    settings = (
        PluginSetting(
            "DTOOL_LOOKUP_ANNOTATION_FILTER",
            True,
            parse=on_off,
            help="Serve the /annotation_filter_plugin routes (true).",
        ),
    )
    operations = OPERATIONS
    schemas = SCHEMAS
    examples: Mapping[str, Any] = EXAMPLES

    def enabled(self, config: Mapping[str, Any]) -> bool:
        """Serve the routes unless ``DTOOL_LOOKUP_ANNOTATION_FILTER`` is false."""
        return bool(config["DTOOL_LOOKUP_ANNOTATION_FILTER"])

    def routes(self, context: PluginContext) -> Iterable[Route]:
        """Return the original's five routes."""
        return [
            (f"{PREFIX}/version", VersionResource(context, VERSION)),
            (f"{PREFIX}/annotation_keys", KeysResource(context)),
            (f"{PREFIX}/annotation_values", ValuesResource(context)),
            (f"{PREFIX}/num_datasets", NumDatasetsResource(context)),
            (f"{PREFIX}/datasets", DatasetsResource(context)),
        ]


plugin = AnnotationFilterPlugin()
