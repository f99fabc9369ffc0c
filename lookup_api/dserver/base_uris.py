"""Base URI routes of dserver: ``/base-uris`` (admins only)."""

from __future__ import annotations

import falcon

from lookup_api import schemas, sorting
from lookup_api.access import Access
from lookup_api.bodies import permissions_body
from lookup_api.dserver.admin import Administration
from lookup_api.dserver.paths import path_value, uri_from_path
from lookup_api.paging import page_request, paginate, require_in_range
from lookup_api.validation import validated_body
from lookup_events.store.actors import Actor
from lookup_events.store.protocols import AdminStore


class BaseURIsResource:
    """``GET /base-uris``: every base URI, a page at a time."""

    def __init__(self, access: Access, admin: AdminStore) -> None:
        self._access = access
        self._admin = admin

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return one page of ``{"base_uri"}``."""
        page = page_request(req)
        order = sorting.sort_order(req, sorting.BASE_URIS)
        self._access.admin(req)
        result = self._admin.list_base_uris(page, sorting.sort_keys(order))
        require_in_range(page, result)
        paginate(resp, page, result)
        sorting.set_sort_header(resp, order)
        resp.media = [{"base_uri": item.base_uri} for item in result.items]


class BaseURIResource:
    """``GET|PUT|POST|DELETE /base-uris/{base_uri}``: one base URI and its permissions."""

    def __init__(self, access: Access, administration: Administration) -> None:
        self._access = access
        self._administration = administration

    def on_get(self, req: falcon.Request, resp: falcon.Response, base_uri: str) -> None:
        """Return who may search and register in the base URI."""
        name = uri_from_path(base_uri, "base_uri")
        self._access.admin(req)
        resp.media = permissions_body(self._administration.base_uri(name))

    def on_put(self, req: falcon.Request, resp: falcon.Response, base_uri: str) -> None:
        """Create the base URI if needed; replace both permission lists (missing: empty)."""
        body = validated_body(req, schemas.BASE_URI_UPDATE)
        name = path_value("base_uri", uri_from_path(base_uri, "base_uri"))
        actor = Actor.user(self._access.admin(req).username)
        base, created = self._administration.put_base_uri(
            name,
            actor,
            search=body.get("users_with_search_permissions", []),
            register=body.get("users_with_register_permissions", []),
        )
        resp.status = falcon.HTTP_201 if created else falcon.HTTP_200
        resp.media = permissions_body(base)

    def on_post(self, req: falcon.Request, resp: falcon.Response, base_uri: str) -> None:
        """Create the base URI (201); one that exists is left as it is (200)."""
        validated_body(req, schemas.EMPTY_BODY)
        name = path_value("base_uri", uri_from_path(base_uri, "base_uri"))
        actor = Actor.user(self._access.admin(req).username)
        base, created = self._administration.add_base_uri(name, actor)
        resp.status = falcon.HTTP_201 if created else falcon.HTTP_200
        resp.media = permissions_body(base)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, base_uri: str) -> None:
        """Delete the base URI, its permissions and its datasets (idempotent)."""
        name = uri_from_path(base_uri, "base_uri")
        actor = Actor.user(self._access.admin(req).username)
        self._administration.delete_base_uri(name, actor)
        resp.media = {}
