"""Admin routes of dtool-lookup-server 0.18: ``/admin/*`` (admins only, else 404)."""

from __future__ import annotations

import falcon

from lookup_api import schemas
from lookup_api.access import Access
from lookup_api.bodies import permissions_body
from lookup_api.paging import page_request, paginate, require_in_range
from lookup_api.uris import normalise_request_uri
from lookup_api.validation import validated_body
from lookup_events.errors import UnknownBaseURI
from lookup_events.store.actors import Actor
from lookup_events.store.protocols import AdminStore


class AdminResource:
    """Base of the admin resources: the caller and the admin store."""

    def __init__(self, access: Access, admin: AdminStore) -> None:
        self._access = access
        self._admin = admin

    def _created(self, resp: falcon.Response) -> None:
        # NOTE(dev): 0.18 sent an empty text/html 201; clients only read the
        # status, and an empty JSON object keeps every reply parseable.
        resp.status = falcon.HTTP_201
        resp.media = {}


class UserRegisterResource(AdminResource):
    """``POST /admin/user/register``: add users; existing ones stay as they are."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Register every user in the body's list."""
        users = validated_body(req, schemas.USERS)
        actor = Actor.user(self._access.admin(req).username)
        for user in users:
            self._admin.add_user(user["username"], bool(user.get("is_admin", False)), actor)
        self._created(resp)


class UserListResource(AdminResource):
    """``GET /admin/user/list``: registered users, a page at a time."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return one page of users as ``{"id", "is_admin", "username"}``."""
        page = page_request(req)
        self._access.admin(req)
        result = self._admin.list_users(page)
        require_in_range(page, result)
        paginate(resp, page, result)
        # NOTE(dev): 0.18 showed the SQL row id; users carry none here, so this
        # is the position in registration order, which equals it until a deletion.
        resp.media = [
            {"id": page.offset + index, "is_admin": user.is_admin, "username": user.username}
            for index, user in enumerate(result.items, start=1)
        ]


class BaseURIRegisterResource(AdminResource):
    """``POST /admin/base_uri/register``: add a base URI (idempotent)."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Register the body's base URI, normalised."""
        body = validated_body(req, schemas.BASE_URI)
        actor = Actor.user(self._access.admin(req).username)
        self._admin.add_base_uri(normalise_request_uri(body["base_uri"], name="base_uri"), actor)
        self._created(resp)


class BaseURIListResource(AdminResource):
    """``GET /admin/base_uri/list``: registered base URIs, a page at a time."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return one page of base URIs as ``{"base_uri"}``."""
        page = page_request(req)
        self._access.admin(req)
        result = self._admin.list_base_uris(page)
        require_in_range(page, result)
        paginate(resp, page, result)
        resp.media = [{"base_uri": item.base_uri} for item in result.items]


class PermissionInfoResource(AdminResource):
    """``POST /admin/permission/info``: who may search and register in a base URI."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the permission object of the body's base URI."""
        body = validated_body(req, schemas.BASE_URI)
        self._access.admin(req)
        name = normalise_request_uri(body["base_uri"], name="base_uri")
        base_uri = self._admin.get_base_uri(name)
        if base_uri is None:
            raise UnknownBaseURI(f"base URI {name!r} is not registered")
        resp.media = permissions_body(base_uri)


class PermissionUpdateResource(AdminResource):
    """``POST /admin/permission/update_on_base_uri``: replace both permission lists."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Set the search and register permissions; unknown users are ignored."""
        body = validated_body(req, schemas.PERMISSIONS)
        actor = Actor.user(self._access.admin(req).username)
        self._admin.set_permissions(
            normalise_request_uri(body["base_uri"], name="base_uri"),
            search=body["users_with_search_permissions"],
            register=body["users_with_register_permissions"],
            actor=actor,
        )
        self._created(resp)
