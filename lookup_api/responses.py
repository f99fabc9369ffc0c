"""JSON Schemas of every reply body and header the API sends.

The OpenAPI document shows these; the fuzz test checks every reply against
them, so a change in what a route returns shows up as a failing test.
Replies are open (extra keys allowed) unless a client depends on the shape.
"""

from __future__ import annotations

from lookup_api.schemas import STRING, STRING_LIST, Schema

NUMBER: Schema = {"type": "number"}
INTEGER: Schema = {"type": "integer"}
OPTIONAL_COUNT: Schema = {"type": ["integer", "null"]}
COUNTS: Schema = {"type": "object", "additionalProperties": INTEGER}
EMPTY: Schema = {"type": "object", "maxProperties": 0, "description": "An empty object."}


def _object(properties: dict[str, Schema], *, closed: bool = False) -> Schema:
    schema: Schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


ERROR = {
    "type": "object",
    "properties": {
        "code": {"type": "integer", "description": "The HTTP status code."},
        "status": {"type": "string", "description": "Its reason phrase."},
        "message": {"type": "string", "description": "Why, in words."},
        "errors": {
            "description": "Validation errors by location (json, query, path), "
            "then field, as webargs reported them."
        },
        "msg": {
            "type": "string",
            "description": "Why a token was refused (0.18 clients read it).",
        },
    },
    "required": ["code", "status"],
}

DATASET = _object(
    {
        "base_uri": STRING,
        "created_at": {**NUMBER, "description": "Seconds since the epoch (UTC)."},
        "creator_username": STRING,
        "frozen_at": {**NUMBER, "description": "Seconds since the epoch (UTC)."},
        "name": STRING,
        "number_of_items": OPTIONAL_COUNT,
        "size_in_bytes": OPTIONAL_COUNT,
        "uri": STRING,
        "uuid": STRING,
    }
)

SEARCH_HIT: Schema = {
    "allOf": [{"$ref": "#/components/schemas/Dataset"}],
    "properties": {"tags": STRING_LIST, "type": STRING},
    "required": ["tags", "type"],
    "description": "A dataset as 0.18's search returned it: with tags, type and any "
    "other admin metadata (such as dtoolcore_version).",
}

SUMMARY = _object(
    {
        "number_of_datasets": INTEGER,
        "creator_usernames": STRING_LIST,
        "base_uris": STRING_LIST,
        "datasets_per_creator": COUNTS,
        "datasets_per_base_uri": COUNTS,
        "tags": STRING_LIST,
        "datasets_per_tag": COUNTS,
    }
)

SIZED_SUMMARY: Schema = {
    "allOf": [{"$ref": "#/components/schemas/Summary"}],
    "properties": {
        "total_size_in_bytes": INTEGER,
        "size_in_bytes_per_creator": COUNTS,
        "size_in_bytes_per_base_uri": COUNTS,
        "size_in_bytes_per_tag": COUNTS,
    },
    "required": [
        "total_size_in_bytes",
        "size_in_bytes_per_creator",
        "size_in_bytes_per_base_uri",
        "size_in_bytes_per_tag",
    ],
}

USER = _object(
    {
        "username": STRING,
        "is_admin": {"type": "boolean"},
        "search_permissions_on_base_uris": STRING_LIST,
        "register_permissions_on_base_uris": STRING_LIST,
    }
)

USER_BRIEF = _object({"is_admin": {"type": "boolean"}, "username": STRING}, closed=True)
LEGACY_USER_ITEM = _object(
    {"id": INTEGER, "is_admin": {"type": "boolean"}, "username": STRING}, closed=True
)
BASE_URI_ITEM = _object({"base_uri": STRING}, closed=True)
PERMISSIONS = _object(
    {
        "base_uri": STRING,
        "users_with_search_permissions": STRING_LIST,
        "users_with_register_permissions": STRING_LIST,
    }
)

MANIFEST: Schema = {
    "type": "object",
    "properties": {
        "items": {"type": "object", "additionalProperties": {"type": "object"}},
        "hash_function": STRING,
        "dtoolcore_version": STRING,
    },
    "description": "The dataset's manifest as dtoolcore wrote it.",
}
ANNOTATIONS: Schema = {"type": "object", "description": "Annotation values keep their JSON types."}
README = _object({"readme": STRING})
TAGS = _object({"tags": STRING_LIST})
REGISTERED = _object({"uri": STRING})
HEALTH = _object({"status": {"const": "healthy"}})
READINESS = _object(
    {
        "status": {"const": "ready"},
        "checks": {"type": "object", "additionalProperties": {"enum": ["ok", "unavailable"]}},
    }
)

CONFIG: Schema = {
    "type": "object",
    "properties": {"config": {"type": "object"}},
    "required": ["config"],
    "description": "The settings (secrets as ***) with lower-case keys, as 0.18 sent them, "
    "and the same under config, as dserver sends them.",
}
VERSIONS: Schema = {
    "type": "object",
    "properties": {
        "versions": {"type": "object", "additionalProperties": {"type": ["string", "null"]}}
    },
    "required": ["versions"],
    "description": "Component versions as 0.18 sent them, and under versions as dserver does.",
}

PAGINATION = {
    "type": "object",
    "properties": {
        name: INTEGER
        for name in (
            "total",
            "total_pages",
            "first_page",
            "last_page",
            "page",
            "previous_page",
            "next_page",
        )
    },
    "required": ["total", "total_pages"],
}
SORT = _object({"sort": {"type": "object", "additionalProperties": {"enum": [1, -1]}}})

# Component names of the reply schemas, as the document shows them.
AUDIT_ENTRY = _object(
    {
        "at": {"type": "number", "description": "When, in seconds since 1970."},
        "time": {"type": "string", "description": "When, as an ISO 8601 UTC time."},
        "subject_kind": {"enum": ["dataset", "user", "base_uri", "permission"]},
        "subject": {**STRING, "description": "Dataset URI, username or base URI."},
        "action": {
            **STRING,
            "description": "registered, updated, removed; added, updated, removed; "
            "granted, revoked, replaced.",
        },
        "base_uri": {"type": ["string", "null"]},
        "uuid": {"type": ["string", "null"]},
        "changes": {
            "type": "object",
            "description": "A summary of the difference (fields' old and new values, "
            "tags and annotation keys added, removed or changed), not a copy.",
        },
        "actor": _object(
            {
                "kind": {"enum": ["user", "event", "command", "system"]},
                "name": {
                    **STRING,
                    "description": "Username, event source (s3, watch, scan, ...), command.",
                },
                "cause": {
                    "type": "object",
                    "description": "The event: kind, occurred_at, sequencer, event_id.",
                },
            },
            closed=True,
        ),
    },
    closed=True,
)

SCHEMAS: dict[str, Schema] = {
    "Error": ERROR,
    "Dataset": DATASET,
    "SearchHit": SEARCH_HIT,
    "Summary": SUMMARY,
    "SizedSummary": SIZED_SUMMARY,
    "User": USER,
    "UserBrief": USER_BRIEF,
    "LegacyUserItem": LEGACY_USER_ITEM,
    "BaseURIItem": BASE_URI_ITEM,
    "BaseURIPermissions": PERMISSIONS,
    "Manifest": MANIFEST,
    "Annotations": ANNOTATIONS,
    "Readme": README,
    "Tags": TAGS,
    "Registered": REGISTERED,
    "Health": HEALTH,
    "Readiness": READINESS,
    "Config": CONFIG,
    "Versions": VERSIONS,
    "Empty": EMPTY,
    "Pagination": PAGINATION,
    "Sort": SORT,
    "AuditEntry": AUDIT_ENTRY,
}
