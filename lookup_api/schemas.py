"""JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of every request the API reads.

Kept as plain data so the OpenAPI document can serve the very schemas the
routes validate with. ``additionalProperties: false`` gives 0.18's
"Unknown field." on every body, nested manifest items included.
"""

from __future__ import annotations

from typing import Any

from lookup_events.store.limits import LIMITS

Schema = dict[str, Any]

MAX_PAGE = 2**31 - 1  # NOTE(dev): keeps OFFSET inside every database's integer range
MAX_PAGE_SIZE = 100

# A decimal number as Python's float() reads it: what a string timestamp must hold.
FLOAT_PATTERN = r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$"

MAX_INT64 = 2**63 - 1

STRING: Schema = {"type": "string"}
# Lengths the SQL stores hold (lookup_events/store/sql/schema.py).
USERNAME: Schema = {"type": "string", "maxLength": 255}
BASE_URI_TEXT: Schema = {"type": "string", "maxLength": 1024}
COUNT: Schema = {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_INT64}
STRING_LIST: Schema = {"type": "array", "items": STRING}
UUID: Schema = {"type": "string", "format": "uuid"}
TIMESTAMP: Schema = {
    "type": ["string", "number"],
    "pattern": FLOAT_PATTERN,
    "description": "Seconds since the epoch, as a number or a string holding one.",
}

PAGE_QUERY: Schema = {
    "type": "object",
    "properties": {
        "page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        "page_size": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_PAGE_SIZE,
            "default": 10,
        },
    },
}

# Annotation filters (the annotation-filter plugin's): at most this many
# keys and pairs, keys and values no longer than the stores keep as facets.
MAX_ANNOTATION_FILTERS = LIMITS.annotations
ANNOTATION_KEY: Schema = {"type": "string", "minLength": 1, "maxLength": 255}
ANNOTATION_FILTERS: Schema = {
    "type": "object",
    "description": "Annotation key -> scalar value; a dataset must hold every pair.",
    "propertyNames": ANNOTATION_KEY,
    "additionalProperties": {
        "type": ["string", "number", "boolean"],
        "maxLength": 254,
        "x-message": "Not a valid string, number or boolean.",
    },
    "maxProperties": MAX_ANNOTATION_FILTERS,
}
ANNOTATION_KEYS: Schema = {
    "type": "array",
    "description": "Annotation keys a dataset must hold, each with a scalar value.",
    "items": ANNOTATION_KEY,
    "maxItems": MAX_ANNOTATION_FILTERS,
}

# The limits of a search (``store.limits``), declared here for the OpenAPI
# document; requests are checked against them before the schema walks them.
SEARCH: Schema = {
    "type": "object",
    "properties": {
        "free_text": {
            **STRING,
            "maxLength": LIMITS.free_text_chars,
            "description": f"At most {LIMITS.terms} distinct words, {LIMITS.phrases} quoted "
            f"phrases of {LIMITS.phrase_words} words, {LIMITS.exclusions} exclusions.",
        },
        "creator_usernames": {**STRING_LIST, "maxItems": LIMITS.list_items},
        "base_uris": {**STRING_LIST, "maxItems": LIMITS.list_items},
        "uuids": {"type": "array", "items": UUID, "maxItems": LIMITS.list_items},
        "tags": {**STRING_LIST, "maxItems": LIMITS.tags},
        "annotations": ANNOTATION_FILTERS,
        "annotation_keys": ANNOTATION_KEYS,
    },
    "additionalProperties": False,
}

URI: Schema = {
    "type": "object",
    "properties": {"uri": STRING},
    "additionalProperties": False,
}

MANIFEST_ITEM: Schema = {
    "type": "object",
    "properties": {
        "hash": STRING,
        "relpath": STRING,
        "size_in_bytes": {"type": "integer", "minimum": 0, "maximum": MAX_INT64},
        "utc_timestamp": {"type": "number"},
    },
    "additionalProperties": False,
}

MANIFEST: Schema = {
    "type": "object",
    "properties": {
        "items": {"type": "object", "additionalProperties": MANIFEST_ITEM},
        "hash_function": STRING,
        "dtoolcore_version": STRING,
    },
    "additionalProperties": False,
}

# NOTE(dev): required keys are checked by the registrar (409, as in 0.18), not here.
REGISTER: Schema = {
    "type": "object",
    "properties": {
        "uuid": UUID,
        "base_uri": BASE_URI_TEXT,
        "uri": {"type": "string", "maxLength": 2048},
        "name": {"type": "string", "maxLength": 1024},
        "type": {"type": "string", "maxLength": 64},
        "readme": {"type": ["string", "object"]},
        "manifest": MANIFEST,
        "creator_username": USERNAME,
        "frozen_at": TIMESTAMP,
        "created_at": {**TIMESTAMP, "type": ["string", "number", "null"]},
        "annotations": {"type": "object"},
        "tags": {"type": "array", "items": USERNAME},
        "number_of_items": COUNT,
        "size_in_bytes": COUNT,
        "dtoolcore_version": STRING,
    },
    "additionalProperties": False,
}

USERS: Schema = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"username": USERNAME, "is_admin": {"type": "boolean", "default": False}},
        "required": ["username"],
        "additionalProperties": False,
    },
}

BASE_URI: Schema = {
    "type": "object",
    "properties": {"base_uri": BASE_URI_TEXT},
    "required": ["base_uri"],
    "additionalProperties": False,
}

PERMISSIONS: Schema = {
    "type": "object",
    "properties": {
        "base_uri": BASE_URI_TEXT,
        "users_with_search_permissions": STRING_LIST,
        "users_with_register_permissions": STRING_LIST,
    },
    "required": [
        "base_uri",
        "users_with_search_permissions",
        "users_with_register_permissions",
    ],
    "additionalProperties": False,
}

# dserver bodies: what PUT /users/<username> and PUT /base-uris/<base_uri> read.
# The path names the user or base URI; the same key in the body is ignored.
USER_UPDATE: Schema = {
    "type": "object",
    "properties": {"username": USERNAME, "is_admin": {"type": "boolean", "default": False}},
    "additionalProperties": False,
}

# PATCH /users/<username>: dservercore's UserUpdateSchema. Display names are not kept
# here (no column holds them): only null, "no display name", is accepted.
USER_PATCH: Schema = {
    "type": "object",
    "properties": {
        "is_admin": {"type": ["boolean", "null"]},
        "display_name": {"type": "null", "description": "Display names are not kept: null only."},
    },
    "additionalProperties": False,
}

# POST /base-uris/<base_uri>: the path says everything; the client sends {}.
EMPTY_BODY: Schema = {"type": "object", "maxProperties": 0}

BASE_URI_UPDATE: Schema = {
    "type": "object",
    "properties": {
        "base_uri": BASE_URI_TEXT,
        "users_with_search_permissions": {**STRING_LIST, "default": []},
        "users_with_register_permissions": {**STRING_LIST, "default": []},
    },
    "additionalProperties": False,
}

# Curation bodies (dservercore's TagSchema, AnnotationSchema, SingleAnnotationSchema,
# ReadmeRequestSchema); names are checked against dtool's rule when written (422).
DTOOL_NAME: Schema = {"type": "string", "maxLength": 80}

TAGS_UPDATE: Schema = {
    "type": "object",
    "properties": {"tags": {"type": "array", "items": DTOOL_NAME}},
    "required": ["tags"],
    "additionalProperties": False,
}

# PUT /annotations/<uri> carries {"annotations": {...}}; PUT /annotations/<uri>/<name>
# carries {"value": ...}: the body says which, as both share one path pattern.
ANNOTATIONS_UPDATE: Schema = {
    "type": "object",
    "properties": {
        "annotations": {"type": "object", "propertyNames": DTOOL_NAME},
        "value": {},
    },
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": False,
}

README_UPDATE: Schema = {
    "type": "object",
    "properties": {"readme": {"type": "string"}},
    "required": ["readme"],
    "additionalProperties": False,
}

# Path parameters, checked against these (lengths the stores hold).
PATH_PARAMETERS: dict[str, Schema] = {
    "uri": {
        "type": "string",
        "maxLength": 2048,
        "description": "A dataset URI, percent-encoded (s3:%2F%2Fbucket%2Fuuid) "
        "or as a URL suffix (s3/bucket/uuid).",
    },
    "base_uri": {
        **BASE_URI_TEXT,
        "description": "A base URI, percent-encoded (s3:%2F%2Fbucket) "
        "or as a URL suffix (s3/bucket).",
    },
    "username": USERNAME,
    "uuid": STRING,
    "tag": DTOOL_NAME,
    "name": DTOOL_NAME,
    "identifier": {"type": "string", "maxLength": 64},
    "token": {"type": "string", "maxLength": 8192},
}

REQUEST_BODIES: dict[str, Schema] = {
    "SearchQuery": SEARCH,
    "DatasetURI": URI,
    "DatasetInfo": REGISTER,
    "UserList": USERS,
    "BaseURI": BASE_URI,
    "Permissions": PERMISSIONS,
    "UserUpdate": USER_UPDATE,
    "UserPatch": USER_PATCH,
    "EmptyBody": EMPTY_BODY,
    "BaseURIUpdate": BASE_URI_UPDATE,
    "TagsUpdate": TAGS_UPDATE,
    "AnnotationsUpdate": ANNOTATIONS_UPDATE,
    "ReadmeUpdate": README_UPDATE,
}

# The filters of the audit routes, as query strings (``dserver/audit.py``).
AUDIT_TIME: Schema = {
    "type": "string",
    "maxLength": 64,
    "description": "Seconds since 1970, or an ISO 8601 time (UTC when it names no zone).",
}
AUDIT_QUERY: Schema = {
    "type": "object",
    "properties": {
        "uri": PATH_PARAMETERS["uri"],
        "user": USERNAME,
        "since": AUDIT_TIME,
        "until": AUDIT_TIME,
    },
}
