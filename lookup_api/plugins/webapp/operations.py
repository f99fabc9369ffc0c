"""OpenAPI operations and schemas of the web app's routes."""

from __future__ import annotations

from collections.abc import Mapping

from lookup_api.operations.base import NOT_REGISTERED, Operation
from lookup_api.plugins.webapp.resources import ASSETS_PREFIX, asset_names, media_type
from lookup_api.schemas import Schema

TAG = "web app"


def _asset(name: str) -> Operation:
    return Operation(
        "get",
        f"{ASSETS_PREFIX}/{name}",
        f"The web app's {name}",
        TAG,
        "WebAsset",
        auth=False,
        store=False,
        media=media_type(name),
    )


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/",
        "The web app: search, read, fetch and curate datasets in a browser",
        TAG,
        "HTML",
        auth=False,
        store=False,
        media="text/html",
    ),
    *(_asset(name) for name in asset_names() if name != "index.html"),
    Operation(
        "get",
        "/webapp/timeline",
        "Datasets per month of their frozen date",
        TAG,
        "Timeline",
        errors={401: NOT_REGISTERED},
        description="Over the datasets the caller may search; months in UTC.",
    ),
)

SCHEMAS: Mapping[str, Schema] = {
    "WebAsset": {"type": "string", "description": "A module, stylesheet or image of the app."},
    "Timeline": {
        "type": "object",
        "required": ["datasets_per_month"],
        "properties": {
            "datasets_per_month": {
                "type": "object",
                "description": "YYYY-MM -> datasets frozen in that month.",
                "additionalProperties": {"type": "integer", "minimum": 0},
            }
        },
    },
}
