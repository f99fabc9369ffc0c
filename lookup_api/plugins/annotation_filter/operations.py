"""OpenAPI operations, schemas and body example of the annotation-filter routes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lookup_api import schemas
from lookup_api.operations.base import NOT_REGISTERED, PAGED, Operation
from lookup_api.schemas import Schema

TAG = "annotation filter"
_PREFIX = "/annotation_filter_plugin"
_FILTERED = "Over the datasets the caller may search that match the filter body."


def _post(path: str, summary: str, reply: str, **extra: Any) -> Operation:
    return Operation(
        "post",
        f"{_PREFIX}/{path}",
        summary,
        TAG,
        reply,
        body="AnnotationFilter",
        body_required=False,
        errors={401: NOT_REGISTERED},
        description=_FILTERED,
        **extra,
    )


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        f"{_PREFIX}/version",
        "The annotation-filter plugin's version",
        TAG,
        "AnnotationFilterVersion",
        errors={401: NOT_REGISTERED},
    ),
    _post("annotation_keys", "Datasets per annotation key", "AnnotationKeyCounts"),
    _post(
        "annotation_values",
        "Datasets per value of the annotation keys the filter names",
        "AnnotationValueCounts",
    ),
    _post("num_datasets", "How many datasets match", "DatasetCount"),
    _post(
        "datasets",
        "Datasets matching the filter",
        "SearchHitList",
        params=PAGED,
        headers=("X-Pagination",),
    ),
)

_COUNTS: Schema = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}

SCHEMAS: Mapping[str, Schema] = {
    "AnnotationFilter": schemas.SEARCH,
    "AnnotationFilterVersion": {"type": "string"},
    "AnnotationKeyCounts": {
        **_COUNTS,
        "description": "Annotation key -> number of datasets holding a scalar value for it.",
    },
    "AnnotationValueCounts": {
        "type": "object",
        "description": "Annotation key -> value (as a JSON object key) -> number of datasets.",
        "additionalProperties": _COUNTS,
    },
    "DatasetCount": {"type": "integer", "minimum": 0},
}

EXAMPLES: Mapping[str, Any] = {
    "AnnotationFilter": {"annotation_keys": ["species"], "annotations": {"stage": "ripe"}},
}
