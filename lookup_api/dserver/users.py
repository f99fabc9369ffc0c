"""User routes of dserver: ``/me``, ``/users`` and per-user permissions."""

from __future__ import annotations

import falcon

from lookup_api import schemas, sorting
from lookup_api.access import Access
from lookup_api.bodies import user_body
from lookup_api.catalog import Catalog
from lookup_api.dserver.admin import Administration
from lookup_api.dserver.paths import path_value, uri_from_path
from lookup_api.paging import page_request, paginate, require_in_range
from lookup_api.validation import validated_body
from lookup_events.store.actors import Actor
from lookup_events.store.protocols import AdminStore, PermissionKind


class MeResource:
    """``GET /me``: the caller and their permissions."""

    def __init__(self, access: Access) -> None:
        self._access = access

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the caller."""
        resp.media = user_body(self._access.user(req))


class MySummaryResource:
    """``GET /me/summary``: facet counts over what the caller may see."""

    def __init__(self, access: Access, catalog: Catalog) -> None:
        self._access = access
        self._catalog = catalog

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the summary."""
        resp.data = self._catalog.summary_json(self._access.user(req), sized=True)


class UsersResource:
    """``GET /users``: every user, a page at a time (admins only)."""

    def __init__(self, access: Access, admin: AdminStore) -> None:
        self._access = access
        self._admin = admin

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return one page of users with their permissions (dservercore main's shape)."""
        page = page_request(req)
        order = sorting.sort_order(req, sorting.USERS)
        self._access.admin(req)
        result = self._admin.list_users(page, sorting.sort_keys(order))
        require_in_range(page, result)
        paginate(resp, page, result)
        sorting.set_sort_header(resp, order)
        # NOTE(dev): dservercore 0.22 listed {"is_admin", "username"} only; its main branch
        # and the web app's user management read both permission lists from this list.
        resp.media = [user_body(user) for user in result.items]


class UserResource:
    """``GET|PUT|PATCH|DELETE /users/{username}``: one user."""

    def __init__(self, access: Access, admin: AdminStore, administration: Administration) -> None:
        self._access = access
        self._admin = admin
        self._administration = administration

    def on_get(self, req: falcon.Request, resp: falcon.Response, username: str) -> None:
        """Return the user (self or admin)."""
        path_value("username", username)
        caller = self._access.user(req)
        resp.media = user_body(self._administration.user(caller, username))

    def on_put(self, req: falcon.Request, resp: falcon.Response, username: str) -> None:
        """Create the user or set its admin flag (missing: false): 201 if new, else 200."""
        path_value("username", username)
        body = validated_body(req, schemas.USER_UPDATE)
        actor = Actor.user(self._access.admin(req).username)
        is_admin = bool(body.get("is_admin", False))
        user, created = self._administration.put_user(username, is_admin, actor)
        resp.status = falcon.HTTP_201 if created else falcon.HTTP_200
        resp.media = user_body(user)

    def on_patch(self, req: falcon.Request, resp: falcon.Response, username: str) -> None:
        """Change only what the body gives of an existing user (dservercore's PATCH)."""
        path_value("username", username)
        body = validated_body(req, schemas.USER_PATCH)
        actor = Actor.user(self._access.admin(req).username)
        user = self._administration.update_user(username, body.get("is_admin"), actor)
        resp.media = user_body(user)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, username: str) -> None:
        """Delete the user and their permissions (idempotent)."""
        path_value("username", username)
        actor = Actor.user(self._access.admin(req).username)
        self._admin.delete_user(username, actor)
        resp.media = {}


class UserSummaryResource:
    """``GET /users/{username}/summary``: what that user may see (self or admin)."""

    def __init__(self, access: Access, catalog: Catalog, administration: Administration) -> None:
        self._access = access
        self._catalog = catalog
        self._administration = administration

    def on_get(self, req: falcon.Request, resp: falcon.Response, username: str) -> None:
        """Return the summary."""
        path_value("username", username)
        user = self._administration.user(self._access.user(req), username)
        resp.data = self._catalog.summary_json(user, sized=True)


class PermissionResource:
    """``POST|DELETE /users/{username}/<kind>/{base_uri}``: grant or revoke (admins only)."""

    def __init__(self, access: Access, administration: Administration, kind: PermissionKind):
        self._access = access
        self._administration = administration
        self._kind: PermissionKind = kind

    def on_post(
        self, req: falcon.Request, resp: falcon.Response, username: str, base_uri: str
    ) -> None:
        """Grant the permission: 201 if new, 200 if the user held it already."""
        name, actor = self._checked(req, username, base_uri)
        user, created = self._administration.grant(username, name, self._kind, actor)
        resp.status = falcon.HTTP_201 if created else falcon.HTTP_200
        resp.media = user_body(user)

    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, username: str, base_uri: str
    ) -> None:
        """Revoke the permission (idempotent)."""
        name, actor = self._checked(req, username, base_uri)
        resp.media = user_body(self._administration.revoke(username, name, self._kind, actor))

    def _checked(self, req: falcon.Request, username: str, base_uri: str) -> tuple[str, Actor]:
        """Return the base URI named by the path and the admin calling, as an actor."""
        path_value("username", username)
        name = uri_from_path(base_uri, "base_uri")
        return name, Actor.user(self._access.admin(req).username)
