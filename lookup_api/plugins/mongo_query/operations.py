"""OpenAPI operations, request schemas and body examples of the structured-query routes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lookup_api import schemas
from lookup_api.operations.base import DATASET_LIST, NOT_REGISTERED, PAGED, Operation
from lookup_api.schemas import Schema

TAG = "structured queries"
_CRITERIA: dict[str, Schema] = {
    "creator_usernames": schemas.STRING_LIST,
    "base_uris": schemas.STRING_LIST,
    "uuids": {"type": "array", "items": schemas.UUID},
    "tags": schemas.STRING_LIST,
}
QUERY_BODY: Schema = {
    "type": "object",
    "description": (
        "A MongoDB filter over the dataset document (`readme.*` from the README's YAML, "
        "`annotations.*`, `tags` and the entry fields), AND-ed with the search criteria "
        "and the caller's permissions. Operators: $eq $ne $gt $gte $lt $lte $in $nin "
        "$exists $all $elemMatch $size $regex $not $and $or $nor."
    ),
    "properties": {"query": {"type": "object"}, **_CRITERIA},
    "additionalProperties": False,
}
AGGREGATE_BODY: Schema = {
    "type": "object",
    "description": (
        "A pipeline of $match $group $sort $limit $skip $project $unwind $count over the "
        "dataset documents the caller may search (the permission $match comes first)."
    ),
    "properties": {
        "aggregation": {"type": "array", "items": {"type": "object"}, "maxItems": 20},
        **_CRITERIA,
    },
    "additionalProperties": False,
}
_REFUSED = "The filter or pipeline leaves the supported subset; the message names the part."

QUERY_OPERATION = Operation(
    "post",
    "/mongo/query",
    "Datasets matching a MongoDB filter",
    TAG,
    "SearchHitList",
    body="MongoQuery",
    body_required=False,
    params=DATASET_LIST,
    # NOTE(dev): X-Sort is sent only with a sort= parameter, so it is not declared required.
    headers=("X-Pagination",),
    errors={401: NOT_REGISTERED, 422: _REFUSED},
    description=(
        "Over the datasets the caller may search; in registration order unless `sort` is given."
    ),
)
AGGREGATE_OPERATION = Operation(
    "post",
    "/mongo/aggregate",
    "A MongoDB aggregation over the datasets",
    TAG,
    "AggregationResult",
    body="MongoAggregation",
    body_required=False,
    params=PAGED,
    headers=("X-Pagination",),
    errors={
        401: NOT_REGISTERED,
        404: "Aggregations are switched off (DTOOL_LOOKUP_MONGO_AGGREGATE).",
        422: _REFUSED,
    },
    description="Each output document without `_id`, as the direct-mongo plugin sent them.",
)

SCHEMAS: Mapping[str, Schema] = {
    "MongoQuery": QUERY_BODY,
    "MongoAggregation": AGGREGATE_BODY,
    "AggregationResult": {"type": "array", "items": {"type": "object"}},
}

EXAMPLES: Mapping[str, Any] = {
    "MongoQuery": {"query": {"readme.project": "apples", "tags": {"$in": ["fruit"]}}},
    "MongoAggregation": {
        "aggregation": [
            {"$group": {"_id": "$creator_username", "datasets": {"$sum": 1}}},
            {"$project": {"creator": "$_id", "datasets": 1}},
        ]
    },
}
