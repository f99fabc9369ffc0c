"""The operations of curation and signed URLs (dservercore's newest API and its plugin).

Falcon matches a URI holding ``/`` only as a route's last field, so
``/tags/{uri}`` and ``/tags/{uri}/{tag}`` are one route; ``SHARED_ROUTES``
says which documented path each method of such a route answers.
"""

from __future__ import annotations

from lookup_api.operations.base import BASE_URIS, NOT_ADMIN, NOT_REGISTERED, USERS
from lookup_api.operations.base import Operation as Op

CURATION = "curation"
SIGNED_URLS = "signed URLs"

_NO_CURATION = "No register permission on the dataset's base URI (and not an admin)."
_HIDDEN = "No such dataset, or one the caller may not see (the same answer for both)."
_REFUSED = "The dataset's storage refused or failed the write; the index is unchanged."
_BAD_NAME = "A name dtool refuses (up to 80 of 0-9 a-z A-Z - _ .), or a body breaking its schema."
_CURATE = {
    401: NOT_REGISTERED,
    403: _NO_CURATION,
    404: _HIDDEN,
    422: _BAD_NAME,
    502: _REFUSED,
}
_LINKS = {
    401: NOT_REGISTERED,
    403: "No search permission on the dataset's base URI (or no such base URI).",
    404: "No dataset (or no such item) is registered at that URI.",
    503: "Links to datasets on disk need DTOOL_LOOKUP_SIGNED_URL_SECRET; or storage is down.",
}
_WRITES = "Written to the dataset's own storage first, then indexed: every route shows it at once."


def _curate(method: str, path: str, summary: str, reply: str, body: str | None = None) -> Op:
    params = ("uri", *(p for p in ("tag", "name") if "{" + p + "}" in path))
    return Op(
        method,
        path,
        summary,
        CURATION,
        reply,
        body=body,
        params=params,
        errors=_CURATE,
        description=_WRITES,
    )


CURATION_OPERATIONS: tuple[Op, ...] = (
    _curate("put", "/tags/{uri}", "Replace a dataset's tags", "Tags", body="TagsUpdate"),
    _curate("post", "/tags/{uri}/{tag}", "Add one tag to a dataset", "Tags"),
    _curate("delete", "/tags/{uri}/{tag}", "Remove one tag from a dataset", "Tags"),
    _curate(
        "put",
        "/annotations/{uri}",
        "Replace a dataset's annotations",
        "AnnotationsReply",
        body="AnnotationsUpdate",
    ),
    _curate(
        "put",
        "/annotations/{uri}/{name}",
        "Set one annotation of a dataset",
        "AnnotationsReply",
        body="AnnotationsUpdate",
    ),
    _curate("delete", "/annotations/{uri}/{name}", "Delete one annotation", "AnnotationsReply"),
    _curate("put", "/readmes/{uri}", "Replace a dataset's README", "Readme", body="ReadmeUpdate"),
    Op(
        "get",
        "/signed-urls/dataset/{uri}",
        "Short-lived links to every component of a dataset",
        SIGNED_URLS,
        "DatasetLinks",
        params=("uri",),
        errors=_LINKS,
    ),
    Op(
        "get",
        "/signed-urls/item/{uri}/{identifier}",
        "A short-lived link to one item",
        SIGNED_URLS,
        "ItemLink",
        params=("uri", "identifier"),
        errors=_LINKS,
    ),
    Op(
        "get",
        "/signed-urls/content/{token}",
        "Download what a signed link of ours grants",
        SIGNED_URLS,
        None,
        params=("token",),
        auth=False,
        media="application/octet-stream",
        errors={
            403: "The link was changed or not made by this server.",
            404: "The file is gone, or not inside the dataset.",
            410: "The link has expired.",
            503: "No DTOOL_LOOKUP_SIGNED_URL_SECRET to check links with.",
        },
    ),
    Op(
        "patch",
        "/users/{username}",
        "Change only the given fields of a user",
        USERS,
        "User",
        body="UserPatch",
        body_required=False,
        params=("username",),
        errors={401: NOT_REGISTERED, 403: NOT_ADMIN, 404: "No such user."},
        description="Display names are not kept: `display_name` may only be null.",
    ),
    Op(
        "post",
        "/base-uris/{base_uri}",
        "Create a base URI (no permissions yet)",
        BASE_URIS,
        "BaseURIPermissions",
        ok=(200, 201),
        body="EmptyBody",
        body_required=False,
        params=("base_uri",),
        errors={401: NOT_REGISTERED, 403: NOT_ADMIN},
        description="201 when the base URI is new; 200, changing nothing, when it exists.",
    ),
)

_TAGS, _TAG = "/tags/{uri}", "/tags/{uri}/{tag}"
_ANNOTATIONS, _ANNOTATION = "/annotations/{uri}", "/annotations/{uri}/{name}"
SHARED_ROUTES: dict[str, dict[str, tuple[str, ...]]] = {
    _TAGS: {"get": (_TAGS,), "put": (_TAGS,), "post": (_TAG,), "delete": (_TAG,)},
    _ANNOTATIONS: {
        "get": (_ANNOTATIONS,),
        "put": (_ANNOTATIONS, _ANNOTATION),
        "delete": (_ANNOTATION,),
    },
    "/signed-urls/item/{uri}": {"get": ("/signed-urls/item/{uri}/{identifier}",)},
}
