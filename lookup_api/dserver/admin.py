"""Administration: users, base URIs and permissions as the dserver routes change them.

The rules the admin store leaves to its callers live here, so the resources
stay thin: who may see whom, what a missing user or base URI means, and
that deleting a base URI takes its datasets with it.
"""

from __future__ import annotations

from collections.abc import Iterable

from lookup_api.access import require_self_or_admin
from lookup_api.errors import APIError
from lookup_events.errors import UnknownBaseURI, UnknownUser
from lookup_events.registrar.writer import Registrar
from lookup_events.store.actors import Actor
from lookup_events.store.protocols import AdminStore, BaseURI, PermissionKind, User


class Administration:
    """Reads and changes users, base URIs and permissions for the dserver routes."""

    def __init__(self, admin: AdminStore, registrar: Registrar) -> None:
        self._admin = admin
        self._registrar = registrar

    def user(self, caller: User, username: str) -> User:
        """Return the user ``username`` if the caller may see them.

        Raises:
            PermissionDenied: someone else's details, asked by a non-admin (403).
            APIError: 404 when an admin asks about nobody.
        """
        require_self_or_admin(caller, username)
        user = caller if caller.username == username else self._admin.get_user(username)
        if user is None:
            raise APIError(404, message=f"user {username!r} is not registered")
        return user

    def base_uri(self, name: str) -> BaseURI:
        """Return the base URI with its permissions.

        Raises:
            UnknownBaseURI: it is not registered (404).
        """
        base_uri = self._admin.get_base_uri(name)
        if base_uri is None:
            raise UnknownBaseURI(f"base URI {name!r} is not registered")
        return base_uri

    def put_user(self, username: str, is_admin: bool, actor: Actor) -> tuple[User, bool]:
        """Create the user or set its admin flag; return it and whether it is new."""
        created = self._admin.put_user(username, is_admin, actor)
        return self._existing_user(username), created

    def put_base_uri(
        self, name: str, actor: Actor, search: Iterable[str], register: Iterable[str]
    ) -> tuple[BaseURI, bool]:
        """Create the base URI if needed, replace its permissions; return it and if new."""
        created = self._admin.add_base_uri(name, actor)
        self._admin.set_permissions(name, search=search, register=register, actor=actor)
        return self.base_uri(name), created

    def add_base_uri(self, name: str, actor: Actor) -> tuple[BaseURI, bool]:
        """Create the base URI unless it exists; return it and whether it is new."""
        created = self._admin.add_base_uri(name, actor)
        return self.base_uri(name), created

    def update_user(self, username: str, is_admin: bool | None, actor: Actor) -> User:
        """Change what is given of an existing user; return the user.

        Raises:
            APIError: 404 for an unknown user.
        """
        user = self._existing_user(username)
        if is_admin is not None and is_admin != user.is_admin:
            self._admin.put_user(username, is_admin, actor)
        return self._existing_user(username)

    def delete_base_uri(self, name: str, actor: Actor) -> None:
        """Delete the base URI, its permissions and its datasets (idempotent)."""
        self._admin.delete_base_uri(name, actor)
        self._registrar.forget_base_uri(name, actor)

    def grant(
        self, username: str, base_uri: str, kind: PermissionKind, actor: Actor
    ) -> tuple[User, bool]:
        """Give a permission; return the user and whether the permission is new.

        Raises:
            APIError: 404 for an unknown user or base URI.
        """
        try:
            granted = self._admin.grant(username, base_uri, kind, actor)
        except (UnknownUser, UnknownBaseURI) as ex:
            raise APIError(404, message=str(ex)) from None
        return self._existing_user(username), granted

    def revoke(self, username: str, base_uri: str, kind: PermissionKind, actor: Actor) -> User:
        """Take a permission away (idempotent) and return the user.

        Raises:
            APIError: 404 for an unknown user or base URI.
        """
        self.base_uri(base_uri)
        self._existing_user(username)
        self._admin.revoke(username, base_uri, kind, actor)
        return self._existing_user(username)

    def _existing_user(self, username: str) -> User:
        user = self._admin.get_user(username)
        if user is None:
            raise APIError(404, message=f"user {username!r} is not registered")
        return user
