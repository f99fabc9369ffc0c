"""User and config routes of dtool-lookup-server 0.18: ``/user/info``, ``/config/*``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import falcon

from lookup_api.access import Access, require_self_or_admin
from lookup_events.config import Settings
from lookup_events.store.protocols import AdminStore, User

# Keys 0.18 reported from flask-jwt-extended and Flask-SQLAlchemy, which clients
# and the anchor tests read; fixed by this server's design.
_LEGACY_CONFIG = {
    "jwt_header_name": "Authorization",
    "jwt_header_type": "Bearer",
    "jwt_token_location": "headers",
    "sqlalchemy_track_modifications": False,
}


def user_body(user: User) -> dict[str, Any]:
    """Return 0.18's user object with both permission lists."""
    return {
        "username": user.username,
        "is_admin": user.is_admin,
        "search_permissions_on_base_uris": list(user.search_permissions_on_base_uris),
        "register_permissions_on_base_uris": list(user.register_permissions_on_base_uris),
    }


def config_body(settings: Settings) -> dict[str, Any]:
    """Return the settings as ``/config/info`` shows them, secrets as ``***``."""
    body = settings.public_view()
    body.update(_LEGACY_CONFIG)
    body["jwt_algorithm"] = settings.jwt_algorithm
    body["jwt_public_key"] = settings.jwt_public_key
    return dict(sorted(body.items()))


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
