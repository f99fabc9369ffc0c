"""Every operation of both API generations, as the OpenAPI document describes them.

A flat registry: one ``Operation`` per method and path, naming the schemas
(from ``schemas.py`` and ``responses.py``) its body and replies follow. The
statuses every operation can answer with (a refused token, a malformed body,
an unreachable database) are added by ``openapi.py``; only the route's own
ones are listed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PAGED = ("page", "page_size")
DATASET_LIST = (*PAGED, "sort_datasets")

LEGACY_DATASETS = "0.18: datasets"
LEGACY_USERS = "0.18: users and config"
LEGACY_ADMIN = "0.18: admin"
CONFIG = "config"
DATASETS = "datasets"
USERS = "users"
BASE_URIS = "base URIs"
DOCS = "documentation"
WEBHOOK = "webhook"

NOT_REGISTERED = "The token names no registered user."
NO_SEARCH = "No search permission on the dataset's base URI (or no such base URI)."
NO_DATASET = "No dataset is registered at that URI."
NOT_ADMIN = "The caller is not an admin."
LEGACY_HIDDEN = "The caller is not registered, or may not see this (0.18 said 404 for both)."


@dataclass(frozen=True)
class Operation:
    """One method on one path, and what it reads and answers."""

    method: str
    path: str
    summary: str
    tag: str
    reply: str | None = "Empty"
    ok: tuple[int, ...] = (200,)
    body: str | None = None
    body_required: bool = True
    params: tuple[str, ...] = ()
    errors: dict[int, str] = field(default_factory=dict)
    auth: bool = True
    store: bool = True
    headers: tuple[str, ...] = ()
    media: str = "application/json"
    description: str = ""
    scheme: str = "bearerAuth"
    derived_errors: bool = True


OPERATIONS: tuple[Operation, ...] = (
    # dtool-lookup-server 0.18 ------------------------------------------------------------
    Operation(
        "get",
        "/config/info",
        "The server's settings",
        CONFIG,
        "Config",
        errors={401: NOT_REGISTERED},
        description="Answers both generations: 0.18's flat keys, and the same under "
        "`config` as dserver sends them. Any registered user may call it.",
    ),
    Operation(
        "get",
        "/config/versions",
        "Component versions",
        CONFIG,
        "Versions",
        auth=False,
        store=False,
        description="Answers both generations: 0.18's flat keys, and the same under "
        "`versions` (with `dservercore`) as dserver sends them.",
    ),
    Operation(
        "get",
        "/dataset/summary",
        "Facet counts over the visible datasets",
        LEGACY_DATASETS,
        "Summary",
        errors={401: NOT_REGISTERED},
    ),
    Operation(
        "get",
        "/dataset/list",
        "Every visible dataset, a page at a time",
        LEGACY_DATASETS,
        "DatasetList",
        params=PAGED,
        headers=("X-Pagination",),
        errors={401: NOT_REGISTERED},
    ),
    Operation(
        "get",
        "/dataset/lookup/{uuid}",
        "Every visible copy of one dataset",
        LEGACY_DATASETS,
        "DatasetList",
        params=("legacy_uuid", *PAGED),
        headers=("X-Pagination",),
        errors={401: NOT_REGISTERED},
    ),
    Operation(
        "post",
        "/dataset/search",
        "Datasets matching a query",
        LEGACY_DATASETS,
        "SearchHitList",
        body="SearchQuery",
        body_required=False,
        params=PAGED,
        headers=("X-Pagination",),
        errors={401: NOT_REGISTERED},
    ),
    Operation(
        "post",
        "/dataset/register",
        "Register a dataset's metadata",
        LEGACY_DATASETS,
        "Registered",
        ok=(201,),
        body="DatasetInfo",
        errors={
            401: "Not registered, or no register permission on the base URI.",
            409: "The dataset info is incomplete or invalid.",
        },
    ),
    Operation(
        "post",
        "/dataset/readme",
        "A dataset's README text",
        LEGACY_DATASETS,
        "ReadmeText",
        body="DatasetURI",
        errors={400: f"{NO_SEARCH} Or: {NO_DATASET}", 401: NOT_REGISTERED},
    ),
    Operation(
        "post",
        "/dataset/manifest",
        "A dataset's manifest",
        LEGACY_DATASETS,
        "Manifest",
        body="DatasetURI",
        errors={400: f"{NO_SEARCH} Or: {NO_DATASET}", 401: NOT_REGISTERED},
    ),
    Operation(
        "post",
        "/dataset/annotations",
        "A dataset's annotations",
        LEGACY_DATASETS,
        "Annotations",
        body="DatasetURI",
        errors={400: f"{NO_SEARCH} Or: {NO_DATASET}", 401: NOT_REGISTERED},
    ),
    Operation(
        "get",
        "/user/info/{username}",
        "A user and their permissions",
        LEGACY_USERS,
        "UserOrNothing",
        params=("legacy_username",),
        errors={404: LEGACY_HIDDEN},
        description="Yourself, or anyone if you are an admin; `{}` for nobody.",
    ),
    Operation(
        "post",
        "/admin/user/register",
        "Register users (existing ones are kept)",
        LEGACY_ADMIN,
        ok=(201,),
        body="UserList",
        errors={404: LEGACY_HIDDEN},
    ),
    Operation(
        "get",
        "/admin/user/list",
        "Every user, a page at a time",
        LEGACY_ADMIN,
        "LegacyUserList",
        params=PAGED,
        headers=("X-Pagination",),
        errors={404: f"{LEGACY_HIDDEN} Or: the page is past the last one."},
    ),
    Operation(
        "post",
        "/admin/base_uri/register",
        "Register a base URI",
        LEGACY_ADMIN,
        ok=(201,),
        body="BaseURI",
        errors={404: LEGACY_HIDDEN},
    ),
    Operation(
        "get",
        "/admin/base_uri/list",
        "Every base URI, a page at a time",
        LEGACY_ADMIN,
        "BaseURIList",
        params=PAGED,
        headers=("X-Pagination",),
        errors={404: f"{LEGACY_HIDDEN} Or: the page is past the last one."},
    ),
    Operation(
        "post",
        "/admin/permission/info",
        "Who may search and register in a base URI",
        LEGACY_ADMIN,
        "BaseURIPermissions",
        body="BaseURI",
        errors={404: f"{LEGACY_HIDDEN} Or: no such base URI."},
    ),
    Operation(
        "post",
        "/admin/permission/update_on_base_uri",
        "Replace both permission lists of a base URI",
        LEGACY_ADMIN,
        ok=(201,),
        body="Permissions",
        errors={404: f"{LEGACY_HIDDEN} Or: no such base URI."},
    ),
    # dserver (dservercore 0.22) ---------------------------------------------------------
    Operation(
        "get",
        "/config/health",
        "Whether the server and its database answer",
        CONFIG,
        "Health",
        auth=False,
    ),
    Operation(
        "get",
        "/uris",
        "Visible datasets matching a query string",
        DATASETS,
        "DatasetList",
        params=(*DATASET_LIST, *("free_text", "creator_usernames", "base_uris", "uuids", "tags")),
        headers=("X-Pagination", "X-Sort"),
        errors={401: NOT_REGISTERED},
        description="A page past the last one is empty (200), as for any search.",
    ),
    Operation(
        "post",
        "/uris",
        "Visible datasets matching a JSON query",
        DATASETS,
        "DatasetList",
        body="SearchQuery",
        body_required=False,
        params=DATASET_LIST,
        headers=("X-Pagination", "X-Sort"),
        errors={401: NOT_REGISTERED},
    ),
    Operation(
        "get",
        "/uris/{uri}",
        "One dataset",
        DATASETS,
        "Dataset",
        params=("uri",),
        errors={401: NOT_REGISTERED, 403: NO_SEARCH, 404: NO_DATASET},
    ),
    Operation(
        "put",
        "/uris/{uri}",
        "Register or replace one dataset",
        DATASETS,
        "Dataset",
        ok=(200, 201),
        body="DatasetInfo",
        params=("uri",),
        errors={
            400: "The body is not a frozen dataset, or names another URI.",
            401: NOT_REGISTERED,
            403: "No register permission on the base URI (or no such base URI).",
        },
        description="201 when the dataset is new, 200 when it replaced a record.",
    ),
    Operation(
        "delete",
        "/uris/{uri}",
        "Forget one dataset (idempotent)",
        DATASETS,
        params=("uri",),
        errors={401: NOT_REGISTERED, 403: "No register permission on the base URI."},
        description="The dataset disappears from every route at once. A later rescan "
        "of its base URI registers it again if it still exists in storage.",
    ),
    Operation(
        "get",
        "/uuids/{uuid}",
        "Every visible copy of one dataset",
        DATASETS,
        "DatasetList",
        params=("uuid", *DATASET_LIST),
        headers=("X-Pagination", "X-Sort"),
        errors={401: NOT_REGISTERED},
    ),
    Operation(
        "get",
        "/readmes/{uri}",
        "A dataset's README text",
        DATASETS,
        "Readme",
        params=("uri",),
        errors={401: NOT_REGISTERED, 403: NO_SEARCH, 404: NO_DATASET},
    ),
    Operation(
        "get",
        "/manifests/{uri}",
        "A dataset's manifest",
        DATASETS,
        "Manifest",
        params=("uri",),
        errors={401: NOT_REGISTERED, 403: NO_SEARCH, 404: NO_DATASET},
    ),
    Operation(
        "get",
        "/annotations/{uri}",
        "A dataset's annotations",
        DATASETS,
        "AnnotationsReply",
        params=("uri",),
        errors={401: NOT_REGISTERED, 403: NO_SEARCH, 404: NO_DATASET},
    ),
    Operation(
        "get",
        "/tags/{uri}",
        "A dataset's tags",
        DATASETS,
        "Tags",
        params=("uri",),
        errors={401: NOT_REGISTERED, 403: NO_SEARCH, 404: NO_DATASET},
    ),
    Operation(
        "get",
        "/me",
        "The caller and their permissions",
        USERS,
        "User",
        errors={401: NOT_REGISTERED},
    ),
    Operation(
        "get",
        "/me/summary",
        "Facet counts over the caller's datasets",
        USERS,
        "SizedSummary",
        errors={401: NOT_REGISTERED},
    ),
    Operation(
        "get",
        "/users",
        "Every user, a page at a time",
        USERS,
        "UserBriefList",
        params=(*PAGED, "sort_users"),
        headers=("X-Pagination", "X-Sort"),
        errors={401: NOT_REGISTERED, 403: NOT_ADMIN, 404: "The page is past the last one."},
    ),
    Operation(
        "get",
        "/users/{username}",
        "A user and their permissions",
        USERS,
        "User",
        params=("username",),
        errors={
            401: NOT_REGISTERED,
            403: "Someone else, and the caller is no admin.",
            404: "No such user.",
        },
    ),
    Operation(
        "put",
        "/users/{username}",
        "Create a user or set its admin flag",
        USERS,
        "User",
        ok=(200, 201),
        body="UserUpdate",
        body_required=False,
        params=("username",),
        errors={401: NOT_REGISTERED, 403: NOT_ADMIN},
        description="201 when the user is new, 200 otherwise; a missing `is_admin` means false.",
    ),
    Operation(
        "delete",
        "/users/{username}",
        "Delete a user (idempotent)",
        USERS,
        params=("username",),
        errors={401: NOT_REGISTERED, 403: NOT_ADMIN},
    ),
    Operation(
        "get",
        "/users/{username}/summary",
        "Facet counts over a user's datasets",
        USERS,
        "SizedSummary",
        params=("username",),
        errors={
            401: NOT_REGISTERED,
            403: "Someone else, and the caller is no admin.",
            404: "No such user.",
        },
    ),
    Operation(
        "post",
        "/users/{username}/search/{base_uri}",
        "Grant a search permission",
        USERS,
        "User",
        params=("username", "base_uri"),
        errors={
            401: NOT_REGISTERED,
            403: NOT_ADMIN,
            404: "No such user or base URI.",
            409: "The user holds that permission already.",
        },
    ),
    Operation(
        "delete",
        "/users/{username}/search/{base_uri}",
        "Revoke a search permission (idempotent)",
        USERS,
        "User",
        params=("username", "base_uri"),
        errors={401: NOT_REGISTERED, 403: NOT_ADMIN, 404: "No such user or base URI."},
    ),
    Operation(
        "post",
        "/users/{username}/register/{base_uri}",
        "Grant a register permission",
        USERS,
        "User",
        params=("username", "base_uri"),
        errors={
            401: NOT_REGISTERED,
            403: NOT_ADMIN,
            404: "No such user or base URI.",
            409: "The user holds that permission already.",
        },
    ),
    Operation(
        "delete",
        "/users/{username}/register/{base_uri}",
        "Revoke a register permission (idempotent)",
        USERS,
        "User",
        params=("username", "base_uri"),
        errors={401: NOT_REGISTERED, 403: NOT_ADMIN, 404: "No such user or base URI."},
    ),
    Operation(
        "get",
        "/base-uris",
        "Every base URI, a page at a time",
        BASE_URIS,
        "BaseURIList",
        params=(*PAGED, "sort_base_uris"),
        headers=("X-Pagination", "X-Sort"),
        errors={401: NOT_REGISTERED, 403: NOT_ADMIN, 404: "The page is past the last one."},
    ),
    Operation(
        "get",
        "/base-uris/{base_uri}",
        "Who may search and register in a base URI",
        BASE_URIS,
        "BaseURIPermissions",
        params=("base_uri",),
        errors={401: NOT_REGISTERED, 403: NOT_ADMIN, 404: "No such base URI."},
    ),
    Operation(
        "put",
        "/base-uris/{base_uri}",
        "Create a base URI or replace its permissions",
        BASE_URIS,
        "BaseURIPermissions",
        ok=(200, 201),
        body="BaseURIUpdate",
        body_required=False,
        params=("base_uri",),
        errors={401: NOT_REGISTERED, 403: NOT_ADMIN},
        description="201 when the base URI is new, 200 otherwise. Both permission lists "
        "are replaced; a missing list is emptied; unknown users are left out.",
    ),
    Operation(
        "delete",
        "/base-uris/{base_uri}",
        "Delete a base URI and its datasets",
        BASE_URIS,
        params=("base_uri",),
        errors={401: NOT_REGISTERED, 403: NOT_ADMIN},
        description="Idempotent. The base URI's permissions and dataset records go too.",
    ),
    # Documentation ----------------------------------------------------------------------
    Operation(
        "get", "/doc/openapi.json", "This document", DOCS, "OpenAPI", auth=False, store=False
    ),
    Operation(
        "get",
        "/doc/swagger",
        "This document in Swagger UI",
        DOCS,
        "HTML",
        auth=False,
        store=False,
        media="text/html",
    ),
    Operation(
        "get",
        "/doc/redoc",
        "This document in ReDoc",
        DOCS,
        "HTML",
        auth=False,
        store=False,
        media="text/html",
    ),
)

_WEBHOOK_ERRORS = {
    400: "The body is no notification this server can read.",
    401: "The webhook secret is missing or wrong.",
    413: "The body is too large.",
    503: "The event queue cannot be reached; send again later (see Retry-After).",
}
_WEBHOOK_DESCRIPTION = (
    "S3 bucket notifications (S3 event records, SNS, EventBridge, StorageGRID form posts) "
    "are turned into dataset events and queued; the registrar does the rest. Only served "
    "when `DTOOL_LOOKUP_WEBHOOK_SECRET` is set; the secret goes in `Authorization` as "
    "`Bearer <secret>`, bare, or as the Basic password."
)

# The webhook's operations, documented when the app serves it.
WEBHOOK_OPERATIONS: tuple[Operation, ...] = tuple(
    Operation(
        "post",
        path,
        "Receive a bucket notification",
        WEBHOOK,
        "Queued",
        ok=(202,),
        body="Notification",
        params=params,
        errors=_WEBHOOK_ERRORS,
        description=_WEBHOOK_DESCRIPTION,
        scheme="webhookSecret",
        derived_errors=False,
    )
    for path, params in (("/webhook/notify", ()), ("/webhook/notify/{path}", ("webhook_path",)))
)


# OpenAPI links: how one reply feeds the next request. Readers see the flows; the
# stateful fuzz test follows them (create a base URI, register a dataset into it,
# read it back through every route, delete it, find it gone).
LINKED_UUID = "c0ffee00-0000-4000-8000-00000000d7d1"
_ME_ALONE = {
    "users_with_search_permissions": ["$response.body#/username"],
    "users_with_register_permissions": ["$response.body#/username"],
}
_LINKED_DATASET = {
    "uuid": LINKED_UUID,
    "base_uri": "$response.body#/base_uri",
    "uri": "{$response.body#/base_uri}/" + LINKED_UUID,
    "name": "linked-dataset",
    "type": "dataset",
    "readme": "---\ndescription: registered by following a link",
    "manifest": {"dtoolcore_version": "3.19.0", "hash_function": "md5sum_hexdigest", "items": {}},
    "creator_username": "queen",
    "frozen_at": "1536238185.881941",
    "annotations": {"source": "link", "count": 1},
    "tags": ["linked"],
}
_EXACT_BODY = {"x-schemathesis": {"merge_body": False}}


def _to(operation: str, name: str, pointer: str) -> dict[str, object]:
    return {"operationId": operation, "parameters": {name: f"$response.body#{pointer}"}}


def _dataset_reads(pointer: str) -> dict[str, dict[str, object]]:
    return {
        "GetDataset": _to("get/uris/{uri}", "uri", pointer),
        "GetReadme": _to("get/readmes/{uri}", "uri", pointer),
        "GetManifest": _to("get/manifests/{uri}", "uri", pointer),
        "GetAnnotations": _to("get/annotations/{uri}", "uri", pointer),
        "GetTags": _to("get/tags/{uri}", "uri", pointer),
    }


LINKS: dict[tuple[str, str], dict[str, dict[str, object]]] = {
    ("get", "/me"): {
        "CreateBaseURIForMe": {
            "operationId": "put/base-uris/{base_uri}",
            "requestBody": _ME_ALONE,
            **_EXACT_BODY,
        }
    },
    ("put", "/base-uris/{base_uri}"): {
        "GetBaseURI": _to("get/base-uris/{base_uri}", "base_uri", "/base_uri"),
        "RegisterDataset": {
            "operationId": "put/uris/{uri}",
            "parameters": {"uri": "{$response.body#/base_uri}/" + LINKED_UUID},
            "requestBody": _LINKED_DATASET,
            **_EXACT_BODY,
        },
        "DeleteBaseURI": _to("delete/base-uris/{base_uri}", "base_uri", "/base_uri"),
    },
    ("put", "/uris/{uri}"): {
        **_dataset_reads("/uri"),
        "GetCopies": _to("get/uuids/{uuid}", "uuid", "/uuid"),
        "DeleteDataset": _to("delete/uris/{uri}", "uri", "/uri"),
    },
    ("get", "/uris"): _dataset_reads("/0/uri"),
    ("post", "/uris"): _dataset_reads("/0/uri"),
    ("get", "/users"): {
        "GetUser": _to("get/users/{username}", "username", "/0/username"),
        "GetUserSummary": _to("get/users/{username}/summary", "username", "/0/username"),
    },
    ("put", "/users/{username}"): {
        "GetUser": _to("get/users/{username}", "username", "/username"),
        "DeleteUser": _to("delete/users/{username}", "username", "/username"),
    },
    ("get", "/base-uris"): {
        "GetBaseURI": _to("get/base-uris/{base_uri}", "base_uri", "/0/base_uri"),
    },
}
