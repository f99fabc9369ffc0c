"""The subscription routes' OpenAPI operations, schemas and body example.

Part of the document when ``DTOOL_LOOKUP_SUBSCRIPTIONS`` is on, like the
routes themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lookup_api import schemas
from lookup_api.operations.base import NOT_REGISTERED, Operation
from lookup_api.schemas import Schema

TAG = "subscriptions"
_MISSING = "No such subscription, or another user's."
_PATH = "/subscriptions/{subscription_id}"
_ID = ("subscription_id",)

SUBSCRIPTION: Schema = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 255},
        "search": schemas.SEARCH,
        "webhook": {
            "type": "string",
            "maxLength": 2048,
            "description": "HTTPS URL notifications are POSTed to, signed with the secret.",
        },
        "queue": {"type": "string", "maxLength": 255, "description": "A queue the admin named."},
    },
    "additionalProperties": False,
}

_REPLY: Schema = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "username": {"type": "string"},
        "name": {"type": "string"},
        "search": {"type": "object"},
        "webhook": {"type": ["string", "null"]},
        "queue": {"type": ["string", "null"]},
        "created_at": {"type": "string"},
        "secret": {
            "type": "string",
            "description": "HMAC-SHA256 key of the webhook's signatures; in the creation "
            "reply only.",
        },
    },
    "required": ["id", "username", "name", "search", "webhook", "queue", "created_at"],
}

SCHEMAS: Mapping[str, Schema] = {
    "SubscriptionRequest": SUBSCRIPTION,
    "Subscription": _REPLY,
    "SubscriptionList": {"type": "array", "items": _REPLY},
    "ParkedDeliveryList": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "notification": {"type": "object"},
                "attempts": {"type": "integer"},
                "reason": {"type": "string"},
            },
        },
    },
}

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/subscriptions",
        "The caller's subscriptions (an admin's all=true: everyone's)",
        TAG,
        "SubscriptionList",
        params=("subscriptions_all",),
        errors={401: NOT_REGISTERED, 403: "all=true from a user who is not an admin."},
    ),
    Operation(
        "post",
        "/subscriptions",
        "Subscribe to datasets matching a search",
        TAG,
        "Subscription",
        ok=(201,),
        body="SubscriptionRequest",
        errors={401: NOT_REGISTERED},
        description="Exactly one target: an allowed webhook URL or a queue the admin named.",
    ),
    Operation(
        "get",
        _PATH,
        "One subscription",
        TAG,
        "Subscription",
        params=_ID,
        errors={401: NOT_REGISTERED, 404: _MISSING},
    ),
    Operation(
        "delete",
        _PATH,
        "Delete a subscription",
        TAG,
        None,
        ok=(204,),
        params=_ID,
        errors={401: NOT_REGISTERED, 404: _MISSING},
    ),
    Operation(
        "get",
        f"{_PATH}/parked",
        "Notifications given up on, with the reason",
        TAG,
        "ParkedDeliveryList",
        params=_ID,
        errors={401: NOT_REGISTERED, 404: _MISSING},
    ),
)

EXAMPLES: Mapping[str, Any] = {
    "SubscriptionRequest": {
        "name": "new apples",
        "search": {"free_text": "apple", "tags": ["ripe"]},
        "webhook": "https://hooks.example.org/dtool",
    },
}


class SubscriptionExtension:
    """The subscription routes' part of the document (``openapi.Extension.of`` reads it)."""

    operations = OPERATIONS
    schemas = SCHEMAS
    examples = EXAMPLES
