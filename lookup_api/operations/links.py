"""OpenAPI links: how one reply feeds the next request.

Readers see the flows; the stateful fuzz test follows them (create a base
URI, register a dataset into it, read it back through every route, delete
it, find it gone).
"""

from __future__ import annotations

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
