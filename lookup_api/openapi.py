"""The OpenAPI 3.1 document of both API generations, built from the code's own schemas.

Request bodies and parameters come from ``schemas.py`` (the very objects the
routes validate with), replies from ``responses.py``, operations from
the ``operations`` package. Nothing here is written twice, so the document cannot
drift from the code; a test checks that it lists exactly the app's routes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from lookup_api import responses, schemas, sorting
from lookup_api.operations import LINKS, OPERATIONS, WEBHOOK_OPERATIONS, Operation
from lookup_api.paging import HEADER as PAGINATION_HEADER
from lookup_api.schemas import Schema

TITLE = "dtool-lookup API"
EXAMPLE_UUID = "af6727bf-29c7-43dd-b42f-a5d7ede28337"
EXAMPLE_BASE_URI = "s3://snow-white"
EXAMPLE_URI = f"{EXAMPLE_BASE_URI}/{EXAMPLE_UUID}"
EXAMPLE_IDENTIFIER = "9a1a8ea4c4cd2e8c5c0bdfa2b1d2a0a22b1a3c9e"

DESCRIPTION = """\
Metadata lookup for [dtool](https://dtool.readthedocs.io) datasets. Two generations of the
same API share one store: the routes of dtool-lookup-server 0.18 (`/dataset/*`, `/user/*`,
`/admin/*`) and the REST routes of dserver (`/uris`, `/users`, `/base-uris`, ...).

* **Tokens**: `Authorization: Bearer <JWT>` (RS256); the username is the `sub` claim.
  A refused token answers 401 or 422 with `{"msg": ...}`.
* **Statuses**: the 0.18 routes answer as 0.18 did (400, 401, 404, 409; never 403);
  the dserver routes answer 401 (not registered), 403 (forbidden), 404 (missing).
* **Paging**: `page` (from 1) and `page_size` (1 to 100, default 10); the
  `X-Pagination` header describes the result.
* **Sorting** (dserver lists): `sort=name,-base_uri`; `-` sorts descending, `+`
  (sent as `%2B`) ascending; the `X-Sort` header echoes the order.
* **URIs in paths**: percent-encoded (`/uris/s3:%2F%2Fbucket%2Fuuid`) or as a URL suffix
  (`/uris/s3/bucket/uuid`, the first `/` standing for `://`).
* **Errors**: every error body is JSON: `{"code", "status"}` plus `message`, `errors`
  (validation, by location and field) or `msg` (token).
"""

TAGS = [
    {"name": "datasets", "description": "dserver: find and read datasets, register them."},
    {"name": "users", "description": "dserver: the caller, users and their permissions."},
    {"name": "base URIs", "description": "dserver: base URIs and who may use them."},
    {"name": "config", "description": "Settings, versions and health (both generations)."},
    {"name": "0.18: datasets", "description": "dtool-lookup-server 0.18 dataset routes."},
    {"name": "0.18: users and config", "description": "dtool-lookup-server 0.18 user info."},
    {"name": "0.18: admin", "description": "dtool-lookup-server 0.18 admin routes."},
    {"name": "documentation", "description": "This document and its browsable pages."},
    {"name": "webhook", "description": "S3 notifications in (when a secret is configured)."},
    {"name": "audit", "description": "Who or what changed datasets, users and permissions."},
]

_ERRORS = {
    400: "The body is not JSON, or holds text no store keeps (NUL, lone surrogates).",
    401: "No token, an expired one, or another scheme than Bearer (`msg` says which).",
    413: "The body is too large.",
    422: "A body, query or path value breaks its schema (`errors` says where), "
    "or the token is malformed or badly signed (`msg`).",
    503: "The database cannot be reached; try again.",
    404: "Nothing there: an empty path parameter, or one holding characters no store keeps.",
}
_PATH_PARAMETERS = frozenset(
    {"uri", "base_uri", "username", "uuid", "legacy_uuid", "legacy_username"}
    | {"tag", "name", "identifier", "token"}
)
_VALIDATED_PARAMETERS = frozenset(
    {"page", "page_size", "sort_datasets", "sort_users", "sort_base_uris", "uuids"}
    | {"uri", "base_uri", "username", "uuid", "tag", "name", "identifier", "token"}
    | {"audit_uri", "audit_user", "since", "until"}
)


def _bad_apples() -> dict[str, Any]:
    return {
        "uuid": EXAMPLE_UUID,
        "base_uri": EXAMPLE_BASE_URI,
        "uri": EXAMPLE_URI,
        "name": "bad-apples",
        "type": "dataset",
        "readme": "---\ndescription: apples from queen",
        "manifest": {
            "dtoolcore_version": "3.7.0",
            "hash_function": "md5sum_hexdigest",
            "items": {
                "e4cc3a7dc281c3d89ed4553293c4b4b110dc9bf3": {
                    "hash": "d89117c9da2cc34586e183017cb14851",
                    "relpath": "U00096.3.rev.1.bt2",
                    "size_in_bytes": 5741810,
                    "utc_timestamp": 1536832115.0,
                }
            },
        },
        "creator_username": "queen",
        "frozen_at": "1536238185.881941",
        "annotations": {"type": "fruit"},
        "tags": ["evil", "fruit"],
        "number_of_items": 1,
        "size_in_bytes": 5741810,
    }


# Example request bodies, by schema name (the anchor test suite's data).
BODY_EXAMPLES: dict[str, Any] = {
    "SearchQuery": {"free_text": "apple", "tags": ["fruit"]},
    "DatasetURI": {"uri": EXAMPLE_URI},
    "DatasetInfo": _bad_apples(),
    "UserList": [{"username": "dopey", "is_admin": False}],
    "BaseURI": {"base_uri": EXAMPLE_BASE_URI},
    "Permissions": {
        "base_uri": EXAMPLE_BASE_URI,
        "users_with_search_permissions": ["grumpy", "sleepy"],
        "users_with_register_permissions": ["grumpy"],
    },
    "UserUpdate": {"is_admin": False},
    "Notification": {
        "Records": [
            {
                "eventName": "s3:ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": "snow-white"},
                    "object": {"key": f"{EXAMPLE_UUID}/dtool"},
                },
            }
        ]
    },
    "BaseURIUpdate": {
        "users_with_search_permissions": ["grumpy", "sleepy"],
        "users_with_register_permissions": ["grumpy"],
    },
    "UserPatch": {"is_admin": True},
    "EmptyBody": {},
    "TagsUpdate": {"tags": ["fruit", "ripe"]},
    "AnnotationsUpdate": {"annotations": {"species": "apple", "count": 3}},
    "ReadmeUpdate": {"readme": "---\ndescription: apples\n"},
}


def _ref(name: str, kind: str = "schemas") -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def _array(name: str) -> Schema:
    return {"type": "array", "items": _ref(name)}


DERIVED_SCHEMAS: dict[str, Schema] = {
    "DatasetList": _array("Dataset"),
    "AuditEntryList": _array("AuditEntry"),
    "SearchHitList": _array("SearchHit"),
    "LegacyUserList": _array("LegacyUserItem"),
    "UserBriefList": _array("UserBrief"),
    "BaseURIList": _array("BaseURIItem"),
    "UserOrNothing": {"anyOf": [_ref("User"), _ref("Empty")]},
    "ReadmeText": {"type": "string", "description": "The README text."},
    "AnnotationsReply": {
        "type": "object",
        "properties": {"annotations": _ref("Annotations")},
        "required": ["annotations"],
    },
    "OpenAPI": {"type": "object", "description": "An OpenAPI 3.1 document."},
    "Notification": {"description": "An S3, SNS, EventBridge or StorageGRID notification."},
    "Queued": {
        "type": "object",
        "properties": {"events": {"type": "integer", "description": "Dataset events queued."}},
        "required": ["events"],
    },
    "HTML": {"type": "string"},
    "Metrics": {"type": "string", "description": "The Prometheus text exposition format."},
    "DatasetLinks": {
        "type": "object",
        "properties": {
            "uri": {"type": "string"},
            "expiry_seconds": {"type": "integer"},
            "expiry_timestamp": {"type": "string"},
            "admin_metadata_url": {"type": "string"},
            "manifest_url": {"type": "string"},
            "readme_url": {"type": "string"},
            "item_urls": {"type": "object", "additionalProperties": {"type": "string"}},
            "overlay_urls": {"type": "object", "additionalProperties": {"type": "string"}},
            "annotation_urls": {"type": "object", "additionalProperties": {"type": "string"}},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["uri", "expiry_seconds", "expiry_timestamp", "item_urls"],
    },
    "ItemLink": {
        "type": "object",
        "properties": {
            "uri": {"type": "string"},
            "identifier": {"type": "string"},
            "expiry_seconds": {"type": "integer"},
            "expiry_timestamp": {"type": "string"},
            "url": {"type": "string"},
        },
        "required": ["uri", "identifier", "expiry_seconds", "expiry_timestamp", "url"],
    },
}


def _query(name: str, schema: Schema, description: str = "") -> dict[str, Any]:
    param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
    if schema.get("type") == "array":
        param.update(style="form", explode=True)
    if description:
        param["description"] = description
    return param


def _path(name: str, schema: Schema, example: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema, "example": example}


def _sort(spec: sorting.SortSpec) -> dict[str, Any]:
    names = "|".join(spec.fields)
    schema = {
        "type": "string",
        "pattern": rf"^,*(?:[+-]?(?:{names})(?:,+|$))*$",
        "default": spec.default,
    }
    description = (
        f"Comma-separated fields among {', '.join(spec.fields)}; prefix `-` for descending "
        f"order, `+` (sent as `%2B`) for ascending. Default `{spec.default}`."
    )
    return {**_query(sorting.PARAM, schema, description), "example": spec.fields[0]}


def parameters() -> dict[str, dict[str, Any]]:
    """Return the document's parameter components."""
    paths = schemas.PATH_PARAMETERS
    search = schemas.SEARCH["properties"]
    page = schemas.PAGE_QUERY["properties"]
    return {
        "page": _query("page", page["page"], "The page to return, from 1."),
        "page_size": _query("page_size", page["page_size"], "Items per page."),
        "sort_datasets": _sort(sorting.DATASETS),
        "sort_users": _sort(sorting.USERS),
        "sort_base_uris": _sort(sorting.BASE_URIS),
        **{
            name: _query(name, search[name], f"Search filter, as `{name}` in the body.")
            for name in search
        },
        "uri": _path("uri", paths["uri"], EXAMPLE_URI.replace("://", "/", 1)),
        "base_uri": _path("base_uri", paths["base_uri"], EXAMPLE_BASE_URI.replace("://", "/")),
        "username": _path("username", paths["username"], "grumpy"),
        "uuid": _path("uuid", paths["uuid"], EXAMPLE_UUID),
        "legacy_uuid": _path("uuid", schemas.STRING, EXAMPLE_UUID),
        "legacy_username": _path("username", schemas.STRING, "grumpy"),
        "webhook_path": _path("path", schemas.STRING, "minio"),
        "tag": _path("tag", paths["tag"], "fruit"),
        "name": _path("name", paths["name"], "species"),
        "identifier": _path("identifier", paths["identifier"], EXAMPLE_IDENTIFIER),
        "token": _path("token", paths["token"], "WyJzMzovL2J1Y2tldC91dWlkIl0.c2lnbmF0dXJl"),
        **_audit_parameters(),
        # The subscription routes' parameters (DTOOL_LOOKUP_SUBSCRIPTIONS).
        "subscription_id": {
            **_path("subscription_id", {"type": "integer", "minimum": 1}, ""),
            "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
            "example": 1,
        },
        "subscriptions_all": _query(
            "all", {"type": "boolean"}, "Every user's subscriptions (admins only)."
        ),
    }


def _audit_parameters() -> dict[str, dict[str, Any]]:
    """Return the audit routes' filters (``uri`` and ``user`` are query parameters there)."""
    audit = schemas.AUDIT_QUERY["properties"]
    return {
        "audit_uri": _query("uri", audit["uri"], "Entries of this dataset."),
        "audit_user": _query("user", audit["user"], "Entries made by or about this user."),
        "since": {
            **_query("since", audit["since"], "Entries at or after this time."),
            "example": "1765000000",
        },
        "until": {
            **_query("until", audit["until"], "Entries at or before this time."),
            "example": "2026-12-06T10:00:00Z",
        },
    }


def _headers() -> dict[str, Any]:
    def header(description: str, name: str) -> dict[str, Any]:
        schema = {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": _ref(name),
        }
        return {"description": description, "required": True, "schema": schema}

    return {
        PAGINATION_HEADER: header(
            'Paging as JSON, e.g. {"total": 15, "total_pages": 2, "first_page": 1, '
            '"last_page": 2, "page": 1, "next_page": 2}.',
            "Pagination",
        ),
        sorting.HEADER: header('The order as JSON, e.g. {"sort": {"uri": 1}}.', "Sort"),
    }


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _statuses(op: Operation) -> dict[int, str]:
    codes: dict[int, str] = {}
    if not op.derived_errors:
        return dict(sorted(op.errors.items()))
    if op.auth:
        codes.update({401: _ERRORS[401], 422: _ERRORS[422]})
    if op.body:
        codes.update({400: _ERRORS[400], 413: _ERRORS[413], 422: _ERRORS[422]})
    if set(op.params) & _VALIDATED_PARAMETERS:
        codes[422] = _ERRORS[422]
    if set(op.params) & _PATH_PARAMETERS:
        codes[404] = _ERRORS[404]
    if op.store:
        codes[503] = _ERRORS[503]
    for code, text in op.errors.items():
        codes[code] = f"{text} {codes[code]}" if code in (400, 401) and code in codes else text
    return dict(sorted(codes.items()))


def _replies(op: Operation) -> dict[str, Any]:
    replies: dict[str, Any] = {}
    for code in op.ok:
        reply: dict[str, Any] = {"description": "Created." if code == 201 else "OK."}
        if op.reply:
            reply["content"] = {op.media: {"schema": _ref(op.reply)}}
        if op.headers:
            reply["headers"] = {name: _ref(name, "headers") for name in op.headers}
        if LINKS.get((op.method, op.path)):
            reply["links"] = LINKS[(op.method, op.path)]
        replies[str(code)] = reply
    for code, text in _statuses(op).items():
        replies[str(code)] = _error(text)
    return replies


def _operation(op: Operation, examples: Mapping[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "operationId": f"{op.method}{op.path}",
        "summary": op.summary,
        "tags": [op.tag],
        "responses": _replies(op),
    }
    if op.description:
        spec["description"] = op.description
    if op.params:
        spec["parameters"] = [_ref(name, "parameters") for name in op.params]
    if op.body:
        content = {"application/json": {"schema": _ref(op.body), "example": examples[op.body]}}
        spec["requestBody"] = {"required": op.body_required, "content": content}
    if not op.auth:
        spec["security"] = []
    elif op.auth_optional:
        spec["security"] = [{}, {op.scheme: []}]
    elif op.scheme != "bearerAuth":
        spec["security"] = [{op.scheme: []}]
    return spec


@dataclass(frozen=True)
class Extension:
    """What plugins add to the document: operations, their schemas and body examples."""

    operations: tuple[Operation, ...] = ()
    schemas: Mapping[str, Schema] = field(default_factory=dict)
    examples: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, plugins: Iterable[Any]) -> Extension:
        """Return the extension made of every plugin's operations, schemas and examples."""
        operations: list[Operation] = []
        schemas_: dict[str, Schema] = {}
        examples: dict[str, Any] = {}
        for plugin in plugins:
            operations.extend(plugin.operations)
            schemas_.update(plugin.schemas)
            examples.update(plugin.examples)
        return cls(tuple(operations), schemas_, examples)


def paths(webhook: bool = False, extension: Extension | None = None) -> dict[str, dict[str, Any]]:
    """Return the document's paths, each with its operations."""
    extension = extension or Extension()
    examples = {**BODY_EXAMPLES, **extension.examples}
    result: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS + (WEBHOOK_OPERATIONS if webhook else ()) + extension.operations:
        result.setdefault(op.path, {})[op.method] = _operation(op, examples)
    return result


def document(webhook: bool = False, extension: Extension | None = None) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document (with the webhook and plugins the app serves)."""
    extension = extension or Extension()
    described = paths(webhook, extension)
    used = {tag for item in described.values() for op in item.values() for tag in op["tags"]}
    known = {tag["name"] for tag in TAGS}
    plugin_tags = [
        {"name": tag, "description": "A plugin's routes."} for tag in sorted(used - known)
    ]
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": _version(), "description": DESCRIPTION},
        "tags": [tag for tag in TAGS if tag["name"] in used] + plugin_tags,
        "security": [{"bearerAuth": []}],
        "paths": described,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "webhookSecret": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "The webhook's shared secret (Bearer, bare or Basic).",
                },
            },
            "schemas": {
                **schemas.REQUEST_BODIES,
                **responses.SCHEMAS,
                **DERIVED_SCHEMAS,
                **extension.schemas,
            },
            "parameters": parameters(),
            "headers": _headers(),
        },
    }


def _version() -> str:
    try:
        return metadata.version("dtool-lookup")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"
