"""User and config routes of dtool-lookup-server 0.18: ``/user/info``, ``/config/*``."""

from __future__ import annotations

from collections.abc import Mapping

import falcon

from lookup_api.access import Access, require_self_or_admin
from lookup_api.bodies import config_body, user_body
from lookup_events.config import Settings
from lookup_events.store.protocols import AdminStore


class UserInfoResource:
    """``GET /user/info/{username}``: a user and their permissions (self or admin)."""

    def __init__(self, access: Access, admin: AdminStore) -> None:
        self._access = access
        self._admin = admin

    def on_get(self, req: falcon.Request, resp: falcon.Response, username: str) -> None:
        """Return the user; an admin asking about nobody gets ``{}`` (as in 0.18)."""
        caller = self._access.user(req)
        require_self_or_admin(caller, username)
        user = caller if caller.username == username else self._admin.get_user(username)
        resp.media = user_body(user) if user is not None else {}


class ConfigInfoResource:
    """``GET /config/info``: the server's settings, for any registered user."""

    def __init__(self, access: Access, settings: Settings) -> None:
        self._access = access
        self._body = config_body(settings)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the settings."""
        self._access.user(req)
        resp.media = self._body


class VersionsResource:
    """``GET /config/versions``: component versions; no token needed."""

    def __init__(self, versions: Mapping[str, str | None]) -> None:
        self._versions = dict(versions)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the versions."""
        resp.media = self._versions
