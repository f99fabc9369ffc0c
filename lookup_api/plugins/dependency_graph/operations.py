"""OpenAPI operations, schemas and body example of the dependency-graph routes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lookup_api.operations.base import NOT_REGISTERED, PAGED, Operation
from lookup_api.plugins.dependency_graph.resources import GRAPH_BODY, KEYS_BODY
from lookup_api.schemas import Schema

TAG = "dependency graph"
_GRAPH = (
    "Every dataset connected to `uuid` through parent UUIDs under the dependency keys, "
    "in both directions, sorted by UUID, one per UUID (its smallest visible URI). "
    "Only datasets in base URIs the caller may search are shown or walked through; "
    "nothing visible, or a `uuid` that is no UUID, gives `[]`."
)
_KEYS = (
    'A POST names the keys to walk (`{"dependency_keys": [...]}` or a bare list); '
    "an empty body walks the configured keys."
)
_NOT_ALLOWED = "A key that is not configured while DTOOL_LOOKUP_DYNAMIC_DEPENDENCY_KEYS is false."


def _operations(path: str, generation: str, *headers: str) -> tuple[Operation, Operation]:
    common: dict[str, Any] = {
        "params": ("uuid", *PAGED),
        "headers": ("X-Pagination", *headers),
        "errors": {401: NOT_REGISTERED},
    }
    return (
        Operation(
            "get",
            path,
            f"A dataset's dependency graph, along the configured keys ({generation})",
            TAG,
            "GraphNodeList",
            description=_GRAPH,
            **common,
        ),
        Operation(
            "post",
            path,
            f"A dataset's dependency graph, along the keys the body names ({generation})",
            TAG,
            "GraphNodeList",
            body="DependencyKeys",
            body_required=False,
            description=f"{_GRAPH} {_KEYS}",
            **{**common, "errors": {401: NOT_REGISTERED, 400: _NOT_ALLOWED}},
        ),
    )


OPERATIONS: tuple[Operation, ...] = (
    *_operations("/graph/lookup/{uuid}", "0.18"),
    *_operations("/graph/uuids/{uuid}", "dserver", "X-Sort"),
)

SCHEMAS: Mapping[str, Schema] = {
    "DependencyKeys": {
        "oneOf": [GRAPH_BODY, KEYS_BODY],
        "description": "Keys holding parent UUIDs: dotted paths into the README "
        "(readme.derived_from.uuid) or the annotations (annotations.source_dataset_uuid).",
    },
    "GraphNode": {
        "allOf": [{"$ref": "#/components/schemas/SearchHit"}],
        "properties": {"derived_from": {"type": "array", "items": {"type": "string"}}},
        "required": ["derived_from"],
        "description": "A dataset of the graph, and the UUIDs of its parents within the graph.",
    },
    "GraphNodeList": {"type": "array", "items": {"$ref": "#/components/schemas/GraphNode"}},
}

EXAMPLES: Mapping[str, Any] = {
    "DependencyKeys": {"dependency_keys": ["readme.derived_from.uuid"]},
}
