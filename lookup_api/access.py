"""Who is calling, and what they may see, register and administer.

Every permission rule of the API is here, so resources never decide one.
Admins get no implicit access to datasets (as in 0.18): seeing a base URI
takes a search permission, registering into it a register permission.
"""

from __future__ import annotations

from collections.abc import Sequence

import falcon

from lookup_api.auth import Authenticator
from lookup_events.errors import PermissionDenied, UnknownUser
from lookup_events.observability import logs
from lookup_events.store.protocols import AdminStore, User
from lookup_events.uris import strip_trailing_slash


class Access:
    """Resolves the caller of a request to a registered user."""

    def __init__(self, authenticator: Authenticator, admin: AdminStore) -> None:
        self._authenticator = authenticator
        self._admin = admin

    def user(self, req: falcon.Request) -> User:
        """Return the registered user the request's token names.

        Raises:
            TokenError: no acceptable token.
            UnknownUser: the token names nobody registered (or no string at all).
        """
        identity = self._authenticator.identity(req)
        user = self._admin.get_user(identity) if isinstance(identity, str) else None
        if user is None:
            raise UnknownUser(f"user {identity!r} is not registered")
        logs.annotate(user=user.username)
        return user

    def admin(self, req: falcon.Request) -> User:
        """Return the caller if they are an administrator.

        Raises:
            PermissionDenied: the caller is registered but not an admin.
        """
        user = self.user(req)
        if not user.is_admin:
            raise PermissionDenied(f"user {user.username!r} is not an admin")
        return user


def searchable(user: User, requested: Sequence[str] | None = None) -> tuple[str, ...]:
    """Return the base URIs to search: those requested that the user may search."""
    allowed = user.search_permissions_on_base_uris
    if requested is None:
        return tuple(allowed)
    wanted = dict.fromkeys(strip_trailing_slash(uri) for uri in requested)
    return tuple(uri for uri in wanted if uri in allowed)


def require_search(user: User, base_uri: str) -> None:
    """Refuse unless the user may search ``base_uri``.

    Raises:
        PermissionDenied: no search permission (or no such base URI).
    """
    if base_uri not in user.search_permissions_on_base_uris:
        raise PermissionDenied(f"no search permission on base URI {base_uri!r}")


def require_register(user: User, base_uri: str) -> None:
    """Refuse unless the user may register datasets in ``base_uri``.

    Raises:
        PermissionDenied: no register permission (or no such base URI).
    """
    if base_uri not in user.register_permissions_on_base_uris:
        raise PermissionDenied(f"no register permission on base URI {base_uri!r}")


def require_self_or_admin(user: User, username: str) -> None:
    """Refuse unless the user asks about themself or is an admin.

    Raises:
        PermissionDenied: someone else's details, asked by a non-admin.
    """
    if user.username != username and not user.is_admin:
        raise PermissionDenied(f"user {user.username!r} may not see user {username!r}")
